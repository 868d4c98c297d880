"""Why clv.min_customers is 200: how BG/NBD fits behave on small customer bases (a simulation study).

Usage: .venv/bin/python benchmarks/study_clv_min_customers.py [REPLICATIONS]      (default 150)

For each base size, REPLICATIONS bases of CDNOW-like customers (the published BG/NBD estimates of
Fader, Hardie & Lee 2005: r 0.243, alpha 4.414, a 0.793, b 2.426; 26 to 39 weeks since the first
purchase, as in the CDNOW calibration period) are simulated and fitted. The table gives the median
number of repeat buyers, the share of fits that do not converge (CLVFitError: the edge of the
parameter space, a singular Hessian) and, for the others, the median and 90th percentile of the
relative error of the expected purchases of a new customer over 52 weeks against the truth. The
result is in benchmarks/RESULTS.md ("CLV: minimum number of customers"). Not timed.
"""

from __future__ import annotations

import sys

import numpy as np

from helpers.demo.simulate import simulate_bgnbd
from helpers.value import model as clv

TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def uncond(p: dict, t: float = 52.0) -> float:
    z = np.zeros(1)
    return float(clv.expected_purchases("BG/NBD", p, t, z, z, z)[0])


def main(reps: int = 150) -> None:
    true_e = uncond(TRUTH)
    print(f"{'customers':>10} {'repeat buyers (median)':>23} {'fits failing':>13} {'median error':>13} "
          f"{'p90 error':>10}")
    for n in (30, 50, 100, 200, 400, 1000):
        fails, errs, reps_ = 0, [], []
        for i in range(reps):
            rng = np.random.default_rng(i)
            s = simulate_bgnbd(n, **TRUTH, T=rng.uniform(26, 39, n), seed=1000 + i)
            reps_.append(int((s["x"] > 0).sum()))
            try:
                f = clv.fit_bgnbd(s["x"], s["t_x"], s["T"])
            except clv.CLVFitError:
                fails += 1
                continue
            errs.append(abs(uncond(f.params) / true_e - 1))
        e = np.array(errs)
        print(f"{n:>10} {np.median(reps_):>23.0f} {fails / reps:>13.0%} {np.median(e):>13.1%} "
              f"{np.quantile(e, 0.9):>10.1%}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 150)
