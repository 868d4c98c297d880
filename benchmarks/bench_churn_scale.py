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
both paths gave identical frames. Then the retention curves' two changed parts, before and after in
the same way: the time to each customer's next purchase (pandas reindex on text ids against an
Arrow hash lookup) and the log-rank test (statsmodels on the group labels against integer codes).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _ttnp_before(t, origin, until, population):
    """:func:`helpers.churn.data.time_to_next_purchase` as it was (pandas reindex on the text ids)."""
    import ibis
    import numpy as np

    from helpers.frame.engine import to_pandas
    start = pd.Timestamp(origin).normalize() + pd.Timedelta(days=1)
    stop = pd.Timestamp(until).normalize() + pd.Timedelta(days=1)
    w = t.filter((t.order_ts >= ibis.timestamp(start)) & (t.order_ts < ibis.timestamp(stop)))
    f = to_pandas(w.group_by(customer_id=w.customer_id).aggregate(first=w.order_ts.min()))
    first = pd.Series(f["first"].astype("datetime64[us]").to_numpy(), index=f["customer_id"].astype(str))
    first = first.reindex(pd.Index(population).astype(str))
    days = ((first.dt.normalize() - start).dt.days + 1).to_numpy()
    event = ~np.isnan(days.astype(float))
    follow = (stop - start).days
    return pd.DataFrame({"duration": np.where(event, days, follow).astype(float), "event": event.astype(int)},
                        index=population)


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
        for name, f in zip(list(times)[:2], (old, new), strict=True):
            t0 = time.perf_counter()
            out.append(f())
            times[name].append(time.perf_counter() - t0)
        (xa, ha, ya), (xb, hb, yb) = out
        same &= all(a.equals(b) for a, b in zip(xa + ha + ya, xb + hb + yb, strict=True))
        del out, xa, ha, ya, xb, hb, yb
    # retention curves: time to the next purchase (Arrow lookup vs pandas reindex) and the log-rank test
    # (integer codes vs the labels), on the population of the retention origin
    import numpy as np
    from statsmodels.duration.survfunc import survdiff

    from helpers.churn.model import logrank
    from helpers.segments import data as rfm
    from helpers.segments import model as rfm_model
    origin = as_of - pd.Timedelta(days=st.retention_days)
    seg = rfm_model.segment_of(rfm.customer_summary(t, origin), defaults().rfm)
    pop = pd.Index(seg["customer_id"].astype(str))
    groups = seg["action_group"].astype(str).to_numpy()
    rt: dict[str, list[float]] = {k: [] for k in ("time to next purchase: pandas reindex (before)",
                                                  "time to next purchase: Arrow lookup (after)",
                                                  "log-rank: labels (before)", "log-rank: codes (after)")}
    for _ in range(rounds):
        t0 = time.perf_counter()
        a = _ttnp_before(t, origin, as_of, pop)
        rt["time to next purchase: pandas reindex (before)"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b = cd.time_to_next_purchase(t, origin, as_of, pop)
        rt["time to next purchase: Arrow lookup (after)"].append(time.perf_counter() - t0)
        same &= a.equals(b)
        t0 = time.perf_counter()
        ref = survdiff(b["duration"].to_numpy(float), b["event"].to_numpy(int), np.asarray(groups, object))
        rt["log-rank: labels (before)"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        got = logrank(b["duration"], b["event"], groups)
        rt["log-rank: codes (after)"].append(time.perf_counter() - t0)
        same &= got[:2] == (float(ref[0]), float(ref[1]))
    times.update(rt)
    n = int(t.count().to_pyarrow().as_py())
    print(f"\n{path}: {n:,} orders; snapshots {', '.join(str(s.date()) for s in snaps)}\n")
    print("| path | " + " | ".join(f"round {i + 1} (s)" for i in range(rounds)) + " |")
    print("|---|" + "---:|" * rounds)
    for name, v in times.items():
        print(f"| {name} | " + " | ".join(f"{x:.1f}" for x in v) + " |")
    print(f"\nidentical results (features, histories, labels, times to next purchase, log-rank): {same}")
    print(f"speed check after: {speed_check():.2f} s")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)
