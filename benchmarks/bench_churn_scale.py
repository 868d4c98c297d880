"""Benchmark: the churn step's features at its three snapshots, one query per snapshot against one pass.

Usage:
    .venv/bin/python benchmarks/make_orders.py 2000000 8.4 /tmp/orders_2m.parquet
    .venv/bin/python benchmarks/bench_churn_scale.py /tmp/orders_2m.parquet [ROUNDS]

In one process, alternating (same sitting), on the orders Parquet file read by DuckDB as the notebook
does (:func:`helpers.frame.engine.orders_table`): the reference path (per snapshot
:func:`helpers.churn.data.snapshot_features` and :func:`helpers.churn.data.purchase_history`, then
:func:`helpers.churn.data.churn_labels` at the training and evaluation snapshots) against
:func:`helpers.churn.data.snapshot_set` (one pass) and its features, histories and labels. Prints the
machine speed check (``bench_review.speed_check``) before and after, a table of seconds, and whether
both paths gave identical frames.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(path: str, rounds: int = 1) -> None:
    from bench_review import speed_check

    from helpers.churn import data as cd
    from helpers.frame.engine import orders_table
    from helpers.frame.settings import defaults
    st = defaults().churn
    h = st.horizon_days
    as_of = pd.Timestamp("2026-09-30")
    snaps = [as_of - pd.Timedelta(days=2 * h), as_of - pd.Timedelta(days=h), as_of]
    print(f"speed check before: {speed_check():.2f} s")
    t = orders_table(path, "duckdb")

    def old():
        X = [cd.snapshot_features(t, s, st.active_days) for s in snaps]
        H = [cd.purchase_history(t, s, 7.0) for s in snaps]
        y = [cd.churn_labels(t, s, h, X[k].index, as_of) for k, s in enumerate(snaps[:2])]
        return X, H, y

    def new():
        S = cd.snapshot_set(t, snaps, st.active_days, {snaps[0]: h, snaps[1]: h})
        X = [S.features(s) for s in snaps]
        H = [S.history(s, 7.0) for s in snaps]
        y = [S.labels(s, h, X[k].index, as_of) for k, s in enumerate(snaps[:2])]
        S.release()
        return X, H, y

    times: dict[str, list[float]] = {"reference (3 queries + 3 histories + 2 label queries)": [],
                                     "snapshot_set (one pass) + reads": []}
    same = True
    for _ in range(rounds):
        out = []
        for name, f in zip(times, (old, new)):
            t0 = time.perf_counter()
            out.append(f())
            times[name].append(time.perf_counter() - t0)
        (xa, ha, ya), (xb, hb, yb) = out
        same &= all(a.equals(b) for a, b in zip(xa + ha + ya, xb + hb + yb))
        del out, xa, ha, ya, xb, hb, yb
    n = int(t.count().to_pyarrow().as_py())
    print(f"\n{path}: {n:,} orders; snapshots {', '.join(str(s.date()) for s in snaps)}\n")
    print("| path | " + " | ".join(f"round {i + 1} (s)" for i in range(rounds)) + " |")
    print("|---|" + "---:|" * rounds)
    for name, v in times.items():
        print(f"| {name} | " + " | ".join(f"{x:.1f}" for x in v) + " |")
    print(f"\nidentical frames (features, histories, labels): {same}")
    print(f"speed check after: {speed_check():.2f} s")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)
