"""Benchmark: CLV fitting and scoring, segreview against lifetimes 0.11.3 (its own virtual env).

Usage:
    python3 -m venv benchmarks/.venv-lifetimes && benchmarks/.venv-lifetimes/bin/pip install lifetimes==0.11.3 pyarrow
    .venv/bin/python benchmarks/bench_clv.py [N_SYNTHETIC]        (default 1,000,000)

Data: CDNOW (all 23,570 customers, weeks, history to 1998-06-30) and N synthetic BG/NBD /
Gamma-Gamma customers (helpers.demo.simulate.simulate_bgnbd, T uniform over 13-156 weeks). Both tools get
the same (x, t_x, T, m_x) table. Times: BG/NBD + Gamma-Gamma fit; scoring = P(alive), expected
purchases and 12-month discounted CLV for every customer; segreview also draws 200 parameter sets
for the intervals (lifetimes has none). Each tool in its own process; peak RSS is that process's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

OURS = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
from helpers.value import model as clv, step as clv_step
from helpers.frame.settings import defaults
s = pd.read_parquet(sys.argv[1])
t = time.perf_counter()
f = clv.fit_bgnbd(s["x"], s["t_x"], s["T"])
g = clv.fit_gammagamma(s["x"], s["m_x"])
fit = time.perf_counter() - t
t = time.perf_counter()
fw = clv_step.score(s, f, g, defaults().clv.replace(n_draws=200), seed=1)
sc = time.perf_counter() - t
print(json.dumps({"fit": fit, "score": sc, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "r": f.params["r"], "clv_total": float(fw.scores["clv"].sum()), "n_unique": f.n_unique}))
"""

LIFETIMES = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
s = pd.read_parquet(sys.argv[1])
t = time.perf_counter()
bg = BetaGeoFitter().fit(s["x"], s["t_x"], s["T"])
rep = s[s["x"] > 0]
gg = GammaGammaFitter().fit(rep["x"], rep["m_x"])
fit = time.perf_counter() - t
t = time.perf_counter()
pa = bg.conditional_probability_alive(s["x"], s["t_x"], s["T"])
ex = bg.conditional_expected_number_of_purchases_up_to_time(52.18, s["x"], s["t_x"], s["T"])
m = s["m_x"].fillna(0.0)
v = gg.customer_lifetime_value(bg, s["x"], s["t_x"], s["T"], m, time=12, discount_rate=0.1 / 12, freq="W")
sc = time.perf_counter() - t
print(json.dumps({"fit": fit, "score": sc, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "r": float(bg.params_["r"]), "clv_total": float(v.sum())}))
"""


def tables(n_synth: int, d: Path) -> list[tuple[str, Path]]:
    sys.path.insert(0, str(ROOT / "src"))
    import numpy as np
    import pandas as pd

    from helpers.demo.simulate import simulate_bgnbd, simulate_gammagamma
    from helpers.value import data as clv_data
    raw = pd.read_csv(ROOT / "data/external/CDNOW_master.txt", sep=r"\s+", dtype=str)
    o = pd.DataFrame({"customer_id": raw["customer_id"], "order_ts": pd.to_datetime(raw["date"], format="%Y%m%d"),
                      "amount": raw["dollar_value"].astype(float)})
    o = o[o["amount"] > 0]
    cd = clv_data.calibration_summary(o, pd.Timestamp("1998-06-30"))
    p1 = d / "cdnow.parquet"
    cd[["x", "t_x", "T", "m_x"]].assign(customer_id=cd["customer_id"]).to_parquet(p1)
    rng = np.random.default_rng(7)
    sim = simulate_bgnbd(n_synth, 0.6, 6.0, 0.8, 3.0, T=rng.uniform(13, 156, n_synth).round(0) / 1.0, seed=8)
    sim["T"] = (sim["T"] * 7).round() / 7
    sim["t_x"] = np.minimum((sim["t_x"] * 7).round() / 7, sim["T"])   # day resolution, like real data
    sim["m_x"] = simulate_gammagamma(sim["x"].to_numpy(), 5.0, 4.0, 60.0, seed=9)
    sim["customer_id"] = [f"S{i:07d}" for i in range(n_synth)]
    p2 = d / "synthetic.parquet"
    sim[["customer_id", "x", "t_x", "T", "m_x"]].to_parquet(p2)
    return [(f"CDNOW ({len(cd):,} customers)", p1), (f"synthetic ({n_synth:,} customers)", p2)]


def main(n_synth: int) -> None:
    lt = ROOT / "benchmarks/.venv-lifetimes/bin/python"
    with tempfile.TemporaryDirectory() as d:
        data = tables(n_synth, Path(d))
        print(
            "| data | tool | fit BG/NBD + Gamma-Gamma (s) | scoring (s) | peak RSS (MB) | unique histories "
            "| total 12-month CLV |"
        )
        print("|---|---|---:|---:|---:|---:|---:|")
        for label, path in data:
            for tool, py, code in (("segreview (200 draws for intervals)", ROOT / ".venv/bin/python", OURS),
                                   ("lifetimes 0.11.3 (no intervals)", lt, LIFETIMES)):
                if not py.exists():
                    print(f"| {label} | {tool} | not run ({py} missing) | | | | |")
                    continue
                try:
                    out = subprocess.run([str(py), "-c", code, str(path)], capture_output=True, text=True, timeout=1800)
                except subprocess.TimeoutExpired:
                    print(f"| {label} | {tool} | over 30 minutes | | | | |", flush=True)
                    continue
                if out.returncode:
                    print(
                        f"| {label} | {tool} | failed: {out.stderr.strip().splitlines()[-1][:90]} | | | | |", flush=True
                    )
                    continue
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"| {label} | {tool} | {r['fit']:.2f} | {r['score']:.2f} | {r['peak_mb']:,.0f} | "
                      f"{r.get('n_unique', '')!s} | {r['clv_total']:,.0f} |", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
