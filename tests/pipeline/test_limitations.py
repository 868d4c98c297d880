"""Exports on which an analysis cannot be computed still render a whole quarter (issue 16, point 4).

Each case of :mod:`helpers.demo.limitations` is rendered by the runner: the run exits 0, every page
exists, the parts the data does not allow are listed as not available in the step summaries, in
``run.json`` and in the review's list of sections, and the page of the step says so in a sentence.
"""

from __future__ import annotations

import json

import pytest
import yaml
from bs4 import BeautifulSoup

from helpers.demo.limitations import CASES, write_case
from helpers.frame.registry import ARTIFACTS, STEPS
from helpers.run.cli import main

pytestmark = pytest.mark.pipeline

SUMMARY_PAGE = {s.summary: f"{s.name}.html" for s in STEPS if s.summary}


def _unavailable(run_dir) -> dict[str, list[dict]]:
    out = {}
    for s in STEPS:
        p = run_dir / ARTIFACTS[s.summary].path
        if p.exists():
            out[s.summary] = json.loads(p.read_text())
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_limitation_export_renders_and_says_what_is_not_available(project, case):
    sources = write_case(case, f"data/limits/{case}", seed=7)
    params = {"quarter": "2026Q3", "company": f"Limits {case}", "reports_dir": f"reports/{case}", "sources": sources}
    (project / "params" / f"{case}.yaml").write_text(yaml.safe_dump(params))
    assert main(["run", "--params", f"params/{case}.yaml"]) == 0
    run_dir = project / "reports" / case / "2026Q3"
    for s in STEPS:
        assert (run_dir / f"{s.name}.html").exists(), s.name
    summaries = _unavailable(run_dir)
    listed = {p["part"]: p for s in summaries.values() for p in s.get("unavailable") or []}
    record = json.loads((run_dir / "run.json").read_text())["unavailable"]
    recorded = {p["part"] for parts in record.values() for p in parts}
    review = BeautifulSoup((run_dir / "index.html").read_text(), "html.parser").get_text(" ")
    for want in CASES[case].unavailable:
        hits = [p for name, p in listed.items() if name == want or (want.endswith(".") and name.startswith(want))]
        assert hits, f"{case}: {want!r} is not listed as not available; listed: {sorted(listed)}"
        for p in hits:
            assert p["reason"] and p["part"] in recorded
            # the reason is on the step's page and in the review's list of sections
            summary = p["part"].split(".")[0]
            page = BeautifulSoup((run_dir / SUMMARY_PAGE[summary]).read_text(), "html.parser")
            boxes = " ".join(b.get_text(" ") for b in page.select(".not-available"))
            assert p["missing"] in boxes, f"{case}: the {SUMMARY_PAGE[summary]} page does not say {p['missing']!r}"
            assert p["missing"] in review, f"{case}: the review does not list {p['part']}"
