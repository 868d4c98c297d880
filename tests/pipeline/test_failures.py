"""Failures leave nothing behind; runs are deterministic; exports can hide customer ids."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from helpers.run.cli import main

pytestmark = pytest.mark.pipeline


def digest(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def short_params(project, steps: str = "[10_ingest, 20_rfm_clustering]", name: str = "short.yaml", extra: str = ""):
    """The CI quarter with fewer steps (what a test of publication or export needs runs faster)."""
    p = project / "params" / name
    p.write_text((project / "params" / "ci.yaml").read_text() + f"steps: {steps}\n" + extra)
    return p


def test_killed_run_leaves_previous_report_untouched(tmp_path, ci_rendered):
    """A run killed inside its second notebook publishes nothing: the published quarter (a copy of the
    shared CI quarter, no render of its own) stays byte-identical and no run folder is left."""
    project = shutil.copytree(ci_rendered, tmp_path / "proj", ignore=shutil.ignore_patterns(".failed", ".scratch"))
    p = short_params(project)
    final = project / "reports" / "2026Q3"
    before = digest(final)
    env = {**os.environ, "SEGREVIEW_ROOT": str(project)}
    proc = subprocess.Popen([sys.executable, "-m", "helpers.run.cli", "run", "--params", str(p), "--force"],
                            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait until it is inside the second notebook, then terminate it
    deadline = time.time() + 120
    while time.time() < deadline:
        runs = [p for p in (project / "reports").iterdir() if p.name.startswith(".run-")]
        if runs and (runs[0] / "executed" / "10_ingest.ipynb").exists():
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert "nothing was published" in err
    assert digest(final) == before
    assert not [p for p in (project / "reports").iterdir() if p.name.startswith((".run-", ".old-"))]


def test_export_with_salted_hash_ids(project, monkeypatch, capsys):
    p = short_params(project, "[10_ingest, 20_rfm_clustering, 60_quarterly_review]", "hashed.yaml",
                     "export:\n  hash_customer_ids: true\n")
    monkeypatch.delenv("SEGREVIEW_ID_SALT", raising=False)
    assert main(["run", "--params", str(p)]) == 2          # refused before anything runs
    assert "SEGREVIEW_ID_SALT" in capsys.readouterr().err
    assert not (project / "reports" / "2026Q3").exists()
    monkeypatch.setenv("SEGREVIEW_ID_SALT", "s3cret-salt")
    assert main(["run", "--params", str(p), "--force"]) == 0
    export = pd.read_csv(project / "reports" / "2026Q3" / "artifacts" / "segments_export.csv", dtype=str)
    scores = pd.read_parquet(project / "reports" / "2026Q3" / "artifacts" / "customer_scores.parquet")
    assert not set(export["customer_id"]) & set(scores["customer_id"])
    expected = hashlib.sha256(("s3cret-salt" + scores["customer_id"].iloc[0]).encode()).hexdigest()[:20]
    assert export["customer_id"].iloc[0] == expected


def test_check_and_run_refuse_a_bad_input_with_the_same_message(project, capsys):
    """What `segreview check` says about an input is what the run stops with, word for word."""
    o = pd.read_parquet(project / "data" / "ci" / "orders.parquet").rename(columns={"customer_id": "customer_no"})
    (project / "data" / "acme").mkdir()
    o.to_csv(project / "data" / "acme" / "orders.csv", index=False)
    p = project / "params" / "acme.yaml"
    p.write_text("quarter: 2026Q3\nsources:\n  orders: {path: data/acme/orders.csv}\n  customers: null\n"
                 "  experiments: null\n")
    assert main(["check", "--params", str(p)]) == 1
    checked = capsys.readouterr().err.removeprefix("segreview: error: ").strip()
    assert "did you mean 'customer_no'?" in checked
    assert main(["run", "--params", str(p)]) == 1
    ran = capsys.readouterr().err
    assert "10_ingest failed in cell" in ran and "(InputDataError):" in ran
    assert checked in ran
    assert not (project / "reports" / "2026Q3").exists()


def test_backfill_goes_on_past_a_failing_quarter_and_exits_with_the_worst(project, capsys):
    """2023Q4 has no orders (the export starts in 2024): it fails with the run's message, 2024Q1 is
    rendered, the exit code is the worst quarter's; a second backfill skips the rendered quarter."""
    p = short_params(project)
    argv = ["backfill", "--params", str(p), "--from", "2023Q4", "--to", "2024Q1", "--jobs", "2"]
    assert main(argv) == 1
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert lines[-2].startswith("2023Q4  FAILED")
    assert "10_ingest failed in cell" in lines[-2] and "no completed orders on or before 2023-12-31 remain" in lines[-2]
    assert re.match(r"^2024Q1  rendered +\d+\.\d s  reports/2024Q1/index\.html", lines[-1])
    assert "segreview: 2023Q4: 10_ingest failed in cell" in out.err and "kept at" in out.err
    reports = project / "reports"
    assert (reports / "2024Q1" / "index.html").exists() and not (reports / "2023Q4").exists()
    assert list((reports / ".failed").glob("2023Q4-*/10_ingest.ipynb"))
    index = (reports / "index.html").read_text()
    assert "2024Q1/index.html" in index and "2023Q4" not in index
    assert not [x for x in reports.iterdir() if x.name.startswith((".run-", ".old-"))]
    before = digest(reports / "2024Q1")
    assert main([*argv, "--fresh-kernels"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2].startswith("2023Q4  FAILED") and lines[-1].startswith("2024Q1  skipped")
    assert digest(reports / "2024Q1") == before
