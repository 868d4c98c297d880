"""Benchmark: the churn step's stages at 100k and 1M customers (seconds, peak memory).

Usage:
    .venv/bin/python benchmarks/make_orders.py 1000000 7 benchmarks/data/orders_1m.parquet
    .venv/bin/python benchmarks/bench_churn.py benchmarks/data/orders_100k.parquet benchmarks/data/orders_1m.parquet

Each orders file (from make_orders.py: about 7 orders per customer over three years to
2026-09-30) gets seeded `category`, `channel` and `discount` columns so that every feature is
built. Each size runs in its own process (peak RSS is that process's): `helpers.churn.step.run` as
the notebook calls it, its stages timed from its progress lines (features and a BG/NBD fit at the
training, evaluation and as-of snapshots; the learned models' fit; the backtest of every candidate
with drivers and partial dependence; the refit and scoring of every active customer), then the
retention curves (segments at the origin, Kaplan-Meier, log-rank) and the cohort table.
The whole notebook, executed by the runner, is measured by bench_pipeline.py (see RESULTS.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STAGES = r"""
import json, os, resource, sys, tempfile, time
import numpy as np, pandas as pd
progress = tempfile.NamedTemporaryFile("w", suffix=".progress", delete=False).name
os.environ["SEGREVIEW_PROGRESS"] = progress
from helpers.churn import step as cs
from helpers.frame.settings import defaults
D = defaults()

o = pd.read_parquet(sys.argv[1])
rng = np.random.default_rng(1)
o["category"] = pd.array(rng.choice(["books", "home", "beauty", "toys", "food"], len(o)), dtype="str")
o["channel"] = pd.array(rng.choice(["app", "web", "store"], len(o)), dtype="str")
o["discount"] = np.round(o["amount"] * rng.beta(1, 8, len(o)), 2)
o["customer_id"] = o["customer_id"].astype(str)
as_of = pd.Timestamp("2026-09-30")
st = D.churn
w0, t0 = time.time(), time.perf_counter()
res = cs.run(o, None, as_of, st, 42, "USD", D.business, {})
w1 = time.time()
times = {}
marks = [(float(a), b) for a, b in (ln.rstrip("\n").split("\t", 1) for ln in open(progress, encoding="utf-8"))]
names = {"features at the training": "features at 3 snapshots + BG/NBD fit at each",
         "fitting": "fit: gradient boosting + logistic regression",
         "backtest": "evaluate: metrics, lift, drivers, partial dependence",
         "refitting": "refit on the evaluation snapshot + scoring"}
for (w, msg), nxt in zip(marks, [m[0] for m in marks[1:]] + [w1]):
    times[next((v for k, v in names.items() if k in msg), msg)] = nxt - w
t = time.perf_counter()
ret = cs.retention(o, as_of, D.rfm, st)
coh = cs.cohorts(o, as_of, 8)
times["retention curves + cohorts"] = time.perf_counter() - t
times["total"] = time.perf_counter() - t0
parts = ", ".join(p.part for p in res.parts) or "none"
print(json.dumps({"orders": len(o), "customers": int(o["customer_id"].nunique()), "train": res.n_train,
                  "eval": res.n_eval, "scored": len(res.scores), "chosen": res.chosen,
                  "bgnbd": "candidate and features" if "bgnbd" in set(res.metrics["model"]) else "not available",
                  "times": times, "parts": parts,
                  "auc": float(res.metrics.set_index("model").loc[res.chosen, "roc_auc"]),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main(files: list[str]) -> None:
    rows = []
    for f in files:
        out = subprocess.run(
            [str(ROOT / ".venv/bin/python"), "-c", STAGES, f], cwd=ROOT, capture_output=True, text=True
        )
        if out.returncode:
            sys.exit(out.stderr[-3000:])
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    stages = list(rows[0]["times"])
    print("| stage | " + " | ".join(f"{r['customers']:,} customers ({r['orders']:,} orders)" for r in rows) + " |")
    print("|---|" + "---:|" * len(rows))
    for s in stages:
        print(f"| {s} | " + " | ".join(f"{r['times'][s]:.1f} s" for r in rows) + " |")
    print("| customers in the training / evaluation snapshot / scored | "
          + " | ".join(f"{r['train']:,} / {r['eval']:,} / {r['scored']:,}" for r in rows) + " |")
    print(
        "| chosen model (ROC AUC on the evaluation snapshot) | "
        + " | ".join(f"{r['chosen']} ({r['auc']:.3f})" for r in rows)
        + " |"
    )
    print("| BG/NBD | " + " | ".join(r["bgnbd"] for r in rows) + " |")
    print("| parts not available | " + " | ".join(r["parts"] for r in rows) + " |")
    print("| peak RSS | " + " | ".join(f"{r['peak_mb']:,.0f} MB" for r in rows) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
