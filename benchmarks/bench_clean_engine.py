"""Benchmark: the engine cleaning of one export (`scan_orders` + `clean_orders_engine`), stage by stage.

Usage: .venv/bin/python benchmarks/bench_clean_engine.py DIR [--orders FILE] [--memory-limit 2GB] [--threads N]
DIR holds `orders.parquet` (e.g. `benchmarks/data/review_200000`, written by bench_review.py) and
`customers.parquet`; `--orders orders.csv` cleans another file of DIR instead (a CSV is read as text,
so every id, date and amount goes through the engine's parsers).
Prints the seconds of each stage of the cleaning (its own `timings`), the total, the rows read and
kept and the peak resident memory of this process. The findings are printed as a fingerprint
(sha256 of their JSON) so that runs of two versions of the code can be compared.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--orders", default="orders.parquet", help="the order file in DIR (Parquet or CSV)")
    ap.add_argument("--memory-limit", default=None)
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    from helpers.frame.engine import duckdb_backend
    from helpers.frame.settings import SourceSpec, defaults
    from helpers.ingest.clean_engine import clean_orders_engine
    from helpers.ingest.scan import scan_orders
    con = duckdb_backend(a.memory_limit)
    if a.threads:
        con.raw_sql(f"SET threads = {a.threads}")
    d = defaults()
    oc = d.columns.orders
    cols = [v for v in oc.model_dump().values() if v]
    spec = SourceSpec(path=str((a.data / a.orders).resolve()))
    t0 = time.perf_counter()
    sc = scan_orders(spec, cols, "orders", optional=[c for c in cols if c not in ("customer_id", "order_ts", "amount")])
    t_scan = time.perf_counter() - t0
    known = pd.read_parquet(a.data / "customers.parquet", columns=["customer_id"])["customer_id"]
    out = Path(tempfile.mkdtemp(prefix="bench-clean-")) / "orders.parquet"
    t1 = time.perf_counter()
    co = clean_orders_engine(sc.table, oc, d.ingest, pd.Timestamp("2026-09-30"), a.orders, out, known)
    t_clean = time.perf_counter() - t1
    fp = hashlib.sha256(json.dumps([f.__dict__ for f in co.findings], default=str).encode()).hexdigest()[:16]
    print(f"| stage | seconds |\n|---|---:|\n| scan | {t_scan:.1f} |")
    for k, v in co.timings.items():
        print(f"| {k} | {v:.1f} |" if not k.startswith("fallback_") else f"| {k} (distinct texts) | {v:.0f} |")
    print(f"| **cleaning total** | **{t_clean:.1f}** |")
    print(f"\nrows read {co.rows_read:,}, kept {co.rows:,}, customers {co.customers:,}, revenue {co.revenue:,.2f}; "
          f"findings fingerprint {fp}; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
