"""Benchmark: the engine-side pieces of issue 21 at 1M and 5M customers, each in its own process.

Usage:
    .venv/bin/python benchmarks/bench_scale.py [--sizes 1000000 5000000] [--reference-up-to 1000000]
                                               [--memory-limit 4GB] [--compare 200000]

Data: the demo generator (customers, experiments, BG/NBD dropout, dirty rows; purchase rate four
times the demo's, about nine order lines per customer, as `bench_review.py`) written **in chunks of
500,000 customers** (each chunk its own seed; customer and order ids prefixed with the chunk
number) into one Parquet file per table under `benchmarks/data/scale_<N>/`, so generating 5M
customers (about 45M order lines) needs the memory of one chunk, not of the whole export.

Components (each a fresh Python process; time from the process's own clock, peak memory its
maximum resident set size, the in-process DuckDB included):

* `clean_engine`: `scan_orders` + `clean_orders_engine` (raw Parquet -> clean Parquet, findings);
* `clean_reference`: `read_source` + `clean_orders` (pandas), up to `--reference-up-to` customers;
* `aggregation`: `calibration_summary_engine` (backtest split with holdout) against a hand-written
  DuckDB SQL query returning the same table, alternately three times each in one process, best of
  three, and their ratio (issue 21: at most 1.25x at 5M);
* `summary_numpy`: the numpy reference (`purchase_days` + `calibration_summary`, orders loaded
  into pandas), up to `--reference-up-to`;
* `tracking_engine`, `outcomes_engine`, and `outcomes_reference` (pandas, up to `--reference-up-to`).

`--synthetic N ...` measures the engine components on `make_orders.py`'s plain order log instead
(customer, time, amount; about 8.4 orders per customer, 42M lines at 5M customers; written in
chunks of a million customers): fast to generate, no dirt, no customers or experiments tables.

`--compare N` also generates an N-customer export and checks that `clean_orders_engine` gives
exactly the findings and clean orders of `clean_orders` (and prints where they differ).
Prints markdown tables and the machine speed check (before and after).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
AS_OF = "2026-09-30"
CHUNK = 500_000


# ---- data -------------------------------------------------------------------------------------

def make_export(n: int, chunk: int = CHUNK) -> Path:
    """The demo export at ``n`` customers, generated and written chunk by chunk (module docstring)."""
    out = BENCH / "data" / f"scale_{n}"
    if (out / "orders.parquet").exists():
        return out
    code = f"import sys; sys.path.insert(0, {str(BENCH)!r}); import bench_scale as b; b._write_export({n}, {chunk})"
    t = time.perf_counter()
    r = _child(["-c", code])
    print(f"generated {out.relative_to(ROOT)} in {time.perf_counter() - t:.0f} s, peak {r['peak_mb']:,.0f} MB",
          flush=True)
    return out


def _write_export(n: int, chunk: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from helpers.demo.generator import DemoSpec, generate_demo
    out = BENCH / "data" / f"scale_{n}"
    tmp = out.with_name(out.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    done = 0
    for i, start in enumerate(range(0, n, chunk)):
        size = min(chunk, n - start)
        d = generate_demo(replace(DemoSpec(), n_customers=size, alpha=1.5, seed=20260930 + i))
        pre = f"K{i:02d}"
        tables = {"orders": d.orders, "customers": d.customers, "experiments": d.experiments.drop(
            columns="_effect_group")}
        for name, df in tables.items():
            df = df.copy()
            for col in ("customer_id", "order_id"):
                if col in df.columns:
                    df[col] = (pre + df[col].astype("string")).astype(object).where(df[col].notna(), None)
            tbl = pa.Table.from_pandas(df, preserve_index=False)
            if name not in writers:
                writers[name] = pq.ParquetWriter(tmp / f"{name}.parquet", tbl.schema)
            writers[name].write_table(tbl.cast(writers[name].schema), row_group_size=1_000_000)
        done += size
        print(f"  chunk {i}: {done:,} of {n:,} customers, {len(d.orders):,} order lines", flush=True)
        del d, tables
    for w in writers.values():
        w.close()
    tmp.rename(out)


def make_synthetic(n: int, per_customer: float = 8.4, chunk: int = 1_000_000) -> Path:
    """``make_orders.py``'s order log at ``n`` customers, written a million customers at a time."""
    out = BENCH / "data" / f"scale_synth_{n}"
    if (out / "orders.parquet").exists():
        return out
    code = (f"import sys; sys.path.insert(0, {str(BENCH)!r}); import bench_scale as b; "
            f"b._write_synthetic({n}, {per_customer}, {chunk})")
    t = time.perf_counter()
    r = _child(["-c", code])
    print(f"generated {out.relative_to(ROOT)} in {time.perf_counter() - t:.0f} s, peak {r['peak_mb']:,.0f} MB",
          flush=True)
    return out


