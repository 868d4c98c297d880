"""Benchmark: contractual churn (a ``churned`` label) at 100k and 1M subscribers: seconds per stage, peak memory.

Usage:
    .venv/bin/python benchmarks/bench_churn_contractual.py [--sizes 100000 1000000] [--threads 1]

For each size, a synthetic telecom-like book (tests/unit/churn_books.py: about twenty mixed attributes
as a CSV reader hands them over, a ``churned`` label, one payment per paid month) is written once to
``benchmarks/data/`` (not timed). Then, each size in its own process:

1. ingestion's typing of the customers table (``clean_customers``: ids, label, every attribute typed
   by its content): part of ``10_ingest``, shown for scale;
2. the churn step as ``40_churn`` calls it (``helpers.churn.step.run`` on the engine's table of the
   payments Parquet file, business ``contractual``), its stages timed from the step's progress lines:
   typed attributes and payment history, 5-fold cross-validation of the learned candidates, drivers,
   the refit and the scoring of every active subscriber; then the tiers, the priority flags and the
   ``churn_scores`` table.

Peak RSS is the process's (``ru_maxrss``), so it includes reading the customers table. ``--threads``
sets OMP_NUM_THREADS for the child (gradient boosting's OpenMP threads; on a loaded 2-core machine
two threads can be ten times slower than one).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"

PREPARE = r"""
import sys
sys.path.insert(0, "tests/unit")
import pyarrow.parquet as pq
from churn_books import telecom_book
n, cust_path, pay_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c, p = telecom_book(n, seed=20261130, payments="arrow")
c.to_parquet(cust_path, index=False)
pq.write_table(p, pay_path)
print(len(c), p.num_rows)
"""

RUN = r"""
import json, os, resource, sys, tempfile, time
import pandas as pd
progress = tempfile.NamedTemporaryFile("w", suffix=".progress", delete=False).name
os.environ["SEGREVIEW_PROGRESS"] = progress
from helpers.churn import step
from helpers.frame.engine import orders_table
from helpers.frame.settings import CustomersColumns, defaults
from helpers.ingest.rules import clean_customers
D = defaults()
cust_path, pay_path = sys.argv[1], sys.argv[2]
times = {}
t = time.perf_counter()
raw = pd.read_parquet(cust_path)
times["read the customers table (text)"] = time.perf_counter() - t
attrs = [c for c in raw.columns if c not in ("customer_id", "churned")]
t = time.perf_counter()
cust, _ = clean_customers(raw, CustomersColumns.minimal(churned="churned", attributes=attrs), D.ingest, "book")
times["ingest: clean + type 21 attributes"] = time.perf_counter() - t
del raw
tab = orders_table(pay_path, "duckdb", D.spark)
w0, t0 = time.time(), time.perf_counter()
res = step.run(tab, cust, pd.Timestamp("2026-09-30"), D.churn, D.seed, "CNY",
               D.business.replace(model="contractual"), {})
w1, t_run = time.time(), time.perf_counter() - t0
t = time.perf_counter()
scored = step.scored_customers(res, None, None, D.churn.high_value_share)
out = step.churn_scores(None, scored)
t_tail = time.perf_counter() - t
marks = [(float(a), b) for a, b in (ln.rstrip("\n").split("\t", 1) for ln in open(progress, encoding="utf-8"))]
names = {"typed attributes": "typed attributes + payment history (on the engine)",
         "cross-validation": "5-fold cross-validation of the candidates, drivers",
         "refitting": "refit on every labelled subscriber + scoring"}
stages = {}
for (w, msg), nxt in zip(marks, [m[0] for m in marks[1:]] + [w1]):
    stages[next((v for k, v in names.items() if k in msg), msg)] = nxt - w
print(json.dumps({"customers": len(cust), "labelled": res.n_train, "cross_validated": res.n_eval,
                  "scored": len(res.scores), "features": len(res.features), "chosen": res.chosen,
                  "metrics": res.metrics.set_index("model")[["roc_auc", "brier"]].round(4).to_dict("index"),
                  "times": times, "stages": stages, "run": t_run, "tail": t_tail,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def speed_check() -> float:
    """Seconds for 10M evaluations of scipy's hyp2f1 on one core (as bench_review.py: about 3.6 s on
    this VM when it is fast, 4.3 s when slow)."""
    import numpy as np
    from scipy.special import hyp2f1
    x = np.linspace(0.01, 0.9, 10_000_000)
    t = time.perf_counter()
    hyp2f1(1.5, 2.5, 3.5, x)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS of the child (default: unset)")
    a = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    py = str(ROOT / ".venv" / "bin" / "python")
    env = dict(os.environ)
    if a.threads:
        env["OMP_NUM_THREADS"] = str(a.threads)
    speed = [speed_check()]
    load = [os.getloadavg()[0]]
    rows = []
    for n in a.sizes:
        cust, pay = DATA / f"telecom_{n}.parquet", DATA / f"telecom_{n}_payments.parquet"
        if not (cust.exists() and pay.exists()):
            subprocess.run([py, "-c", PREPARE, str(n), str(cust), str(pay)], cwd=ROOT, check=True, env=env)
        out = subprocess.run([py, "-c", RUN, str(cust), str(pay)], cwd=ROOT, capture_output=True, text=True, env=env)
        if out.returncode:
            sys.exit(out.stderr[-4000:])
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r["payment_rows"] = pq.ParquetFile(pay).metadata.num_rows
        rows.append(r)
        load.append(os.getloadavg()[0])
    speed.append(speed_check())
    print("| stage | " + " | ".join(f"{r['customers']:,} subscribers ({r['payment_rows']:,} payments)"
                                     for r in rows) + " |")
    print("|---|" + "---:|" * len(rows))
    for k in rows[0]["times"]:
        print(f"| {k} | " + " | ".join(f"{r['times'][k]:.1f} s" for r in rows) + " |")
    for k in rows[0]["stages"]:
        print(f"| churn: {k} | " + " | ".join(f"{r['stages'].get(k, float('nan')):.1f} s" for r in rows) + " |")
    print("| **churn step (`step.run`)** | " + " | ".join(f"**{r['run']:.1f} s**" for r in rows) + " |")
    print("| tiers, priority, churn_scores | " + " | ".join(f"{r['tail']:.1f} s" for r in rows) + " |")
    print("| labelled / cross-validated / scored | "
          + " | ".join(f"{r['labelled']:,} / {r['cross_validated']:,} / {r['scored']:,}" for r in rows) + " |")
    print("| chosen (CV ROC AUC, Brier) | " + " | ".join(
        f"{r['chosen']} ({r['metrics'][r['chosen']]['roc_auc']:.3f}, {r['metrics'][r['chosen']]['brier']:.4f})"
        for r in rows) + " |")
    print("| logistic baseline (CV ROC AUC, Brier) | " + " | ".join(
        f"{r['metrics']['logistic']['roc_auc']:.3f}, {r['metrics']['logistic']['brier']:.4f}" for r in rows) + " |")
    print("| peak RSS (whole process) | " + " | ".join(f"{r['peak_mb']:,.0f} MB" for r in rows) + " |")
    print(f"\nmachine speed check (hyp2f1, 10M values, one core): {speed[0]:.2f} s before, {speed[1]:.2f} s after; "
          f"1-minute load average {', '.join(f'{x:.1f}' for x in load)} (2 cores); "
          f"OMP_NUM_THREADS={env.get('OMP_NUM_THREADS', 'unset')}")


if __name__ == "__main__":
    main()
