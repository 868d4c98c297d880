"""Benchmark: the churn step's stages at 100k and 1M customers (seconds, peak memory).

Usage:
    .venv/bin/python benchmarks/make_orders.py 1000000 7 benchmarks/data/orders_1m.parquet
    .venv/bin/python benchmarks/bench_churn.py benchmarks/data/orders_100k.parquet benchmarks/data/orders_1m.parquet

Each orders file (from make_orders.py: about 7 orders per customer over three years to
2026-09-30) gets seeded `category`, `channel` and `discount` columns so that every feature is
built. Each size runs in its own process (peak RSS is that process's): the stages of
`helpers.churn.step.run` as the notebook calls them: features of the training and evaluation
snapshots, model fits (both models, calibrated), BG/NBD comparison, evaluation (metrics, lift,
permutation drivers, partial dependence), the refit and scoring of every active customer, then the
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
import json, resource, sys, time
import numpy as np, pandas as pd
from helpers.churn import data as cdata, model as cmodel, step as cs
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
times = {}
t0 = time.perf_counter()
t = time.perf_counter()
tab = cdata._orders_table(o)
ev, tr = as_of - pd.Timedelta(days=90), as_of - pd.Timedelta(days=180)
Xtr, ytr = cdata.dataset(tab, tr, 90, 365, as_of, labels_from=o)
Xev, yev = cdata.dataset(tab, ev, 90, 365, as_of, labels_from=o)
times["features: 2 snapshots + labels"] = time.perf_counter() - t
t = time.perf_counter()
models = cmodel.fit_models(Xtr, ytr, 42)
times["fit: both models, calibrated"] = time.perf_counter() - t
t = time.perf_counter()
probs = cmodel.predict(models, Xev)
bg = cs._bgnbd_scores(tab, ev, Xev.index, 90, 7.0, 42)
probs = probs if bg is None else probs.join(bg)
bg_note = "fitted" if bg is not None else "BG/NBD could not be fitted (synthetic log without dropout)"
times["predict + BG/NBD comparison"] = time.perf_counter() - t
t = time.perf_counter()
res = cs.ChurnResult(available=True, mode="snapshot", features=list(Xtr.columns))
cs._evaluate(res, probs, yev, models[cs._choose(cmodel.metrics(probs, yev), "auto")], Xev, yev, st, 42, "USD")
times["evaluate: metrics, lift, drivers, partial dependence"] = time.perf_counter() - t
t = time.perf_counter()
final = cmodel.fit_models(Xev, yev, 42, only=res.chosen)[res.chosen]
Xnow = cdata.snapshot_features(tab, as_of, 365)[Xtr.columns]
scores = cs._score(final, Xnow, res)
times["refit + features at as-of + scoring"] = time.perf_counter() - t
t = time.perf_counter()
km, lr, origin = cs.retention(o, as_of, D.rfm, st)
coh = cs.cohort_table(o, as_of, 8)
times["retention curves + cohorts"] = time.perf_counter() - t
times["total"] = time.perf_counter() - t0
print(json.dumps({"orders": len(o), "customers": int(o["customer_id"].nunique()), "train": len(Xtr), "eval": len(Xev),
                  "scored": len(scores), "chosen": res.chosen, "bgnbd": bg_note, "times": times,
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
    print("| BG/NBD comparison | " + " | ".join(r["bgnbd"] for r in rows) + " |")
    print("| peak RSS | " + " | ".join(f"{r['peak_mb']:,.0f} MB" for r in rows) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