def _write_synthetic(n: int, per_customer: float, chunk: int) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from make_orders import make
    out = BENCH / "data" / f"scale_synth_{n}"
    tmp = out.with_name(out.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    writer = None
    for i, start in enumerate(range(0, n, chunk)):
        t = make(min(chunk, n - start), per_customer, seed=1 + i)
        ids = pc.binary_join_element_wise(pa.scalar(f"K{i:02d}"), t.column("customer_id").cast(pa.string()), "")
        t = t.set_column(0, "customer_id", ids)
        if writer is None:
            writer = pq.ParquetWriter(tmp / "orders.parquet", t.schema)
        writer.write_table(t, row_group_size=1_000_000)
        print(f"  chunk {i}: {t.num_rows:,} orders", flush=True)
    writer.close()
    tmp.rename(out)


# ---- components (run in a child process) --------------------------------------------------------

def _clean_engine(data: Path, memory_limit: str | None) -> dict:
    import pandas as pd

    from helpers.frame.engine import duckdb_backend
    from helpers.frame.settings import CustomersColumns, OrdersColumns, SourceSpec, defaults
    from helpers.ingest.clean_engine import clean_orders_engine
    from helpers.ingest.rules import clean_customers
    from helpers.ingest.scan import scan_orders
    from helpers.ingest.sources import read_source
    duckdb_backend(memory_limit)
    s, cols = defaults().ingest, defaults().columns.orders
    names = [v for v in cols.model_dump().values() if v]
    t = time.perf_counter()
    known = None
    if (data / "customers.parquet").exists():
        cr = read_source(SourceSpec(path=str(data / "customers.parquet")), ["customer_id"], "customers")
        known = clean_customers(cr.frame, CustomersColumns.minimal(), s, "customers.parquet")[0]["customer_id"]
    else:  # the synthetic log: three columns
        cols = OrdersColumns.minimal()
        names = ["customer_id", "order_ts", "amount"]
    t_c = time.perf_counter() - t
    t = time.perf_counter()
    sc = scan_orders(SourceSpec(path=str(data / "orders.parquet")), names, "orders")
    t_scan = time.perf_counter() - t
    res = clean_orders_engine(sc.table, cols, s, pd.Timestamp(AS_OF), sc.path.name, data / "clean_engine.parquet",
                              known)
    total = time.perf_counter() - t
    return {"seconds": total, "scan_s": t_scan, "customers_table_s": t_c, "rows_read": res.rows_read,
            "rows": res.rows, "findings": len(res.findings), "timings": res.timings}


def _clean_reference(data: Path, memory_limit: str | None) -> dict:
    import pandas as pd

    from helpers.frame.settings import CustomersColumns, SourceSpec, defaults
    from helpers.ingest.rules import clean_customers, clean_orders
    from helpers.ingest.sources import read_source
    s, cols = defaults().ingest, defaults().columns.orders
    names = [v for v in cols.model_dump().values() if v]
    cr = read_source(SourceSpec(path=str(data / "customers.parquet")), ["customer_id"], "customers")
    customers, _ = clean_customers(cr.frame, CustomersColumns.minimal(), s, "customers.parquet")
    t = time.perf_counter()
    rr = read_source(SourceSpec(path=str(data / "orders.parquet")), names, "orders")
    out, f = clean_orders(rr.frame, cols, s, pd.Timestamp(AS_OF), rr.path.name, customers["customer_id"])
    total = time.perf_counter() - t
    out.to_parquet(data / "clean_reference.parquet", index=False)
    return {"seconds": total, "rows_read": rr.rows, "rows": len(out), "findings": len(f)}


_SQL = """
WITH days AS (
    SELECT customer_id AS cid, CAST(order_ts AS DATE) AS day, SUM(CAST(amount AS DECIMAL(38, 6))) AS amount
    FROM read_parquet('{path}') WHERE order_ts < TIMESTAMP '{oend}' GROUP BY 1, 2),
cal AS (
    SELECT cid, count(*) AS n, min(day) AS first_day, max(day) AS last_day,
           CAST(sum(amount) - arg_min(amount, day) AS DOUBLE) AS repeat_spend
    FROM days WHERE day < DATE '{end}' GROUP BY cid),
hold AS (
    SELECT cid, count(*) AS x_holdout, CAST(sum(amount) AS DOUBLE) AS holdout_spend
    FROM days WHERE day >= DATE '{end}' GROUP BY cid)
SELECT cal.cid AS customer_id, n - 1 AS x, date_diff('day', first_day, last_day) / {unit} AS t_x,
       date_diff('day', first_day, DATE '{end}' - 1) / {unit} AS "T",
       CASE WHEN n > 1 THEN repeat_spend / (n - 1) END AS m_x, CAST(first_day AS TIMESTAMP) AS first_purchase,
       coalesce(x_holdout, 0) AS x_holdout, coalesce(holdout_spend, 0.0) AS holdout_spend,
       {hlen} AS holdout_length
FROM cal LEFT JOIN hold ON cal.cid = hold.cid ORDER BY cal.cid
"""


def _aggregation(data: Path, memory_limit: str | None) -> dict:
    """The Ibis summary and the hand-written query, alternately, best of three each."""
    import pandas as pd

    from helpers.frame.engine import duckdb_backend
    from helpers.value.data import calibration_summary_engine
    con = duckdb_backend(memory_limit)
    path = data / "clean_engine.parquet"
    as_of = pd.Timestamp(AS_OF)
    cal_end = as_of - pd.Timedelta(days=182)
    end, oend = cal_end + pd.Timedelta(days=1), as_of + pd.Timedelta(days=1)
    sql = _SQL.format(path=path.as_posix(), oend=oend.date(), end=end.date(), unit=7.0,
                      hlen=(oend - end).days / 7.0)
    ibis_s, sql_s = [], []
    for _ in range(3):
        t = time.perf_counter()
        a = calibration_summary_engine(path, cal_end, as_of, 7.0)
        ibis_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        b = con.con.sql(sql).fetch_arrow_table().to_pandas()
        sql_s.append(time.perf_counter() - t)
    same = (len(a) == len(b) and (a["customer_id"].to_numpy() == b["customer_id"].to_numpy()).all()
            and (a["x"].to_numpy() == b["x"].to_numpy()).all()
            and (a["x_holdout"].to_numpy() == b["x_holdout"].to_numpy()).all())
    return {"seconds": min(ibis_s), "sql_s": min(sql_s), "ibis_all": ibis_s, "sql_all": sql_s,
            "ratio": min(ibis_s) / min(sql_s), "customers": len(a), "same_result": bool(same)}


def _summary_numpy(data: Path, memory_limit: str | None) -> dict:
    import pandas as pd

    from helpers.value.data import calibration_summary, purchase_days
    as_of = pd.Timestamp(AS_OF)
    t = time.perf_counter()
    o = pd.read_parquet(data / "clean_engine.parquet", columns=["customer_id", "order_ts", "amount"])
    t_load = time.perf_counter() - t
    days = purchase_days(o, as_of + pd.Timedelta(days=1))
    s = calibration_summary(days, as_of - pd.Timedelta(days=182), as_of, 7.0)
    return {"seconds": time.perf_counter() - t, "load_s": t_load, "customers": len(s)}


def _tracking_engine(data: Path, memory_limit: str | None) -> dict:
    import pandas as pd

    from helpers.frame.engine import duckdb_backend
    from helpers.value.data import weekly_repeat_purchases
    duckdb_backend(memory_limit)
    as_of = pd.Timestamp(AS_OF)
    weeks = pd.date_range(as_of - pd.Timedelta(days=3 * 365), as_of, freq="7D")
    t = time.perf_counter()
    w = weekly_repeat_purchases(data / "clean_engine.parquet", as_of - pd.Timedelta(days=182), as_of, weeks)
    return {"seconds": time.perf_counter() - t, "weeks": len(w), "repeat_days": int(w[-1])}


def _experiments(data: Path):
    import pandas as pd

    from helpers.frame.settings import ExperimentsColumns, SourceSpec, defaults
    from helpers.ingest.rules import clean_experiments
    from helpers.ingest.sources import read_source
    r = read_source(SourceSpec(path=str(data / "experiments.parquet")), None, "experiments")
    e, _ = clean_experiments(r.frame, ExperimentsColumns.minimal(), defaults().ingest, pd.Timestamp(AS_OF), "e")
    return e


def _outcomes_engine(data: Path, memory_limit: str | None) -> dict:
    from helpers.experiments.outcomes_engine import outcomes_engine
    from helpers.frame.engine import duckdb_backend
    duckdb_backend(memory_limit)
    e = _experiments(data)
    t = time.perf_counter()
    out, _ = outcomes_engine(e, data / "clean_engine.parquet", 28)
    return {"seconds": time.perf_counter() - t, "assignments": len(out)}


def _outcomes_reference(data: Path, memory_limit: str | None) -> dict:
    import pandas as pd

    from helpers.experiments.data import outcomes
    e = _experiments(data)
    t = time.perf_counter()
    o = pd.read_parquet(data / "clean_engine.parquet", columns=["customer_id", "order_ts", "amount", "discount"])
    out, _ = outcomes(e, o, 28)
    return {"seconds": time.perf_counter() - t, "assignments": len(out)}


def _compare(data: Path, memory_limit: str | None) -> dict:
    """Findings and clean orders of the engine against the reference, on one export."""
    import pandas as pd
    ref = pd.read_parquet(data / "clean_reference.parquet")
    eng = pd.read_parquet(data / "clean_engine.parquet")
    try:
        pd.testing.assert_frame_equal(ref, eng, check_dtype=False, check_exact=True)
        same_orders, diff = True, ""
    except AssertionError as e:
        same_orders, diff = False, str(e)[:1500]
    f_ref = json.loads((data / "findings_reference.json").read_text())
    f_eng = json.loads((data / "findings_engine.json").read_text())
    return {"seconds": 0.0, "same_orders": same_orders, "orders_diff": diff, "same_findings": f_ref == f_eng,
            "findings": len(f_ref), "differing": [[a, b] for a, b in zip(f_ref, f_eng, strict=False) if a != b]}


COMPONENTS = {"clean_engine": _clean_engine, "clean_reference": _clean_reference, "aggregation": _aggregation,
              "summary_numpy": _summary_numpy, "tracking_engine": _tracking_engine,
              "outcomes_engine": _outcomes_engine, "outcomes_reference": _outcomes_reference, "compare": _compare}


def _run_component(name: str, data: Path, memory_limit: str | None) -> None:
    out = COMPONENTS[name](data, memory_limit)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out, default=str))


