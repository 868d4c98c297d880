"""A synthetic telecom-like subscription book with known churn effects (tests and benchmarks).

Built from public knowledge of what a telecom churn book looks like (about twenty mixed attributes:
contract type, internet service, add-ons, payment method, charges, tenure...), not from any data set.
Each subscriber's time to cancelling is a discrete Weibull with a falling hazard (subscribers who
stay past the first months settle in) and a scale set by a known linear function of the attributes
(:data:`EFFECTS`: month-to-month contracts, fibre, electronic cheques, senior citizens, paperless
billing and high charges raise the risk; long contracts, partners, dependants, security and tech
support lower it) plus unobserved heterogeneity. Subscribers sign up over six years; the book at
the as-of date holds those still subscribed :data:`WINDOW` months before it (or who joined since),
enriched in leavers as public telecom samples are (about 27% leavers), and ``churned`` says who
cancelled in the window. Attributes come back as a CSV reader hands them over: text, with blanks in
``total_charges`` (subscribers who joined in the last fortnight), thousands separators and stray
spaces in the charges, ``0/1`` and ``Yes/No``
flags, a 200-level ``city`` and a unique ``account_no``.

Payments: one per paid month from sign-up to cancellation (or the as-of date); risky subscribers
sometimes skip a month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

AS_OF = pd.Timestamp("2026-09-30")
#: Days in a month (payments are monthly).
MONTH_DAYS = 30.4375
#: Months of the label: ``churned`` = cancelled in the last WINDOW months before the as-of date.
WINDOW = 3
#: Stayers kept per leaver (about 27% leavers, as in public telecom churn samples).
STAYERS_PER_LEAVER = 2.7

#: The planted effects on the log-scale of the cancellation hazard (the truth the drivers should find).
EFFECTS = {"intercept": -5.3, "month_to_month": 3.0, "one_year": 1.3, "fiber": 0.9, "no_internet": -0.8,
           "electronic_check": 0.6, "senior": 0.35, "partner": -0.25, "dependents": -0.2, "paperless": 0.3,
           "online_security": -0.45, "tech_support": -0.45, "charges_per_10": 0.06, "heterogeneity_sd": 0.5,
           "weibull_shape": 0.5}

_SERVICES = [("online_security", 0.37), ("online_backup", 0.44), ("device_protection", 0.44),
             ("tech_support", 0.37), ("streaming_tv", 0.49), ("streaming_movies", 0.5)]


def _draw(m: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``m`` subscribers ever signed up; the ones in the book (see the module docstring)."""
    E = EFFECTS
    a: dict[str, np.ndarray] = {}
    a["gender"] = rng.choice(["Female", "Male"], m)
    a["senior"] = rng.random(m) < 0.16
    a["partner"] = rng.random(m) < 0.48
    a["dependents"] = a["partner"] & (rng.random(m) < 0.6) | (rng.random(m) < 0.05)
    a["phone"] = rng.random(m) < 0.9
    a["internet"] = rng.choice(["DSL", "Fiber optic", "No"], m, p=[0.34, 0.44, 0.22])
    has_net = a["internet"] != "No"
    a["contract"] = rng.choice(["Month-to-month", "One year", "Two year"], m, p=[0.55, 0.21, 0.24])
    a["paperless"] = rng.random(m) < 0.59
    a["pay"] = rng.choice(["Electronic check", "Mailed check", "Bank transfer (automatic)",
                           "Credit card (automatic)"], m, p=[0.34, 0.23, 0.22, 0.21])
    for k, q in _SERVICES:
        a[k] = has_net & (rng.random(m) < q)
    a["multiple"] = a["phone"] & (rng.random(m) < 0.47)
    a["charges"] = (20 * a["phone"] + 5 * a["multiple"]
                    + np.select([a["internet"] == "DSL", a["internet"] == "Fiber optic"], [25, 50], 0)
                    + 5 * sum(a[k] for k, _ in _SERVICES) + rng.normal(0, 3, m)).clip(18.25, 120)
    eta = (E["intercept"] + E["month_to_month"] * (a["contract"] == "Month-to-month")
           + E["one_year"] * (a["contract"] == "One year") + E["fiber"] * (a["internet"] == "Fiber optic")
           + E["no_internet"] * (a["internet"] == "No") + E["electronic_check"] * (a["pay"] == "Electronic check")
           + E["senior"] * a["senior"] + E["partner"] * a["partner"] + E["dependents"] * a["dependents"]
           + E["paperless"] * a["paperless"] + E["online_security"] * a["online_security"]
           + E["tech_support"] * a["tech_support"] + E["charges_per_10"] * (a["charges"] - 65) / 10
           + rng.normal(0, E["heterogeneity_sd"], m))
    a["hazard"] = expit(eta)
    a["start"] = rng.uniform(0, 72, m)                          # months before the as-of date
    life = np.ceil((-np.log(rng.random(m)) / a["hazard"]) ** (1 / E["weibull_shape"]))
    end = a["start"] - life                                     # months before as-of at cancelling (< 0: still on)
    keep = end < WINDOW
    churned = keep & (end >= 0)
    stay = min(1.0, STAYERS_PER_LEAVER * churned.sum() / max((keep & ~churned).sum(), 1))
    keep &= churned | (rng.random(m) < stay)
    a["churned"] = churned
    # months billed: a leaver paid ``life`` months, a stayer every month begun since signing up
    a["tenure"] = np.where(end >= 0, life, np.ceil(a["start"])).astype(int)
    a["new"] = (end < 0) & (a["start"] < 0.5)                  # joined in the last fortnight: not yet totalled
    city_p = 1.0 / np.arange(1, 201) ** 1.1
    a["city"] = np.array([f"City {i:03d}" for i in range(200)])[rng.choice(200, m, p=city_p / city_p.sum())]
    a["total"] = a["charges"] * a["tenure"] * rng.normal(1.0, 0.02, m)
    return {k: v[keep] for k, v in a.items()}


