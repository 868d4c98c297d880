"""The rendered review as its readers meet it: one meaning per term across pages, the contact lists opening
from the review with no personal data, and the review printed on A4 by a real browser."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup

pytestmark = pytest.mark.pipeline

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture()
def q(ci_rendered, monkeypatch):
    monkeypatch.setenv("SEGREVIEW_ROOT", str(ci_rendered))
    monkeypatch.chdir(ci_rendered)
    return ci_rendered / "reports" / "2026Q3"


def _text(path: Path) -> str:
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["style", "script"]):
        tag.decompose()
    return re.sub(r"\s+", " ", soup.get_text(" "))


def _json(q: Path, name: str) -> dict:
    return json.loads((q / "artifacts" / f"{name}.json").read_text(encoding="utf-8"))


def test_the_same_term_has_the_same_number_on_every_page(q):
    review, churn, rfm, ingest = _json(q, "review"), _json(q, "churn"), _json(q, "rfm"), _json(q, "ingest")
    life = review["lifecycle"]["stages"]
    kpis = review["kpis"]
    # new customers: the KPI, the lifecycle stage and the segments page's "new customers" row
    new = int(kpis["new_customers"]["this_quarter"])
    assert life["new"]["customers"] == new == rfm["migration"]["new"]
    assert f"new customers {new:,}" in _text(q / "20_rfm_clustering.html")
    # active customers: bought in the last 365 days = lifecycle new + active = the churn page's population
    active = life["new"]["customers"] + life["active"]["customers"]
    assert active == churn["scored_customers"]
    assert f"Of {active:,} active customers" in _text(q / "40_churn.html")
    review_text = _text(q / "index.html")
    assert f"{active:,} active customers (bought in the last 365 days)" in review_text
    assert f"{churn['tier_counts']['high']:,} of {active:,} active" in review_text
    # buyers of the quarter: the KPI and the trend's last quarter
    buyers = int(kpis["active_customers"]["this_quarter"])
    assert review["trend"]["by_quarter"][-1]["kpis"]["buyers"] == buyers
    assert f"from {buyers:,} buyers" in review_text
    # every customer: the data-intake page, the segments, the lifecycle and the plan
    everyone = sum(s["customers"] for s in life.values())
    assert everyone == rfm["customers"] == ingest["customers_with_orders"] == sum(e["customers"]
                                                                                   for e in review["plan"])
    assert f"{everyone:,} customers" in _text(q / "10_ingest.html")
    # the glossary is on the review and in review.json, each term once
    assert "Glossary" in review_text and "Active customer" in review["glossary"]
    # "active" has that one meaning: the stage of the customers who are not new reads "established", and the value
    # page's P(alive) reads "still a customer"
    assert "Established customer" in review["glossary"] and "Lifecycle stage active" not in review_text
    assert "likely active" not in _text(q / "30_clv.html")
    # the review lists every unavailable section and part (none on the CI sample)
    assert review["available"] is True and review["unavailable"] == []


def test_contact_lists_open_from_the_review_and_hold_no_personal_data(q, ci_rendered):
    review = _json(q, "review")
    soup = BeautifulSoup((q / "index.html").read_text(encoding="utf-8"), "html.parser")
    links = sorted({a["href"] for a in soup.find_all("a") if a["href"].startswith("exports/")})
    # relative: they work when mailed; the holdout in its own list, so it cannot be messaged by mistake
    retention = ["exports/retention-priority.csv"] if any(e["retention_list"] for e in review["plan"]) else []
    assert links == sorted([e["contact_list"] for e in review["plan"]] + retention +
                           [e["holdout_list"] for e in review["plan"] if e["holdout_list"]])
    if retention:   # the retention team's list: nobody of a holdout, no personal data (checked below with the rest)
        rl = pd.read_csv(q / retention[0], encoding="utf-8-sig", dtype={"customer_id": str})
        assert len(rl) == sum(e["retention_list"]["customers"] - e["retention_list"]["in_holdout"]
                              for e in review["plan"] if e["retention_list"])
    customers = pd.read_parquet(ci_rendered / "data" / "ci" / "customers.parquet")
    pii = {*customers["name"], *customers["email"], *customers["phone"]}
    total = 0
    for e in review["plan"]:
        paths = [q / e["contact_list"]] + ([q / e["holdout_list"]] if e["holdout_list"] else [])
        raw = "".join(p.read_text(encoding="utf-8-sig") for p in paths)
        contact, *held = [pd.read_csv(p, encoding="utf-8-sig", dtype={"customer_id": str}) for p in paths]
        assert not contact["in_holdout"].any() and all(h["in_holdout"].all() for h in held)
        assert sum(len(h) for h in held) == e["holdout"]["size"]
        assert (contact["offer"] == "offer").sum() == e["expected_value"]["treated"]
        assert all((h["offer"] == "held out").all() for h in held)
        c = pd.concat([contact, *held])
        assert len(c) == e["customers"]
        assert set(c["segment"]) <= set(e["segments"])
        assert {"customer_id", "segment", "churn_risk", "in_holdout"} <= set(c.columns)
        assert not [v for v in pii if v in raw]
        total += len(c)
    assert total == len(pd.read_parquet(q / "artifacts" / "customer_scores.parquet"))


def test_the_review_prints_on_a4_with_page_numbers(q, tmp_path):
    """Printed by Chromium as a reader's browser would: A4 pages, the navigation hidden, headings kept with what
    follows, table rows and figures never cut, page numbers in the bottom margin."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI (.ci/run installs Debian's chromium package)")
        pytest.skip("Debian's chromium is not installed here (apt-get install chromium); CI installs it")
    from playwright.sync_api import sync_playwright
    pdf = tmp_path / "review.pdf"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto((q / "index.html").as_uri())
        page.emulate_media(media="print")
        style = page.evaluate("""() => {
            const cs = (sel, prop) => getComputedStyle(document.querySelector(sel)).getPropertyValue(prop);
            return {nav: cs('.sr-nav', 'display'), h2: cs('h2', 'break-after'), tr: cs('tbody tr', 'break-inside'),
                    img: cs('img', 'break-inside'), thead: cs('thead', 'display')};
        }""")
        page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
        browser.close()
    assert style == {"nav": "none", "h2": "avoid", "tr": "avoid", "img": "avoid", "thead": "table-header-group"}
    data = pdf.read_bytes()
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert len(boxes) >= 5                                               # one per page
    assert all(abs(float(w) - 595.3) < 1 and abs(float(h) - 841.9) < 1 for w, h in boxes)   # A4 in points
    css = (Path(__file__).parents[2] / "src" / "helpers" / "run" / "report.css").read_text()
    assert re.search(r"@bottom-right\s*\{\s*content:\s*counter\(page\)", css)
