"""Benchmark: per-customer RFM aggregation against lifetimes, pandas and hand-written DuckDB SQL.

Usage:
    .venv/bin/python benchmarks/make_orders.py 100000 7 benchmarks/data/orders_100k.parquet
    .venv/bin/python benchmarks/make_orders.py 1000000 7 benchmarks/data/orders_1m.parquet
    python3 -m venv benchmarks/.venv-lifetimes && benchmarks/.venv-lifetimes/bin/pip install lifetimes==0.11.3 pyarrow
    .venv/bin/python benchmarks/bench_rfm.py benchmarks/data/orders_100k.parquet benchmarks/data/orders_1m.parquet

Every method reads the same Parquet file and returns one row per customer as a pandas DataFrame
(reading included). Each method runs in its own process (so peak RSS is its own), three times;
the table shows the best time. lifetimes 0.11.3 runs in its own virtual environment, apart from
the project's dependencies.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-09-30"

SEGREVIEW = """
from helpers.segments.data import customer_summary
import pandas as pd
def run(path): return customer_summary(path, pd.Timestamp(AS_OF))
"""

DUCKDB_SQL = """
import duckdb
def run(path):
    return duckdb.sql(f'''
        SELECT customer_id, min(order_ts) AS first_order, max(order_ts) AS last_order, count(*) AS orders,
               count(DISTINCT CAST(order_ts AS DATE)) AS purchase_days, sum(amount) AS revenue,
               date_diff('day', CAST(max(order_ts) AS DATE), DATE '{AS_OF}') AS recency_days,
               date_diff('day', CAST(min(order_ts) AS DATE), DATE '{AS_OF}') AS tenure_days
        FROM read_parquet('{path}') WHERE order_ts < DATE '{AS_OF}' + INTERVAL 1 DAY
        GROUP BY customer_id ORDER BY customer_id''').df()
"""

PANDAS = """
import pandas as pd
def run(path):
    o = pd.read_parquet(path)
    o = o[o["order_ts"] < pd.Timestamp(AS_OF) + pd.Timedelta(days=1)]
    o["day"] = o["order_ts"].dt.normalize()
    g = o.groupby("customer_id").agg(first_order=("order_ts", "min"), last_order=("order_ts", "max"),
                                     orders=("amount", "size"), purchase_days=("day", "nunique"),
                                     revenue=("amount", "sum"))
    a = pd.Timestamp(AS_OF)
    g["recency_days"] = (a - g["last_order"].dt.normalize()).dt.days
    g["tenure_days"] = (a - g["first_order"].dt.normalize()).dt.days
    return g.reset_index()
"""

LIFETIMES = """
import pandas as pd
from lifetimes.utils import summary_data_from_transaction_data
def run(path):
    o = pd.read_parquet(path)
    return summary_data_from_transaction_data(o, "customer_id", "order_ts", monetary_value_col="amount",
                                              observation_period_end=AS_OF, freq="D")
"""

CHILD = """
import json, resource, sys, time
AS_OF = {as_of!r}
{body}
path = sys.argv[1]
times = []
for _ in range(3):
    t = time.perf_counter(); out = run(path); times.append(time.perf_counter() - t)
print(json.dumps({{"rows": len(out), "seconds": min(times),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

METHODS = [
    ("segreview customer_summary (Ibis on DuckDB)", SEGREVIEW, ROOT / ".venv/bin/python"),
    ("hand-written DuckDB SQL", DUCKDB_SQL, ROOT / ".venv/bin/python"),
    ("pandas groupby", PANDAS, ROOT / ".venv/bin/python"),
    ("lifetimes 0.11.3 summary_data_from_transaction_data", LIFETIMES, ROOT / "benchmarks/.venv-lifetimes/bin/python"),
]


def main(paths: list[str]) -> None:
    print("| orders file | customers | method | best of 3 (s) | vs DuckDB SQL | peak RSS (MB) |")
    print("|---|---:|---|---:|---:|---:|")
    for path in paths:
        results = {}
        for name, body, py in METHODS:
            if not Path(py).exists():
                print(f"| {Path(path).name} | | {name} | not run: {py} missing | | |")
                continue
            out = subprocess.run([str(py), "-c", CHILD.format(as_of=AS_OF, body=body), path],
                                 capture_output=True, text=True)
            if out.returncode:
                print(f"| {Path(path).name} | | {name} | failed: {out.stderr.strip().splitlines()[-1][:80]} | | |")
                continue
            results[name] = json.loads(out.stdout.strip().splitlines()[-1])
        base = results.get("hand-written DuckDB SQL", {}).get("seconds")
        for name, r in results.items():
            ratio = f"{r['seconds'] / base:.2f}x" if base else ""
            print(
                f"| {Path(path).name} | {r['rows']:,} | {name} | {r['seconds']:.2f} | {ratio} | {r['peak_mb']:,.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1:])