def telecom_book(n: int, seed: int, as_of: pd.Timestamp = AS_OF, payments: bool | str = True,
                 text: bool = True) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``(customers, payments)`` of a synthetic telecom book of ``n`` subscribers.

    Parameters
    ----------
    n : int
        Subscribers in the book.
    seed : int
    as_of : Timestamp
    payments : bool or "arrow"
        Also build the payments table (``customer_id``, ``order_ts``, ``amount``); ``"arrow"``: as a
        pyarrow Table with dictionary-encoded ids (tens of millions of rows without a Python string each).
    text : bool
        Attributes as text, the way a CSV export arrives (else numbers and flags typed).
    """
    rng = np.random.default_rng(seed)
    parts, have = [], 0
    while have < n:
        d = _draw(min(max(16 * (n - have), 1000), 2_000_000), rng)     # about 6% of those drawn are kept
        parts.append(d)
        have += len(d["churned"])
    a = {k: np.concatenate([p[k] for p in parts])[:n] for k in parts[0]}

    def yn(v):
        return np.where(v, "Yes", "No")

    has_net = a["internet"] != "No"
    c = pd.DataFrame({
        "customer_id": [f"K{i:07d}" for i in range(n)],
        "gender": a["gender"],
        "senior_citizen": a["senior"].astype(int),
        "partner": yn(a["partner"]),
        "dependents": yn(a["dependents"]),
        "tenure": a["tenure"],
        "phone_service": yn(a["phone"]),
        "multiple_lines": np.where(~a["phone"], "No phone service", yn(a["multiple"])),
        "internet_service": a["internet"],
        **{k: np.where(~has_net, "No internet service", yn(a[k])) for k, _ in _SERVICES},
        "contract": a["contract"],
        "paperless_billing": yn(a["paperless"]),
        "payment_method": a["pay"],
        "monthly_charges": a["charges"].round(2),
        "total_charges": a["total"].round(2),
        "city": a["city"],
        "account_no": rng.permutation(n) + 4_000_000,
        "churned": yn(a["churned"]),
    })
    if text:
        c["senior_citizen"] = c["senior_citizen"].astype(str)
        c["tenure"] = c["tenure"].astype(str)
        c["monthly_charges"] = [f" {v:,.2f}" if i % 7 == 0 else f"{v:.2f}" for i, v in enumerate(c["monthly_charges"])]
        c["total_charges"] = np.where(a["new"], " ", [f"{v:,.2f}" for v in c["total_charges"]])
        c["account_no"] = "AC-" + c["account_no"].astype(str)
    if not payments:
        return c, None
    # one payment per billed month from sign-up (``start`` months before as-of)
    k = a["tenure"]
    rows = np.repeat(np.arange(n), k)
    month = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
    skip = (rng.random(len(rows)) < np.clip(a["hazard"][rows] * 1.5, 0, 0.3)) & (month > 0)
    rows, month = rows[~skip], month[~skip]
    age_days = (a["start"][rows] - month) * MONTH_DAYS
    keep = age_days >= 0
    rows, age_days = rows[keep], age_days[keep]
    ts = (np.datetime64(as_of.to_datetime64(), "us") - (age_days * 86_400e6).astype("timedelta64[us]"))
    amount = (a["charges"][rows] * rng.normal(1.0, 0.01, len(rows))).round(2)
    if payments == "arrow":
        import pyarrow as pa
        ids = pa.DictionaryArray.from_arrays(pa.array(rows.astype(np.int32)), pa.array(c["customer_id"].tolist()))
        return c, pa.table({"customer_id": ids, "order_ts": pa.array(ts), "amount": pa.array(amount)})
    p = pd.DataFrame({"customer_id": c["customer_id"].to_numpy()[rows], "order_ts": ts, "amount": amount})
    return c, p.reset_index(drop=True)
