"""Benchmark: the customer-value step at 1M customers, before and after MBG/NBD and the model choice
(issue 17, point 4), and its contractual part at 1M subscribers.

Usage:
    .venv/bin/python benchmarks/bench_clv_models.py noncontractual [N_CUSTOMERS] [--base COMMIT] [--rounds 3]
    .venv/bin/python benchmarks/bench_clv_models.py contractual [N_SUBSCRIBERS] [--rounds 3]

noncontractual: an order log of N customers (default 1,000,000) drawn from a BG/NBD process (first
purchases over 2.5 years, Gamma spend; about 4.7 orders per customer) is written to Parquet, then the
step's computation runs in a fresh process per measurement, alternating the code **before** (commit
``--base``, default e28dc7b, the branch point: BG/NBD and Pareto/NBD in the backtest, BG/NBD forward)
and **after** (this tree: three models, the holdout choice, the one-time-buyer check, the activity
numbers), ``--rounds`` times each (3); the ratio of medians is the comparison (wall time in the step and
the process's CPU time, which a busy machine disturbs less). Both do what their notebook computes:
purchase days, the backtest, the tracking curve, the forward fit with 200 parameter draws and the
``clv.json`` summary; figures are not drawn.
The old code runs from ``git archive <base> src params`` in a temporary folder.

contractual: N subscribers (default 1,000,000) of a monthly subscription book (acquired over 6.75
years, cohorts by year each with its own sBG, a churn label), payments written to Parquet (about 14
payments per subscriber), then ``helpers.value.run`` in contractual mode: renewal periods from the
payments on DuckDB, the retention backtest (sBG, BdW and the geometric baseline, by cohort), the
forward fit by cohort and every subscriber's value with 200 parameter draws, and the summary.

Each measurement prints wall seconds and the process's peak RSS; the script prints the machine speed
check (scipy's hyp2f1 on 10M values, one core) before and after. Record the tables in RESULTS.md and
say whether the machine was shared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-09-30"


def speed_check() -> float:
    """Seconds for 10M evaluations of scipy's hyp2f1 on one core (about 3.6 s fast, 4.3 s slow)."""
    from scipy.special import hyp2f1
    x = np.linspace(0.01, 0.9, 10_000_000)
    t = time.perf_counter()
    hyp2f1(1.5, 2.5, 3.5, x)
    return time.perf_counter() - t


def bgnbd_orders(n: int, path: Path, seed: int = 7) -> int:
    """An order log of ``n`` BG/NBD customers (weekly rate Gamma(0.75, 6), dropout Beta(0.8, 4)) to Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(seed)
    end = np.datetime64(AS_OF) + np.timedelta64(1, "D")
    span = 912.0                                           # days of history before the as-of date
    first = rng.uniform(0, span, n)
    lam = rng.gamma(0.75, 1 / 6.0, n) / 7.0                # per day
    k = np.minimum(rng.geometric(rng.beta(0.8, 4.0, n)), 200)  # repeat purchases before dropout
    cust = np.repeat(np.arange(n), k)
    gaps = rng.exponential(1.0, len(cust)) / lam[cust]
    cs = np.cumsum(gaps)
    starts = np.r_[0, np.cumsum(k)[:-1]]
    t = first[cust] + cs - np.repeat(cs[starts] - gaps[starts], k)   # cumulative gaps within each customer
    keep = t < span
    days = np.r_[first, t[keep]]
    who = np.r_[np.arange(n), cust[keep]]
    nu = rng.gamma(4.0, 1 / 120.0, n)
    amount = np.round(rng.gamma(6.0, 1 / nu[who]), 2)
    ts = end - np.timedelta64(int(span * 86400), "s") + (days * 86400).astype("timedelta64[s]")
    ids = np.char.add("C", np.char.zfill(np.arange(n).astype(str), 7))
    col = pa.DictionaryArray.from_arrays(pa.array(who.astype(np.int32)), pa.array(ids)).cast(pa.string())
    pq.write_table(pa.table({"customer_id": col, "order_ts": pa.array(ts.astype("datetime64[us]")),
                             "amount": pa.array(amount)}), path, row_group_size=1_000_000)
    return len(who)


def subscription_book(n: int, folder: Path, seed: int = 11) -> int:
    """Payments (Parquet) and churn labels (Parquet) of ``n`` monthly subscribers with a known sBG by cohort."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(seed)
    start, end = np.datetime64("2020-01-01"), np.datetime64(AS_OF)
    span = int((end - start).astype(int))
    join = np.sort(np.floor(span * rng.beta(1.5, 1.0, n)).astype(int))
    signup = start + join.astype("timedelta64[D]")
    year = signup.astype("datetime64[Y]").astype(int) + 1970
    ab = {2020: (0.55, 14.0), 2021: (0.6, 13.0), 2022: (0.65, 12.0), 2023: (0.7, 11.0), 2024: (0.75, 10.0),
          2025: (0.8, 9.5), 2026: (0.85, 9.0)}
    a = np.array([ab[y][0] for y in year])
    b = np.array([ab[y][1] for y in year])
    theta = rng.beta(a, b)
    life = np.maximum(np.ceil(np.log(rng.random(n)) / np.log1p(-theta)), 1).astype(np.int64)
    current = np.floor((end - signup).astype(int) / 30.436875).astype(np.int64) + 1   # the period of the as-of date
    churned = life < current
    paid = np.where(churned, life, current)
    cust = np.repeat(np.arange(n), paid)
    k = np.arange(paid.sum()) - np.repeat(np.cumsum(paid) - paid, paid)
    when = pd.DatetimeIndex(signup[cust]) + pd.to_timedelta(k * 30.436875, unit="D")
    price = np.round(rng.uniform(20, 120, n), 1)
    ids = np.char.add("S", np.char.zfill(np.arange(n).astype(str), 7))
    col = pa.DictionaryArray.from_arrays(pa.array(cust.astype(np.int32)), pa.array(ids)).cast(pa.string())
    keep = when <= pd.Timestamp(AS_OF) + pd.Timedelta(hours=23)
    pq.write_table(pa.table({"customer_id": col.filter(pa.array(keep)),
                             "order_ts": pa.array(when[keep].to_numpy().astype("datetime64[us]")),
                             "amount": pa.array(price[cust][keep])}), folder / "payments.parquet",
                   row_group_size=1_000_000)
    pq.write_table(pa.table({"customer_id": pa.array(ids), "churned": pa.array(np.where(churned, "Yes", "No"))}),
                   folder / "customers.parquet")
    return int(keep.sum())


