"""Benchmark: CLV's four engine queries over the clean orders, each from the order log or from the
purchase days computed once (`helpers.value.data.engine_purchase_days`).

Usage: .venv/bin/python benchmarks/bench_clv_days.py CLEAN_ORDERS.parquet [--as-of 2026-09-30] [--memory-limit 2GB]
The four queries are those of `30_clv` (non-contractual): purchase-day gaps (the subscription
check), the all-history summary, the backtest's calibration summary with holdout, the tracking
counts. Prints seconds of each, both ways, and checks that both ways give the same results.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("orders")
    ap.add_argument("--as-of", default="2026-09-30")
    ap.add_argument("--memory-limit", default=None)
    a = ap.parse_args()
    from helpers.frame.engine import duckdb_backend, orders_table
    from helpers.frame.settings import defaults
    from helpers.value import data as d
    duckdb_backend(a.memory_limit)
    as_of = pd.Timestamp(a.as_of)
    s = defaults().clv
    cal_end = as_of - pd.Timedelta(days=s.holdout_days)
    end = as_of + pd.Timedelta(days=1)
    weeks = pd.date_range(as_of - pd.Timedelta(days=700), as_of, freq="7D")

    def queries(src) -> tuple[dict, list]:
        sec, out = {}, []
        for name, fn in [("gaps", lambda: d.purchase_day_gaps_engine(src, end)),
                         ("all-history summary", lambda: d.calibration_summary_engine(src, as_of, None, s.unit_days)),
                         ("calibration summary", lambda: d.calibration_summary_engine(src, cal_end, as_of,
                                                                                      s.unit_days)),
                         ("tracking counts", lambda: d.weekly_repeat_purchases(src, cal_end, as_of, weeks))]:
            t = time.perf_counter()
            out.append(fn())
            sec[name] = time.perf_counter() - t
        return sec, out

    t = orders_table(a.orders)
    before, ref = queries(t)
    t0 = time.perf_counter()
    days = d.engine_purchase_days(t, end)
    build = time.perf_counter() - t0
    after, got = queries(days)
    days.release()
    for x, y in zip(ref, got, strict=True):
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        else:
            assert (x == y).all()
    print("| query | from the order log (s) | from the purchase days (s) |\n|---|---:|---:|")
    print(f"| purchase days, once | | {build:.1f} |")
    for k in before:
        print(f"| {k} | {before[k]:.1f} | {after[k]:.1f} |")
    print(f"| **total** | **{sum(before.values()):.1f}** | **{build + sum(after.values()):.1f}** |")
    print("\nsame results both ways (exact)")


if __name__ == "__main__":
    main()
