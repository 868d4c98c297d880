"""Failures leave nothing behind; runs are deterministic; exports can hide customer ids."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from helpers.cli import main

pytestmark = pytest.mark.pipeline


def digest(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_killed_run_leaves_previous_report_untouched(project):
    assert main(["run", "--params", "params/ci.yaml"]) == 0
    final = project / "reports" / "2026Q3"
    before = digest(final)
    env = {**os.environ, "SEGREVIEW_ROOT": str(project)}
    proc = subprocess.Popen([sys.executable, "-m", "helpers.cli", "run", "--params", "params/ci.yaml", "--force"],
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


def _content(folder):
    """Artifacts by content: Parquet as data, JSON parsed, HTML text."""
    out = {}
    for p in sorted((folder / "artifacts").iterdir()):
        if p.suffix == ".parquet":
            out[p.name] = pd.read_parquet(p)
        elif p.suffix == ".json":
            out[p.name] = json.loads(p.read_text())
        else:
            out[p.name] = p.read_text()
    return out


def test_two_runs_give_identical_artifacts_and_pages(project, tmp_path):
    assert main(["run", "--params", "params/ci.yaml"]) == 0
    first = project / "reports" / "2026Q3"
    keep = tmp_path / "first"
    import shutil
    shutil.copytree(first, keep)
    assert main(["run", "--params", "params/ci.yaml", "--force"]) == 0
    a, b = _content(keep), _content(first)
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], pd.DataFrame):
            pd.testing.assert_frame_equal(a[k], b[k], check_exact=True)
        else:
            assert a[k] == b[k], k
    for page in keep.glob("*.html"):
        assert page.read_text() == (first / page.name).read_text(), f"{page.name} differs between runs"


def test_export_with_salted_hash_ids(project, monkeypatch, capsys):
    p = project / "params" / "hashed.yaml"
    p.write_text((project / "params" / "ci.yaml").read_text() + "export:\n  hash_customer_ids: true\n")
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
