"""Benchmark: the review step (60_quarterly_review) alone at 1M customers, against its 30 s target.

Usage:
    .venv/bin/python benchmarks/bench_review_step.py [--customers 1000000] [--repeats 3]

The seeded demo export at N customers (the data of `bench_review.py`, about ten orders each) is rendered
once with every step (`segreview run`, reports into `benchmarks/reports/review_step_<N>/`); then the review
step alone is re-run `--repeats` times (`segreview run --only 60_quarterly_review`). Printed: the seconds
of 60_quarterly_review from run.json for each re-run (kernel start and page rendering excluded, as in
every run.json), their median, the wall time of each command, the parts of the step timed in one
process (the order history aggregated on DuckDB, the eight quarters rebuilt with segments and lifecycle
stages, the plan with its contact lists, value by channel), and the machine speed check of
`bench_review.py` before and after (the machine is shared: say so when recording the numbers).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_review import make_data, params_file, speed_check  # noqa: E402


def parts(quarter_dir: Path, pfile: Path) -> dict[str, float]:
    """The review's own computations, timed in this process on the rendered quarter's artifacts."""
    from helpers.frame.catalog import Catalog
    from helpers.frame.settings import ReviewParams, load_config, step_parameters
    from helpers.review import data, history, plan, step
    from helpers.review.quarter import gather
    cfg = load_config(pfile)
    P = ReviewParams.model_validate({**step_parameters(cfg, "60_quarterly_review", quarter_dir), "run_dir":
                                     str(quarter_dir)})
    cat = Catalog(quarter_dir, None, None)
    artifacts = step.load_step_summaries(cat)
    out = {}
    t = time.perf_counter()
    scores = cat.customer_scores()
    out["customer tables joined"] = time.perf_counter() - t
    t = time.perf_counter()
    panel = data.quarter_panel(cat.path("orders"), P.quarter, P.review.trend_quarters)
    out["order history per customer and quarter (DuckDB)"] = time.perf_counter() - t
    t = time.perf_counter()
    h = history.build_history(panel, P.quarter, P.review.trend_quarters, P.rfm, P.review.lifecycle)
    out["eight quarters: KPIs, segments, lifecycle, transitions"] = time.perf_counter() - t
    t = time.perf_counter()
    plan.build_plan(scores, h, artifacts["rfm"], artifacts["clv"], artifacts["churn"], artifacts["ab"], P.rfm,
                    P.review.plan, P.ab, P.seed, P.quarter, P.currency)
    out["plan, holdouts, contact lists"] = time.perf_counter() - t
    t = time.perf_counter()
    step.kpi_table(cat.path("orders"), P.quarter)
    out["KPI table (two quarters)"] = time.perf_counter() - t
    t = time.perf_counter()
    gather(cat, P, artifacts)
    out["everything the review computes (gather, again)"] = time.perf_counter() - t
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    speed = [speed_check()]
    name = f"review_step_{a.customers}"
    pfile = params_file(name, make_data(a.customers))
    quarter_dir = ROOT / "benchmarks" / "reports" / name / "2026Q3"
    if not (quarter_dir / "run.json").exists():
        print(f"rendering the quarter once with every step ({a.customers:,} customers) ...", flush=True)
        subprocess.run([str(ROOT / ".venv/bin/segreview"), "run", "--params", str(pfile), "--force"], cwd=ROOT,
                       check=True, capture_output=True)
    ingest = json.loads((quarter_dir / "artifacts" / "ingest.json").read_text())
    secs, walls = [], []
    for i in range(a.repeats):
        t = time.perf_counter()
        subprocess.run([str(ROOT / ".venv/bin/segreview"), "run", "--params", str(pfile), "--only",
                        "60_quarterly_review", "--force"], cwd=ROOT, check=True, capture_output=True)
        walls.append(time.perf_counter() - t)
        secs.append(json.loads((quarter_dir / "run.json").read_text())["seconds"]["60_quarterly_review"])
        print(f"re-run {i + 1}: 60_quarterly_review {secs[-1]:.1f} s (command {walls[-1]:.1f} s)", flush=True)
    p = parts(quarter_dir, pfile)
    speed.append(speed_check())
    print()
    print(f"| {ingest['customers_with_orders']:,} customers, {ingest['orders']:,} orders | seconds |")
    print("|---|---:|")
    for k, v in p.items():
        print(f"| {k} | {v:.1f} |")
    print(f"| **60_quarterly_review in run.json, median of {a.repeats}** | **{statistics.median(secs):.1f}** |")
    print(f"| each re-run (run.json) | {', '.join(f'{s:.1f}' for s in secs)} |")
    print(f"| each command (wall, runner and page included) | {', '.join(f'{w:.1f}' for w in walls)} |")
    print(f"machine speed check (hyp2f1, 10M values, one core): {speed[0]:.2f} s before, {speed[1]:.2f} s after")


if __name__ == "__main__":
    main()
