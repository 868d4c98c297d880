"""Benchmark: the review step (60_quarterly_review) alone at 1M customers, against its 30 s target.

Usage:
    .venv/bin/python benchmarks/bench_review_step.py [--customers 1000000] [--repeats 3]
    .venv/bin/python benchmarks/bench_review_step.py --artifacts QUARTER_DIR --params FILE --reference-src DIR

The second form (issue 21, 5M customers) times the parts of the review (60) and of the segments step (20,
clustering left out: its code is unchanged) on a rendered quarter's artifacts, in one process per code
version, the reference version (``DIR``: a ``src`` folder of an earlier commit, e.g.
``git archive main src | tar -x -C /tmp/old``) first, then this checkout, one after the other in the same
sitting; then it checks that both versions computed the same tables (history, plan, contact lists,
customer tables and exports, segments, segment table, migration) and wrote the same files byte for byte.

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


CHILD = r"""
import pickle, resource, shutil, sys, time
from pathlib import Path
import pandas as pd
qd, pfile, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
import helpers
from helpers.frame.engine import configure_duckdb, orders_table
from helpers.frame.catalog import Catalog
from helpers.frame.settings import ReviewParams, load_config, step_parameters, previous_quarter, quarter_bounds
from helpers.review import data, history, plan, step
import helpers.review as rv
from helpers import segments as sg
cfg = load_config(pfile)
P = ReviewParams.model_validate({**step_parameters(cfg, "60_quarterly_review", qd), "run_dir": str(qd)})
configure_duckdb(cfg.duckdb)
cat = Catalog(qd, None, None)
A = step.load_step_summaries(cat)
T, R = {}, {}
def tm(name, f, *a):
    t = time.perf_counter(); r = f(*a); T[name] = time.perf_counter() - t
    print(f"  {name}: {T[name]:.1f} s", file=sys.stderr, flush=True); return r
scores = tm("60: customer tables joined", cat.customer_scores)
panel = tm("60: order history per customer and quarter (DuckDB)", data.quarter_panel, cat.path("orders"), P.quarter,
           P.review.trend_quarters)
h = tm("60: eight quarters: KPIs, segments, lifecycle, transitions", history.build_history, panel, P.quarter,
       P.review.trend_quarters, P.rfm, P.review.lifecycle)
del panel
pl = tm("60: plan, holdouts, contact lists", plan.build_plan, scores, h, A["rfm"], A["clv"], A["churn"], A["ab"], P.rfm,
        P.review.plan, P.ab, P.seed, P.quarter, P.currency)
tm("60: customer_scores and segments_export.csv written", rv.save_customer_tables, cat, A, P.export, scores)
tm("60: contact lists written", rv.save_contact_lists, cat, pl.contacts, P.export)
R["history"] = {k: getattr(h, k) for k in ("quarters", "kpis", "lifecycle", "segments", "groups", "transitions",
                                           "current", "cohort", "customers", "cohort_customers")}
R["plan"] = (pl.entries, pl.contacts, pl.notes)
del scores, h, pl
peak60 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
o = orders_table(cat.path("orders"), "duckdb", None)
as_of = quarter_bounds(P.quarter)[1]
prev = quarter_bounds(previous_quarter(P.quarter))[1]
summ = tm("20: customer_summary at the quarter's end", sg.customer_summary, o, as_of)
scored = tm("20: segment_of", sg.segment_of, summ, P.rfm)
pq = tm("20: period_revenue (quarter)", sg.period_revenue, o, quarter_bounds(P.quarter)[0], as_of)
seg_table = tm("20: segment_table", sg.segment_table, scored, P.rfm, pq)
psumm = tm("20: customer_summary at the previous quarter's end", sg.customer_summary, o, prev)
previous = tm("20: segment_of (previous quarter)", sg.segment_of, psumm, P.rfm)
mig = tm("20: migrate", sg.migrate, previous, scored, o, prev, P.rfm)
R["rfm"] = {"scored": scored, "seg_table": seg_table, "previous": previous, "moves": mig.moves, "counts": mig.counts,
            "value": mig.value, "summary": mig.summary}
