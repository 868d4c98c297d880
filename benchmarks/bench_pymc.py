"""Benchmark: BG/NBD on the CDNOW 1/10 sample with pymc-marketing 0.19.2 (MAP) against segreview.

Usage:
    python3 -m venv benchmarks/.venv-pymc && benchmarks/.venv-pymc/bin/pip install pymc-marketing==0.19.2 pyarrow
    .venv/bin/python benchmarks/bench_pymc.py

Same (x, t_x, T) table (weeks, calibration 1997-01-01..1997-09-30, one purchase per customer-day)
for both; pymc-marketing runs in its own process and virtual environment; its time includes
building and compiling the model, as a user's first fit in a fresh session does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PYMC = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
t0 = time.perf_counter()
import pandas as pd
from pymc_marketing import clv
s = pd.read_parquet(sys.argv[1])
data = pd.DataFrame({"customer_id": range(len(s)), "frequency": s["x"], "recency": s["t_x"], "T": s["T"]})
t = time.perf_counter()
m = clv.BetaGeoModel(data=data)
m.fit(fit_method="map")
fit = time.perf_counter() - t
post = m.idata.posterior
p = {k: float(post[k].values.ravel()[0]) for k in ("r", "alpha", "a", "b")}
print(json.dumps({"fit": fit, "total": time.perf_counter() - t0, **p}))
"""


def main() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    import pandas as pd

    from helpers.value import data as clv
    from helpers.value import model as clv_model
    d = pd.read_csv(ROOT / "data/external/CDNOW_sample.txt", sep=r"\s+", header=None,
                    names=["mid", "customer_id", "date", "cds", "amount"], dtype=str)
    o = pd.DataFrame({"customer_id": d["customer_id"], "order_ts": pd.to_datetime(d["date"], format="%Y%m%d"),
                      "amount": d["amount"].astype(float)})
    s = clv.calibration_summary(o, pd.Timestamp("1997-09-30"))
    t = time.perf_counter()
    f = clv_model.fit_bgnbd(s["x"], s["t_x"], s["T"])
    ours = time.perf_counter() - t
    print("| tool | r | alpha | a | b | standard errors | fit (s) |")
    print("|---|---:|---:|---:|---:|---|---:|")
    print("| published (Fader, Hardie & Lee 2005) | 0.243 | 4.414 | 0.793 | 2.426 | | |")
    print(
        f"| segreview (MLE) | {f.params['r']:.3f} | {f.params['alpha']:.3f} | {f.params['a']:.3f} | "
        f"{f.params['b']:.3f} | yes: {f.se['r']:.3f}, {f.se['alpha']:.3f}, {f.se['a']:.3f}, {f.se['b']:.3f} "
        f"| {ours:.2f} |"
    )
    py = ROOT / "benchmarks/.venv-pymc/bin/python"
    if not py.exists():
        print(f"| pymc-marketing 0.19.2 | not run: {py} missing | | | | | |")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.parquet"
        s.to_parquet(path)
        out = subprocess.run([str(py), "-c", PYMC, str(path)], capture_output=True, text=True, timeout=1200)
    if out.returncode:
        print(f"| pymc-marketing 0.19.2 | failed: {out.stderr.strip().splitlines()[-1][:100]} | | | | | |")
        return
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"| pymc-marketing 0.19.2 (MAP, default priors) | {r['r']:.3f} | {r['alpha']:.3f} | {r['a']:.3f} "
        f"| {r['b']:.3f} | "
        f"no (MAP) | {r['fit']:.1f} (process total with imports {r['total']:.1f}) |"
    )


if __name__ == "__main__":
    main()