def _child(args: list[str]) -> dict:
    p = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"{args}: failed\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    # generation prints no RESULT: its peak comes from the child's rusage
    return {"peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def component(name: str, data: Path, memory_limit: str | None) -> dict:
    args = [str(Path(__file__)), "--component", name, "--data", str(data)]
    if memory_limit:
        args += ["--memory-limit", memory_limit]
    t = time.perf_counter()
    r = _child(args)
    r["wall"] = time.perf_counter() - t
    print(f"  {name}: {r['seconds']:.1f} s, peak {r['peak_mb']:,.0f} MB", flush=True)
    return r


def compare_findings(data: Path) -> dict:
    """Run both cleanings with their findings saved, then compare (three processes)."""
    code = f"""
import json, sys
sys.path.insert(0, {str(BENCH)!r})
import pandas as pd
from helpers.frame.settings import CustomersColumns, SourceSpec, defaults
from helpers.ingest.clean_engine import clean_orders_engine
from helpers.ingest.rules import clean_customers, clean_orders
from helpers.ingest.scan import scan_orders
from helpers.ingest.sources import read_source
data = __import__('pathlib').Path({str(data)!r})
s, cols = defaults().ingest, defaults().columns.orders
names = [v for v in cols.model_dump().values() if v]
cr = read_source(SourceSpec(path=str(data / 'customers.parquet')), ['customer_id'], 'customers')
customers, _ = clean_customers(cr.frame, CustomersColumns.minimal(), s, 'customers.parquet')
if sys.argv[1] == 'reference':
    rr = read_source(SourceSpec(path=str(data / 'orders.parquet')), names, 'orders')
    out, f = clean_orders(rr.frame, cols, s, pd.Timestamp({AS_OF!r}), rr.path.name, customers['customer_id'])
    out.to_parquet(data / 'clean_reference.parquet', index=False)
else:
    sc = scan_orders(SourceSpec(path=str(data / 'orders.parquet')), names, 'orders')
    f = clean_orders_engine(sc.table, cols, s, pd.Timestamp({AS_OF!r}), sc.path.name,
                            data / 'clean_engine.parquet', customers['customer_id']).findings
(data / f'findings_{{sys.argv[1]}}.json').write_text(json.dumps([vars(x) for x in f], default=str))
print('RESULT {{"seconds": 0}}')
"""
    for side in ("reference", "engine"):
        _child(["-c", code, side])
    return component("compare", data, None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 5_000_000])
    ap.add_argument("--reference-up-to", type=int, default=1_000_000)
    ap.add_argument("--memory-limit", default="4GB", help="DuckDB memory_limit of the engine components")
    ap.add_argument("--compare", type=int, nargs="*", default=[])
    ap.add_argument("--synthetic", type=int, nargs="*", default=[])
    ap.add_argument("--component")
    ap.add_argument("--data")
    a = ap.parse_args()
    if a.component:
        _run_component(a.component, Path(a.data), a.memory_limit)
        return
    sys.path.insert(0, str(BENCH))
    from bench_review import speed_check
    speed = [speed_check()]
    print(f"machine speed check before: {speed[0]:.2f} s", flush=True)
    for n in a.compare:
        data = make_export(n)
        r = compare_findings(data)
        print(f"\ncomparison at {n:,} customers: findings identical {r['same_findings']} ({r['findings']} findings); "
              f"clean orders identical {r['same_orders']}")
        for x, y in r["differing"]:
            print(f"  reference: {x}\n  engine:    {y}")
        if r["orders_diff"]:
            print(r["orders_diff"])
    rows = {}
    for n in a.sizes:
        data = make_export(n)
        print(f"{n:,} customers:", flush=True)
        names = ["clean_engine", "aggregation", "tracking_engine", "outcomes_engine"]
        if n <= a.reference_up_to:
            names += ["clean_reference", "summary_numpy", "outcomes_reference"]
        rows[n] = {c: component(c, data, a.memory_limit) for c in names}
    synth = {}
    for n in a.synthetic:
        data = make_synthetic(n)
        print(f"{n:,} customers, synthetic order log:", flush=True)
        synth[n] = {c: component(c, data, a.memory_limit) for c in ("clean_engine", "aggregation", "tracking_engine")}
    speed.append(speed_check())
    if synth:
        print("\nSynthetic order log (make_orders.py):\n")
        print("| | " + " | ".join(f"{n:,} customers" for n in synth) + " |")
        print("|---|" + "---:|" * len(synth) + "")
        print("| order lines | " + " | ".join(f"{synth[n]['clean_engine']['rows_read']:,}" for n in synth) + " |")
        for c, lab in (("clean_engine", "cleaning on the engine"), ("aggregation", "per-customer summary, Ibis"),
                       ("tracking_engine", "weekly tracking counts")):
            print(f"| {lab}: seconds | " + " | ".join(f"{synth[n][c]['seconds']:.1f}" for n in synth) + " |")
            print(f"| {lab}: peak RSS (MB) | " + " | ".join(f"{synth[n][c]['peak_mb']:,.0f}" for n in synth) + " |")
        print("| per-customer summary, hand-written DuckDB SQL: seconds | "
              + " | ".join(f"{synth[n]['aggregation']['sql_s']:.1f}" for n in synth) + " |")
        print("| **ratio Ibis / hand-written SQL** | "
              + " | ".join(f"**{synth[n]['aggregation']['ratio']:.2f}x**" for n in synth) + " |")
        for n in synth:
            print(f"synthetic {n:,}: cleaning stages " + "; ".join(
                f"{k} {v:.1f}" for k, v in synth[n]["clean_engine"]["timings"].items())
                + f"; aggregation Ibis {[f'{x:.2f}' for x in synth[n]['aggregation']['ibis_all']]}, "
                f"SQL {[f'{x:.2f}' for x in synth[n]['aggregation']['sql_all']]}")
    sizes = list(rows)
    if not sizes:
        print(f"\nmachine speed check (hyp2f1, 10M values, one core): {speed[0]:.2f} s before, {speed[1]:.2f} s after")
        return
    print()
    print("| component | " + " | ".join(f"{n:,} customers" for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    print("| order lines read | " + " | ".join(f"{rows[n]['clean_engine']['rows_read']:,}" for n in sizes) + " |")
    print("| clean orders | " + " | ".join(f"{rows[n]['clean_engine']['rows']:,}" for n in sizes) + " |")
    labels = {"clean_engine": "cleaning on the engine (scan + rules + write)",
              "clean_reference": "cleaning in pandas (read_source + clean_orders)",
              "aggregation": "per-customer summary, Ibis (best of 3)",
              "summary_numpy": "per-customer summary, numpy reference (incl. loading)",
              "tracking_engine": "weekly tracking counts, engine",
              "outcomes_engine": "experiment outcomes, engine",
              "outcomes_reference": "experiment outcomes, pandas reference (incl. loading)"}
    for c, lab in labels.items():
        cells = [rows[n].get(c) for n in sizes]
        print(f"| {lab}: seconds | " + " | ".join(f"{x['seconds']:.1f}" if x else "" for x in cells) + " |")
        print(f"| {lab}: peak RSS (MB) | " + " | ".join(f"{x['peak_mb']:,.0f}" if x else "" for x in cells) + " |")
        if c == "aggregation":
            print("| per-customer summary, hand-written DuckDB SQL (best of 3): seconds | "
                  + " | ".join(f"{rows[n]['aggregation']['sql_s']:.1f}" for n in sizes) + " |")
            print("| **ratio Ibis / hand-written SQL** | "
                  + " | ".join(f"**{rows[n]['aggregation']['ratio']:.2f}x**" for n in sizes) + " |")
    for n in sizes:
        t = rows[n]["clean_engine"]["timings"]
        print(f"\ncleaning at {n:,}: scan {rows[n]['clean_engine']['scan_s']:.1f} s; "
              + "; ".join(f"{k} {v:.1f}" for k, v in t.items()))
        print(f"aggregation at {n:,}: Ibis {[f'{x:.2f}' for x in rows[n]['aggregation']['ibis_all']]}, "
              f"SQL {[f'{x:.2f}' for x in rows[n]['aggregation']['sql_all']]}, "
              f"same result {rows[n]['aggregation']['same_result']}")
    print(f"\nmachine speed check (hyp2f1, 10M values, one core): {speed[0]:.2f} s before, {speed[1]:.2f} s after")


if __name__ == "__main__":
    main()
