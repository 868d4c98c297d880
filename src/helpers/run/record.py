"""The run record, ``run.json`` (design.md §4, step 4): what ran, on what, with which parameters and
packages, how long each step took, and what was not available."""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import json
import subprocess
import sys
from pathlib import Path

from helpers.frame.catalog import to_jsonable
from helpers.frame.registry import ARTIFACTS, PIPELINE
from helpers.frame.registry import step as step_decl
from helpers.frame.settings import quarter_bounds
from helpers.run.plan import Plan

__all__ = ["PACKAGES", "versions", "git_commit", "unavailable", "write_run_record"]


PACKAGES = ("segreview", "pandas", "numpy", "scipy", "scikit-learn", "statsmodels", "duckdb",
            "ibis-framework", "pandera", "pydantic", "papermill", "nbconvert", "jupytext",
            "matplotlib", "seaborn", "pyarrow")


def versions() -> dict[str, str]:
    """Python's and each of :data:`PACKAGES`' version (``"not installed"`` when absent)."""
    out = {"python": sys.version.split()[0]}
    for p in PACKAGES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = "not installed"
    return out


def git_commit(root: Path) -> str | None:
    """The project's commit, ``-dirty`` when tracked files changed; ``None`` outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def unavailable(run_dir: Path) -> dict[str, list[dict]]:
    """Step -> the parts its summary says are not available (only steps with some)."""
    out = {}
    for s in PIPELINE:
        decl = step_decl(s)
        if decl.summary is None:
            continue
        p = run_dir / ARTIFACTS[decl.summary].path
        if p.exists():
            parts = json.loads(p.read_text(encoding="utf-8")).get("unavailable") or []
            if parts:
                out[s] = [{"part": x["part"], "reason": x["reason"]} for x in parts]
    return out


def _relative(p: Path, root: Path) -> str:
    p = Path(p).resolve()
    return str(p.relative_to(root)) if p.is_relative_to(root) else str(p)


def write_run_record(plan: Plan, folder: Path, seconds: dict[str, float], timeline: dict[str, dict[str, float]],
                     jobs: int, total: float) -> Path:
    """Write ``<folder>/run.json``.

    Parameters
    ----------
    plan : Plan
        The run.
    folder : Path
        The run folder (its ``artifacts/ingest.json`` gives the inputs read).
    seconds : dict
        Seconds per step executed (and ``render_html``); a partial run keeps the other steps' times
        from the published quarter's record.
    timeline : dict
        Step -> ``{"start", "end"}`` in seconds from the start of the run.
    jobs : int
        Notebooks allowed side by side.
    total : float
        Seconds of the whole run.
    """
    previous = {}
    old = plan.final / "run.json"
    if plan.partial and old.exists():
        previous = json.loads(old.read_text()).get("seconds", {})
    ingest = json.loads((folder / ARTIFACTS["ingest"].path).read_text())
    record = {
        "quarter": plan.quarter,
        "as_of": quarter_bounds(plan.quarter)[1].date().isoformat(),
        "parameters_file": str(plan.params_file),
        "parameters_files": [_relative(f, plan.root) for f in plan.files],
        "parameters": plan.config.model_dump(mode="json"),
        "steps_run": plan.steps,
        "seconds": {**previous, **seconds, "total": round(total, 2)},
        "timeline": {"jobs": jobs, "steps": timeline},
        "inputs": ingest["sources"],
        "unavailable": unavailable(folder),
        "versions": versions(),
        "git_commit": git_commit(plan.root),
        "finished_at": dt.datetime.now().isoformat(timespec="seconds"),
    }
    out = folder / "run.json"
    tmp = out.with_name(".run.json.tmp")
    tmp.write_text(json.dumps(to_jsonable(record), indent=2, sort_keys=True) + "\n")
    tmp.replace(out)
    return out
