"""A seeded subscription export (telecom-like): monthly payments, a churn label, mixed-type attributes.

The contractual counterpart of :mod:`helpers.demo.generator`, drawn from a **known sBG process**
(Fader & Hardie 2007) so that tests can check that the retention models recover what was planted:

- **acquisition**: subscribers join from ``start`` to the as-of date, more of them every year;
  each pays for their first month on the day they join, then on the same day of every later month
  (a month-end day falls back to the month's last day) until they cancel;
- **retention**: subscriber ``i`` of acquisition year ``y`` cancels at each renewal with their own
  probability ``theta_i ~ Beta(alpha_y, beta_y)`` (the sBG of that cohort; ``truth.json`` lists
  ``alpha_y``, ``beta_y``), independently of anything else; the number of months paid is therefore
  ``Geometric(theta_i)`` and a subscriber whose lifetime ends before the as-of month has churned;
- **payments**: the plan's monthly charge, plus an occasional add-on (a data pack) in a tenth of the
  months;
- **attributes** (about twenty, as text in a CSV, the way CRM exports arrive): they are drawn *given*
  each subscriber's churn probability (its quantile within the cohort), so that they carry signal for
  a churn model without changing the retention process: contract type, internet service, payment
  method, support tickets and others lean towards the churn-prone with higher ``theta``. They mix
  numbers (some with thousands separators or blanks), booleans written as ``0/1``, ``Yes/No``,
  ``TRUE/FALSE`` and ``是/否``, dates, categories with few and with many levels, and an
  identifier-like column; plus synthetic personal data (name, phone) that ingestion must drop;
- the ``churned`` label (``Yes``/``No``) says whether the subscriber had cancelled by the as-of date.

Files (``write_subscription_demo``): ``payments.parquet`` (``order_id``, ``customer_id``, ``paid_at``,
``amount``), ``customers.csv`` (UTF-8), ``truth.json`` (the generating parameters) and
``truth_customers.parquet`` (each subscriber's ``theta``, ``lifetime`` and cohort). Everything comes from
one ``numpy.random.Generator`` seeded from :class:`SubscriptionSpec`.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import betainc

__all__ = ["SUBSCRIPTION_FILES", "ATTRIBUTES", "SubscriptionSpec", "SubscriptionData", "generate_subscriptions",
           "write_subscription_demo"]

SUBSCRIPTION_FILES = ("payments.parquet", "customers.csv", "truth.json", "truth_customers.parquet")

#: The attribute columns of ``customers.csv`` (beside ``customer_id``, ``signup_date``, ``churned``
#: and the personal data ``name``, ``phone``).
ATTRIBUTES = ("gender", "senior_citizen", "partner", "dependents", "region", "city", "contract",
              "internet_service", "online_security", "tech_support", "streaming_tv", "paperless_billing",
              "payment_method", "monthly_charges", "total_charges", "tenure_months", "support_tickets",
              "last_complaint_date", "satisfaction_score", "device_serial")

_SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun"]
_GIVEN = ["Wei", "Fang", "Min", "Jing", "Lei", "Yan", "Jun", "Hua", "Tao", "Xin", "Ling", "Bo"]
_REGIONS = ["East China", "North China", "South China", "Central China", "West China", "Northeast China"]
_PAYMENT = ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"]


@dataclass(frozen=True)
class SubscriptionSpec:
    """Generating parameters (saved as ``truth.json``).

    ``cohorts``: acquisition year -> (alpha, beta) of its sBG; later cohorts churn more (a cheaper
    acquisition mix), as subscription books often do. ``as_of``: the day of the export (the end of
    the quarter under review).
    """

    n_customers: int = 7_000
    start: str = "2020-01-01"
    as_of: str = "2026-09-30"
    seed: int = 20260930
    cohorts: dict[int, tuple[float, float]] = field(default_factory=lambda: {
        2020: (0.55, 14.0), 2021: (0.60, 13.0), 2022: (0.65, 12.0), 2023: (0.70, 11.0),
        2024: (0.75, 10.0), 2025: (0.80, 9.5), 2026: (0.85, 9.0)})
    growth: float = 1.5
    addon_share: float = 0.1
    blank_share: float = 0.02


@dataclass
class SubscriptionData:
    """The generated tables and the truth."""

    payments: pd.DataFrame
    customers: pd.DataFrame
    truth: dict
    truth_customers: pd.DataFrame


def _choice(rng: np.random.Generator, levels: list[str], weights: np.ndarray) -> np.ndarray:
    """One level per row, ``weights`` of shape (rows, levels) (rows need not sum to 1)."""
    w = weights / weights.sum(axis=1, keepdims=True)
    u = rng.random(len(w))[:, None]
    idx = (u > np.cumsum(w, axis=1)).sum(axis=1)
    return np.asarray(levels, dtype=object)[np.minimum(idx, len(levels) - 1)]


def _months_between(a: pd.DatetimeIndex, b: pd.Timestamp) -> np.ndarray:
    """Whole calendar months from each ``a`` to ``b``: the largest ``k`` with ``a + k months <= b``
    (the day clamped to the month's end, as the renewals are)."""
    m = np.asarray((b.year - a.year) * 12 + (b.month - a.month), np.int64)
    return m - (_add_months(a, m) > b)


def _add_months(d: pd.DatetimeIndex, k: np.ndarray) -> pd.DatetimeIndex:
    """``d`` plus ``k`` calendar months, the day clamped to the month's last (31 Jan + 1 month = 28/29 Feb)."""
    m0 = d.year.to_numpy() * 12 + d.month.to_numpy() - 1 + k
    first = pd.to_datetime(pd.DataFrame({"year": m0 // 12, "month": m0 % 12 + 1, "day": 1}))
    day = np.minimum(d.day.to_numpy(), first.dt.days_in_month.to_numpy())
    return pd.DatetimeIndex(first + pd.to_timedelta(day - 1, unit="D"))


def generate_subscriptions(spec: SubscriptionSpec | None = None) -> SubscriptionData:
    """Generate the subscription export (see the module docstring)."""
    spec = spec or SubscriptionSpec()
    rng = np.random.default_rng(spec.seed)
    n = spec.n_customers
    start, as_of = pd.Timestamp(spec.start), pd.Timestamp(spec.as_of)
    span = (as_of - start).days
    # acquisition days skewed late (a growing book); the last day of the quarter has no newcomers
    day = np.floor(span * rng.beta(spec.growth, 1.0, n)).astype(np.int64)
    signup = pd.DatetimeIndex(start + pd.to_timedelta(np.sort(day), unit="D"))
    year = signup.year.to_numpy()
    if not set(year) <= set(spec.cohorts):
        raise ValueError(f"SubscriptionSpec.cohorts lacks acquisition years {sorted(set(year) - set(spec.cohorts))}")
    a = np.array([spec.cohorts[y][0] for y in year])
    b = np.array([spec.cohorts[y][1] for y in year])
    theta = rng.beta(a, b)
    u = rng.random(n)
    lifetime = np.maximum(np.ceil(np.log(u) / np.log1p(-theta)), 1).astype(np.int64)  # months paid, Geometric(theta)
    current = _months_between(signup, as_of) + 1  # the month each subscriber is in at the as-of date
    churned = lifetime < current
    paid = np.where(churned, lifetime, current)
    q = betainc(a, b, theta)  # the churn propensity's quantile in its cohort: uniform, drives the attributes

    ids = np.array([f"S{i:06d}" for i in rng.permutation(n) + 1], dtype=object)
    # services and charges
    contract = _choice(rng, ["Month-to-month", "One year", "Two year"],
                       np.c_[0.2 + 0.7 * q, 0.45 - 0.25 * q, 0.35 - 0.33 * q])
    internet = _choice(rng, ["DSL", "Fiber optic", "No"], np.c_[0.45 - 0.2 * q, 0.3 + 0.35 * q, 0.25 - 0.15 * q])
    has_net = internet != "No"

    def addon(p_yes: np.ndarray) -> np.ndarray:
        yes = rng.random(n) < p_yes
        return np.where(~has_net, "No internet service", np.where(yes, "Yes", "No"))

    security = addon(0.55 - 0.4 * q)
    support = addon(0.55 - 0.4 * q)
    streaming = addon(0.35 + 0.25 * q)
    charges = (20.0 + np.where(internet == "Fiber optic", 50.0, np.where(internet == "DSL", 25.0, 0.0))
               + 6.0 * (security == "Yes") + 6.0 * (support == "Yes") + 10.0 * (streaming == "Yes")
               + rng.normal(0, 3.0, n)).round(1)
    charges = np.maximum(charges, 18.0)
    payment_method = _choice(rng, _PAYMENT, np.c_[0.15 + 0.5 * q, 0.25 - 0.1 * q, 0.3 - 0.2 * q, 0.3 - 0.2 * q])
    senior = (rng.random(n) < 0.1 + 0.12 * q).astype(int)
    partner = np.where(rng.random(n) < 0.6 - 0.3 * q, "Yes", "No")
    dependents = np.where(rng.random(n) < 0.4 - 0.25 * q, "是", "否")
    paperless = np.where(rng.random(n) < 0.45 + 0.3 * q, "TRUE", "FALSE")
    gender = np.where(rng.random(n) < 0.5, "Female", "Male")
    region = _choice(rng, _REGIONS, np.tile([0.3, 0.2, 0.2, 0.12, 0.1, 0.08], (n, 1)))
    city = np.array([f"City {c:03d}" for c in np.minimum(rng.zipf(1.3, n), 400)], dtype=object)
    tickets = rng.poisson(0.3 + 2.2 * q ** 2 * np.minimum(paid, 24) / 12)
    active_days = np.maximum((np.minimum(signup + pd.to_timedelta(paid * 30, unit="D"), as_of) - signup).days, 1)
    complaint = signup + pd.to_timedelta(np.floor(rng.random(n) * active_days), unit="D")
    last_complaint = np.where(tickets > 0, complaint.strftime("%Y-%m-%d").to_numpy(), "")
    satisfaction = np.clip(np.rint(4.2 - 2.2 * q + rng.normal(0, 0.8, n)), 1, 5).astype(int)
    serial = np.array([f"DV-{x:08X}" for x in rng.choice(2**32, n, replace=False)], dtype=object)

    # payments: one per month paid, on the signup day of each month (pandas clamps month ends)
    cust = np.repeat(np.arange(n), paid)
    k = np.arange(paid.sum()) - np.repeat(np.cumsum(paid) - paid, paid)
    when = _add_months(signup[cust], k)
    amount = charges[cust] + np.where(rng.random(len(cust)) < spec.addon_share, rng.choice([10.0, 20.0, 30.0],
                                                                                           len(cust)), 0.0)
    payments = pd.DataFrame({
        "order_id": [f"P{i:08d}" for i in range(1, len(cust) + 1)],
        "customer_id": ids[cust],
        "paid_at": (when + pd.to_timedelta(rng.integers(6 * 3600, 22 * 3600, len(cust)), unit="s"))
        .astype("datetime64[us]"),
        "amount": amount.round(2),
    })
    payments = payments[payments["paid_at"] < as_of + pd.Timedelta(days=1)].reset_index(drop=True)
    total = np.bincount(cust, weights=amount, minlength=n)

    def blanks(values: np.ndarray) -> np.ndarray:
        v = values.astype(object)
        v[rng.random(n) < spec.blank_share] = ""
        return v

    total_text = np.array([f"{t:,.2f}" for t in total], dtype=object)
    total_text[paid == 1] = " "  # like the well-known telecom export: new subscribers' total is blank
    customers = pd.DataFrame({
        "customer_id": ids,
        "name": [f"{_SURNAMES[i % 12]} {_GIVEN[(i * 7) % 12]}" for i in rng.integers(0, 144, n)],
        "phone": [f"13{x:09d}" for x in rng.integers(0, 10**9, n)],
        "signup_date": signup.strftime("%Y-%m-%d"),
        "gender": gender,
        "senior_citizen": senior.astype(str),
        "partner": partner,
        "dependents": dependents,
        "region": region,
        "city": city,
        "contract": contract,
        "internet_service": internet,
        "online_security": security,
        "tech_support": support,
        "streaming_tv": streaming,
        "paperless_billing": paperless,
        "payment_method": payment_method,
        "monthly_charges": blanks(np.array([f"{c:.2f}" for c in charges], dtype=object)),
        "total_charges": total_text,
        "tenure_months": paid.astype(str),
        "support_tickets": blanks(tickets.astype(str)),
        "last_complaint_date": last_complaint,
        "satisfaction_score": blanks(satisfaction.astype(str)),
        "device_serial": serial,
        "churned": np.where(churned, "Yes", "No"),
    })
    order = np.argsort(ids, kind="stable")
    customers = customers.iloc[order].reset_index(drop=True)
    truth_customers = pd.DataFrame({"customer_id": ids, "cohort": year.astype(str), "theta": theta,
                                    "lifetime": lifetime, "paid": paid, "churned": churned,
                                    "monthly_charges": charges}).iloc[order].reset_index(drop=True)
    truth = {**asdict(spec), "cohorts": {str(y): {"alpha": ab[0], "beta": ab[1]} for y, ab in spec.cohorts.items()},
             "period_months": 1, "subscribers": int(n), "churned": int(churned.sum()), "payments": int(len(payments))}
    return SubscriptionData(payments.sort_values(["paid_at", "order_id"]).reset_index(drop=True), customers, truth,
                            truth_customers)


def _atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_subscription_demo(out_dir: str | Path, spec: SubscriptionSpec | None = None,
                            overwrite: bool = False) -> Path:
    """Generate the subscription export into ``out_dir`` (each file written to a temporary name, then renamed).

    Returns
    -------
    Path
        The folder (left as it is when every file exists and ``overwrite`` is false).
    """
    out = Path(out_dir)
    if not overwrite and all((out / f).exists() for f in SUBSCRIPTION_FILES):
        return out
    out.mkdir(parents=True, exist_ok=True)
    d = generate_subscriptions(spec)
    _atomic(out / "payments.parquet", lambda p: d.payments.to_parquet(p, index=False))
    _atomic(out / "customers.csv", lambda p: d.customers.to_csv(p, index=False, encoding="utf-8"))
    _atomic(out / "truth_customers.parquet", lambda p: d.truth_customers.to_parquet(p, index=False))
    _atomic(out / "truth.json", lambda p: Path(p).write_text(json.dumps(d.truth, indent=2) + "\n", encoding="utf-8"))
    return out


if __name__ == "__main__":  # python -m helpers.demo.subscriptions --out data/demo/subscription
    import argparse
    ap = argparse.ArgumentParser(description="Write the seeded subscription demo export.")
    ap.add_argument("--out", default="data/demo/subscription")
    ap.add_argument("--customers", type=int, default=SubscriptionSpec.n_customers)
    ap.add_argument("--seed", type=int, default=SubscriptionSpec.seed)
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args()
    print(write_subscription_demo(a.out, SubscriptionSpec(n_customers=a.customers, seed=a.seed), a.overwrite))