T["peak RSS of the 60 parts (MB)"] = peak60
pickle.dump({"times": T, "results": R, "helpers": helpers.__file__}, open(out, "wb"))
"""


def _same(x, y) -> bool:
    """Equal, nested dicts and lists compared element by element, NaN equal to NaN."""
    import math
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    if isinstance(x, list | tuple):
        return isinstance(y, list | tuple) and len(x) == len(y) and all(_same(u, v) for u, v in zip(x, y, strict=True))
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return x == y


def compare(ref_src: Path, quarter: Path, pfile: Path) -> None:
    """Old (``ref_src``) against this checkout on a rendered quarter's artifacts: times and equal results."""
    import filecmp
    import pickle
    import shutil

    import pandas as pd
    speed = [speed_check()]
    runs = {}
    for name, src in (("reference", ref_src.resolve()), ("this checkout", ROOT / "src")):
        work = ROOT / "benchmarks" / "reports" / f".compare-{name.replace(' ', '-')}" / quarter.name
        if work.parent.exists():
            shutil.rmtree(work.parent)
        work.parent.mkdir(parents=True)
        subprocess.run(["cp", "-al", str(quarter.resolve()), str(work)], check=True)   # links: writes replace them
        out = work.parent / "out.pkl"
        print(f"{name} ({src}) ...", flush=True)
        env = {**__import__("os").environ, "PYTHONPATH": str(src)}
        subprocess.run([sys.executable, "-c", CHILD, str(work), str(pfile.resolve()), str(out)], check=True, env=env,
                       cwd=ROOT)
        runs[name] = pickle.load(open(out, "rb"))
        runs[name]["dir"] = work
        assert runs[name]["helpers"].startswith(str(src)), runs[name]["helpers"]
    speed.append(speed_check())
    a, b = runs["reference"], runs["this checkout"]
    print()
    print("| part | reference (s) | this checkout (s) |")
    print("|---|---:|---:|")
    for k in a["times"]:
        print(f"| {k} | {a['times'][k]:.1f} | {b['times'][k]:.1f} |")
    print(f"machine speed check (hyp2f1, 10M values, one core): {speed[0]:.2f} s before, {speed[1]:.2f} s after")
    ra, rb = a["results"], b["results"]
    for part in ("history", "rfm"):
        for k, v in ra[part].items():
            w = rb[part][k]
            if isinstance(v, pd.DataFrame):
                pd.testing.assert_frame_equal(v, w, check_exact=True)
            else:
                assert v == w, (part, k)
    assert _same(ra["plan"][0], rb["plan"][0]) and ra["plan"][2] == rb["plan"][2], "plan entries differ"
    assert list(ra["plan"][1]) == list(rb["plan"][1])
    for k, v in ra["plan"][1].items():
        pd.testing.assert_frame_equal(v, rb["plan"][1][k], check_exact=True)
    files = ["artifacts/segments_export.csv", "artifacts/customer_scores.parquet",
             *[f"exports/{f.name}" for f in sorted((a["dir"] / "exports").iterdir())]]
    differ = [f for f in files if not filecmp.cmp(a["dir"] / f, b["dir"] / f, shallow=False)]
    print(f"same results: history, plan, contact lists, segments, migration equal; files identical byte for byte: "
          f"{len(files) - len(differ)} of {len(files)}" + (f"; DIFFER: {differ}" if differ else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--artifacts", type=Path, help="a rendered quarter (compare mode)")
    ap.add_argument("--params", type=Path, help="its parameters file (compare mode)")
    ap.add_argument("--reference-src", type=Path, help="src folder of the reference version (compare mode)")
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    if a.artifacts is not None:
        compare(a.reference_src, a.artifacts, a.params)
        return
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
