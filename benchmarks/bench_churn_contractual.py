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

Each stage is shown in wall seconds and in CPU seconds of the process (all threads): on a shared
machine the wall time measures the neighbours as much as the step, the CPU time much less so.
Typing and the churn step run in separate processes (as 10_ingest and 40_churn do), each with its own
peak RSS (``ru_maxrss``); the churn figure includes reading the typed customers table. ``--threads``
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

TYPE = r"""
import json, resource, sys, time
import pandas as pd
from helpers.frame.settings import CustomersColumns, defaults
from helpers.ingest.rules import clean_customers
raw_path, typed_path = sys.argv[1], sys.argv[2]
t = time.perf_counter()
raw = pd.read_parquet(raw_path)
attrs = [c for c in raw.columns if c not in ("customer_id", "churned")]
cols = CustomersColumns.minimal(churned="churned", attributes=attrs)
cust, _ = clean_customers(raw, cols, defaults().ingest, "book")
seconds = time.perf_counter() - t
cust.to_parquet(typed_path, index=False)
print(json.dumps({"seconds": seconds, "attributes": len(attrs),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RUN = r"""
import json, resource, sys, time
import pandas as pd
from helpers.churn import step
from helpers.frame.engine import orders_table
from helpers.frame.settings import defaults
marks = []
step.stage = lambda msg: marks.append((time.time(), time.process_time(), msg))   # wall and CPU at each stage
D = defaults()
typed_path, pay_path = sys.argv[1], sys.argv[2]
w0, c0 = time.time(), time.process_time()
cust = pd.read_parquet(typed_path)
marks.append((time.time(), time.process_time(), "read the typed customers table"))
tab = orders_table(pay_path, "duckdb", D.spark)
res = step.run(tab, cust, pd.Timestamp("2026-09-30"), D.churn, D.seed, "CNY",
               D.business.replace(model="contractual"), {})
marks.append((time.time(), time.process_time(), "tiers, priority, churn_scores"))
scored = step.scored_customers(res, None, None, D.churn.high_value_share)
out = step.churn_scores(None, scored)
w1, c1 = time.time(), time.process_time()
names = {"typed attributes": "typed attributes + payment history (on the engine)",
         "cross-validation": "5-fold cross-validation of the candidates, drivers",
         "refitting": "refit on every labelled subscriber + scoring"}
stages = {"read the typed customers table": (marks[0][0] - w0, marks[0][1] - c0)}
for (w, c, msg), (w2, c2, _) in zip(marks[1:], [*marks[2:], (w1, c1, "")]):
    stages[next((v for k, v in names.items() if k in msg), msg)] = (w2 - w, c2 - c)
print(json.dumps({"customers": len(cust), "labelled": res.n_train, "cross_validated": res.n_eval,
                  "scored": len(res.scores), "features": len(res.features), "chosen": res.chosen,
                  "metrics": res.metrics.set_index("model")[["roc_auc", "brier"]].round(4).to_dict("index"),
                  "stages": stages, "total": (w1 - w0, c1 - c0),
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
        raw, pay = DATA / f"telecom_{n}.parquet", DATA / f"telecom_{n}_payments.parquet"
        typed = DATA / f"telecom_{n}_typed.parquet"
        if not (raw.exists() and pay.exists()):
            subprocess.run([py, "-c", PREPARE, str(n), str(raw), str(pay)], cwd=ROOT, check=True, env=env)
        r = {"payment_rows": pq.ParquetFile(pay).metadata.num_rows}
        for key, script, args in (("typing", TYPE, [raw, typed]), ("churn", RUN, [typed, pay])):
            out = subprocess.run([py, "-c", script, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                                 env=env)
            if out.returncode:
                sys.exit(out.stderr[-4000:])
            r[key] = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(r)
        load.append(os.getloadavg()[0])
    speed.append(speed_check())
    c = [r["churn"] for r in rows]
    print("| | " + " | ".join(f"{x['customers']:,} subscribers, {r['payment_rows']:,} payments"
                              for x, r in zip(c, rows, strict=True)) + " |")
    print("|---|" + "---:|" * len(rows))
    print("| 10_ingest: clean + type the customers table (own process) | "
          + " | ".join(f"{r['typing']['seconds']:.1f} s, {r['typing']['peak_mb']:,.0f} MB" for r in rows) + " |")
    print("| 40_churn (own process): wall seconds (CPU seconds of the process, all threads) | "
          + " | ".join("" for _ in rows) + " |")
    for k in c[0]["stages"]:
        print(f"| 40_churn: {k} | " + " | ".join(
            f"{x['stages'][k][0]:.1f} s ({x['stages'][k][1]:.1f} s CPU)" for x in c) + " |")
    print("| **40_churn total** | " + " | ".join(f"**{x['total'][0]:.1f} s ({x['total'][1]:.1f} s CPU)**" for x in c)
          + " |")
    print("| **40_churn peak RSS (own process)** | " + " | ".join(f"**{x['peak_mb']:,.0f} MB**" for x in c) + " |")
    print("| labelled / cross-validated / scored | "
          + " | ".join(f"{x['labelled']:,} / {x['cross_validated']:,} / {x['scored']:,}" for x in c) + " |")
    print("| chosen (CV ROC AUC, Brier) | " + " | ".join(
        f"{x['chosen']} ({x['metrics'][x['chosen']]['roc_auc']:.3f}, {x['metrics'][x['chosen']]['brier']:.4f})"
        for x in c) + " |")
    print("| logistic baseline (CV ROC AUC, Brier) | " + " | ".join(
        f"{x['metrics']['logistic']['roc_auc']:.3f}, {x['metrics']['logistic']['brier']:.4f}" for x in c) + " |")
    print(f"\nmachine speed check (hyp2f1, 10M values, one core): {speed[0]:.2f} s before, {speed[1]:.2f} s after; "
          f"1-minute load average {', '.join(f'{x:.1f}' for x in load)} (2 cores); "
          f"OMP_NUM_THREADS={env.get('OMP_NUM_THREADS', 'unset')}")


if __name__ == "__main__":
    main()
