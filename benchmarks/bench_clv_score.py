"""Benchmark: 30_clv's scoring (5M customers x 200 parameter draws, issue 21), blocks against the reference.

Usage:
    .venv/bin/python benchmarks/make_orders.py 2000000 8.4 /tmp/orders_2m.parquet
    .venv/bin/python benchmarks/bench_clv_score.py /tmp/orders_2m.parquet [--reps 1] [--model bgnbd]

The all-history summary to 2026-09-30 and the purchase model (default BG/NBD) + Gamma-Gamma are
computed once and cached next to the orders (``<orders>.score.pkl``); then ``score_reference`` (every
unique history's draws in memory at once) and ``score`` (blocks of at most ``block_values / n_draws``
unique histories) are timed alternately, each in its own process, with two groupings (11 and 5
groups, random) as the page has. Peak memory: the highest RSS sampled every 20 ms during the call,
minus the RSS before it. The two results are checked identical bit for bit. Prints a table and the
machine's speed check (``bench_review.speed_check``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PREP = r"""
import pickle, sys
import numpy as np, pandas as pd
from helpers.frame.settings import defaults
from helpers.value import data as d, model as clv
from helpers.value.step import _orders_on_engine
path, out, key = sys.argv[1], sys.argv[2], sys.argv[3]
st = defaults().clv
as_of = pd.Timestamp("2026-09-30")
days = d.engine_purchase_days(_orders_on_engine(path), as_of + pd.Timedelta(days=1))
s = d.calibration_summary_engine(days, as_of, None, st.unit_days)
days.release()
fit = clv.MODELS[key][1](s["x"], s["t_x"], s["T"])
gg = clv.fit_spend(s["x"], s["m_x"])
for f in (fit, gg):
    f.extra.clear()
rng = np.random.default_rng(0)
ids = s["customer_id"].astype(str).to_numpy()
groupings = {"rfm_segment": pd.Series(rng.choice([f"s{i}" for i in range(11)], len(s)), index=ids),
             "cluster": pd.Series(rng.choice([f"c{i}" for i in range(5)], len(s)), index=ids)}
with open(out, "wb") as fh:
    pickle.dump({"s": s[["customer_id", "x", "t_x", "T", "m_x"]], "fit": fit, "gg": gg, "groupings": groupings}, fh)
"""

RUN = r"""
import hashlib, json, os, pickle, sys, threading, time
import numpy as np, pandas as pd
from helpers.frame.settings import defaults
from helpers.value import noncontractual as nc
d = pickle.load(open(sys.argv[1], "rb"))
fn = {"reference": nc.score_reference, "blocks": nc.score}[sys.argv[2]]
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
peak, done = [0], threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss()); time.sleep(0.02)
base = rss()
th = threading.Thread(target=sample, daemon=True); th.start()
t = time.perf_counter()
fw = fn(d["s"], d["fit"], d["gg"], defaults().clv, 42, d["groupings"])
sec = time.perf_counter() - t
done.set(); th.join()
h = hashlib.sha256()
h.update(pd.util.hash_pandas_object(fw.scores, index=False).to_numpy().tobytes())
for k, v in sorted(fw.totals.items()):
    h.update((k + (v.to_json() if isinstance(v, pd.DataFrame) else repr(v))).encode())
print(json.dumps({"seconds": sec, "peak_mb": (max(peak[0], rss()) - base) / 2**20, "digest": h.hexdigest(),
                  "customers": fw.totals["customers"], "unique": fw.totals["n_unique_histories"]}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("orders")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--model", default="bgnbd")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_review import speed_check
    py = str(ROOT / ".venv" / "bin" / "python")
    cache = Path(f"{a.orders}.{a.model}.score.pkl")
    if not cache.exists():
        subprocess.run([py, "-c", PREP, a.orders, str(cache), a.model], check=True)
    before = speed_check()
    rows = []
    for _ in range(a.reps):
        for mode in ("reference", "blocks"):
            out = subprocess.run([py, "-c", RUN, str(cache), mode], check=True, capture_output=True, text=True)
            rows.append({"mode": mode, **json.loads(out.stdout.strip().splitlines()[-1])})
            print(rows[-1], flush=True)
    after = speed_check()
    print(f"\nspeed check before {before:.2f} s, after {after:.2f} s (smaller is faster)")
    print(f"{'mode':<10} {'customers':>10} {'unique':>10} {'seconds':>8} {'peak MB':>8}  digest")
    for r in rows:
        print(f"{r['mode']:<10} {r['customers']:>10,} {r['unique']:>10,} {r['seconds']:>8.1f} {r['peak_mb']:>8.0f}  "
              f"{r['digest'][:16]}")
    digests = {r["digest"] for r in rows}
    print("results identical bit for bit" if len(digests) == 1 else "RESULTS DIFFER")


if __name__ == "__main__":
    main()
