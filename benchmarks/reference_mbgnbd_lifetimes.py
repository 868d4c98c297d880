"""Reference numbers for the MBG/NBD test: lifetimes' ModifiedBetaGeoFitter on the CDNOW sample.

Run once, in a throw-away virtual environment (lifetimes is never part of the project's lock):

    python3 -m venv /tmp/value-lifetimes && /tmp/value-lifetimes/bin/pip install lifetimes==0.11.3
    /tmp/value-lifetimes/bin/python benchmarks/reference_mbgnbd_lifetimes.py

It builds the calibration summary with lifetimes' own function (CDNOW sample, purchase days up to
1997-09-30, in weeks: the data of Fader, Hardie & Lee 2005), fits MBG/NBD and prints the estimates,
the log-likelihood and a few conditional predictions as JSON; tests/unit/test_clv_models.py holds
the numbers and checks segreview's fit and formulas against them. It does not import segreview.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from lifetimes import ModifiedBetaGeoFitter
from lifetimes.utils import summary_data_from_transaction_data

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    raw = pd.read_csv(ROOT / "data/external/CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master_id", "customer_id", "date", "cds", "amount"], dtype=str)
    tx = pd.DataFrame({"customer_id": raw["customer_id"], "date": pd.to_datetime(raw["date"], format="%Y%m%d")})
    tx = tx[tx["date"] <= "1997-09-30"]
    s = summary_data_from_transaction_data(tx, "customer_id", "date", freq="D",
                                           observation_period_end="1997-09-30")
    x, t_x, T = s["frequency"], s["recency"] / 7.0, s["T"] / 7.0
    m = ModifiedBetaGeoFitter().fit(x, t_x, T)
    params = {k: float(v) for k, v in m.params_.items()}
    # lifetimes' log-likelihood of the whole sample (its objective is the mean negative log-likelihood)
    w = np.ones(len(s))
    ll = -float(m._negative_log_likelihood(np.log(list(params.values())), x.to_numpy(), t_x.to_numpy(),
                                           T.to_numpy(), w, 0.0)) * len(s)
    probes = [(0, 0.0, 38.86), (0, 0.0, 20.0), (2, 30.43, 38.86), (7, 35.0, 38.86), (1, 2.0, 30.0)]
    px, ptx, pT = (np.array(v, float) for v in zip(*probes, strict=True))
    out = {
        "lifetimes": "0.11.3", "customers": int(len(s)), "repeat_buyers": int((x > 0).sum()),
        "sum_x": int(x.sum()), "params": params, "log_likelihood": ll,
        "probes": [{"x": a, "t_x": b, "T": c} for a, b, c in probes],
        "p_alive": [float(v) for v in m.conditional_probability_alive(px, ptx, pT)],
        "expected_39": [float(v) for v in m.conditional_expected_number_of_purchases_up_to_time(39.0, px, ptx, pT)],
        "unconditional_39": float(m.expected_number_of_purchases_up_to_time(39.0)),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