OLD = r"""
import json, resource, sys, time
import pandas as pd
t0 = time.perf_counter()
from helpers import value as vl
from helpers.frame.settings import defaults
cfg = defaults()
as_of = pd.Timestamp(sys.argv[2])
orders = pd.read_parquet(sys.argv[1], columns=["customer_id", "order_ts", "amount"])
days = vl.purchase_days(orders, as_of)
bt = vl.backtest(days, as_of, cfg.clv)
tr = vl.tracking(days, bt, cfg.clv)
fw = vl.forward(days, as_of, cfg.clv, cfg.seed, {})
m = vl.p_alive_matrix(fw.summary, fw.scores["p_alive"].to_numpy())
s = vl.clv_summary(bt, fw, cfg.clv, vl.top_share(fw.scores["clv"]))
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": time.perf_counter() - t0, "peak_mb": u.ru_maxrss / 1024, "cpu": u.ru_utime + u.ru_stime,
                  "model": s["model"],
                  "clv_total": s["totals"]["clv_total"], "customers": s["totals"]["customers"]}))
"""

NEW = r"""
import json, resource, sys, time
import pandas as pd
t0 = time.perf_counter()
from helpers import value as vl
from helpers.frame.settings import defaults
cfg = defaults()
customers = pd.read_parquet(sys.argv[3]) if len(sys.argv) > 3 else None
business = cfg.business.replace(model="contractual") if customers is not None else cfg.business
res = vl.run(sys.argv[1], customers, pd.Timestamp(sys.argv[2]), business, cfg.clv, cfg.seed, {}, "CNY")
s = vl.summary(res)
u = resource.getrusage(resource.RUSAGE_SELF)
out = {"seconds": time.perf_counter() - t0, "peak_mb": u.ru_maxrss / 1024, "cpu": u.ru_utime + u.ru_stime,
       "model": s["model"], "available": s["available"], "clv_total": s["totals"].get("clv_total"),
       "customers": s["totals"].get("customers")}
if res.contractual:
    out.update({"active": s["totals"]["active_subscribers"], "residual_value": s["totals"].get("residual_value_total"),
                "backtest_error": s["backtest"].get("verdict")})
print(json.dumps(out))
"""


def measure(code: str, args: list[str], src: Path, root: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "SEGREVIEW_ROOT": str(root), "OMP_NUM_THREADS": "2"}
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=root)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["wall"] = time.perf_counter() - t
    return r


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "noncontractual"
    n = int(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else 1_000_000
    base = sys.argv[sys.argv.index("--base") + 1] if "--base" in sys.argv else "e28dc7b"
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    speed = [speed_check()]
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as d:
        d = Path(d)
        if what == "noncontractual":
            rows = bgnbd_orders(n, d / "orders.parquet")
            print(f"{n:,} customers, {rows:,} orders")
            old = d / "base"
            old.mkdir()
            subprocess.run(f"git -C {ROOT} archive {base} src params | tar -x -C {old}", shell=True, check=True)
            results = []
            for rnd in range(rounds):
                for name, code, src, root in (("before", OLD, old / "src", old), ("after", NEW, ROOT / "src", ROOT)):
                    r = measure(code, [str(d / "orders.parquet"), AS_OF], src, root)
                    results.append((name, rnd, r))
                    print(f"{name:>6} run {rnd + 1}: {r['seconds']:7.1f} s in the step ({r['cpu']:.1f} s CPU, "
                          f"{r['wall']:.1f} s wall, {r['peak_mb']:,.0f} MB peak), model {r['model']}, "
                          f"CLV total {r['clv_total']:,.0f}", flush=True)
            for key, what_ in (("seconds", "seconds in the step"), ("cpu", "CPU seconds")):
                b = [r[key] for nm, _, r in results if nm == "before"]
                a = [r[key] for nm, _, r in results if nm == "after"]
                print(f"after / before, {what_}: {np.median(a) / np.median(b):.2f} (medians of {rounds}), "
                      f"{min(a) / min(b):.2f} (best of {rounds})")
        else:
            rows = subscription_book(n, d)
            print(f"{n:,} subscribers, {rows:,} payments")
            for rnd in range(rounds):
                r = measure(NEW, [str(d / "payments.parquet"), AS_OF, str(d / "customers.parquet")], ROOT / "src",
                            ROOT)
                print(f"run {rnd + 1}: {r['seconds']:.1f} s ({r['cpu']:.1f} s CPU, {r['wall']:.1f} s wall), peak "
                      f"{r['peak_mb']:,.0f} MB; "
                      f"model {r['model']}, {r['active']:,} active, 12-month value {r['clv_total']:,.0f}, residual "
                      f"{r['residual_value']:,.0f}; {r['backtest_error']}", flush=True)
    speed.append(speed_check())
    print(f"machine speed check (hyp2f1, 10M values, one core): {speed[0]:.2f} s before, {speed[1]:.2f} s after; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
