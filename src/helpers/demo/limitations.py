"""Small exports of the shapes that make a step, or a part of one, "not available".

Each case is an ordinary export a user may have, on which some analysis cannot be computed: nobody
bought twice yet, an experiment without outcomes, one customer, a history that starts this quarter...
The pipeline test renders each with the runner and checks that the quarter still renders, exits 0,
and says on its pages and in its summaries which part is not available and why
(``tests/pipeline/test_limitations.py``). ``segreview demo-data --case <name>`` is not offered: these
are test fixtures, generated here so that their shape is documented in one place.

All cases describe the quarter 2026Q3 (as of 2026-09-30) and write CSV files (the most common export
format), so they also exercise the CSV reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["CASES", "Case", "write_case"]

AS_OF = pd.Timestamp("2026-09-30")
START = pd.Timestamp("2024-10-01")


@dataclass(frozen=True)
class Case:
    """One limitation export.

    Parameters
    ----------
    name : str
        File-name friendly id.
    description : str
        The shape of the data in words.
    unavailable : tuple of str
        Summary parts that must be listed as not available (a summary name such as ``"clv"`` for a
        whole step, or its prefix ``"ab."`` for some part of it).
    """

    name: str
    description: str
    unavailable: tuple[str, ...]


CASES: dict[str, Case] = {c.name: c for c in (
    Case("one_time_buyers", "every customer has bought exactly once", ("clv",)),
    Case("zero_conversions", "an experiment in which nobody in either arm has bought since assignment",
         ("ab.",)),
    Case("single_arm", "an experiment whose customers are all in the control arm", ("ab.",)),
    Case("single_customer", "one customer with a few orders", ("clv", "churn")),
    Case("thirty_customers", "thirty customers", ("clv", "churn")),
    Case("one_segment", "every customer bought the same on the same days, so all share one segment", ("rfm.",)),
    Case("first_quarter", "the order history starts in the quarter under review", ("rfm.", "clv", "churn")),
    Case("heavy_tailed_spend", "spend per order with a tail so heavy that its mean is not defined", ("clv.",)),
    Case("orders_only", "an order export without customers or experiments tables", ("ab",)),
)}


def _histories(rng: np.random.Generator, n: int, start: pd.Timestamp, end: pd.Timestamp,
               weekly_rate: float = 0.08, dropout: float = 0.15, max_orders: int = 40) -> pd.DataFrame:
    """Orders of ``n`` customers who first buy uniformly in [start, end) and then buy at a Gamma-distributed
    weekly rate (mean ``weekly_rate``), dropping out after each repeat purchase with a Beta-distributed
    probability (mean ``dropout``): a BG/NBD process."""
    span = (end - start).days
    rows = []
    first = rng.integers(0, max(span, 1), n)
    lam = rng.gamma(2.0, weekly_rate / 2.0, n) / 7.0   # per day
    p = rng.beta(2.0, 2.0 * (1 - dropout) / dropout, n)
    for i in range(n):
        t = float(first[i])
        rows.append((i, t))
        for k in range(max_orders):
            if k > 0 and rng.random() < p[i]:
                break
            t += rng.exponential(1.0 / max(lam[i], 1e-6))
            if t >= span:
                break
            rows.append((i, t))
    o = pd.DataFrame(rows, columns=["c", "day"])
    o["customer_id"] = o["c"].map(lambda i: f"C{i:05d}")
    o["order_ts"] = start + pd.to_timedelta(o["day"].round(3), unit="D")
    o["amount"] = np.round(rng.gamma(4.0, 25.0, len(o)) + 5.0, 2)
    return o[["customer_id", "order_ts", "amount"]]


def _customers(ids: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    ids = pd.Series(sorted(ids.unique()))
    return pd.DataFrame({"customer_id": ids, "region": rng.choice(["East", "North", "South"], len(ids)),
                         "signup_date": START.date().isoformat()})


def _experiment(orders: pd.DataFrame, rng: np.random.Generator, exp_id: str, assigned: pd.Timestamp,
                n: int, variants: tuple[str, ...] = ("control", "treatment")) -> pd.DataFrame:
    ids = orders.loc[orders["order_ts"] < assigned, "customer_id"].drop_duplicates()
    ids = ids.sample(min(n, len(ids)), random_state=int(rng.integers(1 << 31))).sort_values()
    return pd.DataFrame({"experiment_id": exp_id, "customer_id": ids.to_numpy(),
                         "variant": rng.choice(list(variants), len(ids)), "assigned_at": assigned.isoformat()})


def write_case(name: str, out_dir: str | Path, seed: int = 0) -> dict:
    """Write the export of case ``name`` into ``out_dir`` and return its ``sources`` entry.

    Parameters
    ----------
    name : str
        A key of :data:`CASES`.
    out_dir : str or Path
        Folder written (created); paths in the returned ``sources`` are relative to the project root,
        so ``out_dir`` should be inside it.
    seed : int

    Returns
    -------
    dict
        ``{"orders": {"path": ...}, "customers": {...} or None, "experiments": {...} or None}``, with
        paths as given by ``out_dir``.
    """
    if name not in CASES:
        raise KeyError(f"unknown case {name!r}; cases: {', '.join(CASES)}")
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    customers: pd.DataFrame | None = None
    experiments: pd.DataFrame | None = None
    if name == "one_time_buyers":
        n = 800
        orders = pd.DataFrame({"customer_id": [f"C{i:05d}" for i in range(n)],
                               "order_ts": START + pd.to_timedelta(rng.integers(0, (AS_OF - START).days, n), unit="D"),
                               "amount": np.round(rng.gamma(4.0, 25.0, n) + 5, 2)})
        customers = _customers(orders["customer_id"], rng)
    elif name in ("zero_conversions", "single_arm"):
        orders = _histories(rng, 1500, START, AS_OF)
        customers = _customers(orders["customer_id"], rng)
        normal = _experiment(orders, rng, "EXP-A", pd.Timestamp("2026-06-01"), 600)
        if name == "zero_conversions":
            # assigned on the as-of day: no order can fall in the window after assignment yet
            odd = _experiment(orders, rng, "EXP-Z", AS_OF, 300)
        else:
            odd = _experiment(orders, rng, "EXP-S", pd.Timestamp("2026-07-01"), 300, variants=("control",))
        experiments = pd.concat([normal, odd], ignore_index=True)
    elif name == "single_customer":
        orders = pd.DataFrame({"customer_id": "C00001",
                               "order_ts": pd.to_datetime(["2025-03-02", "2025-11-20", "2026-04-11", "2026-08-30"]),
                               "amount": [120.0, 80.5, 99.9, 140.0]})
        customers = _customers(orders["customer_id"], rng)
    elif name == "thirty_customers":
        orders = _histories(rng, 30, START, AS_OF, weekly_rate=0.15, dropout=0.1)
        customers = _customers(orders["customer_id"], rng)
    elif name == "one_segment":
        n = 200
        days = pd.to_datetime(["2025-12-01", "2026-03-01", "2026-09-01"])
        orders = pd.DataFrame({"customer_id": np.repeat([f"C{i:05d}" for i in range(n)], len(days)),
                               "order_ts": np.tile(days, n), "amount": 50.0})
        customers = _customers(orders["customer_id"], rng)
    elif name == "first_quarter":
        orders = _histories(rng, 600, pd.Timestamp("2026-07-01"), AS_OF, weekly_rate=0.3, dropout=0.1)
        customers = _customers(orders["customer_id"], rng)
    elif name == "heavy_tailed_spend":
        orders = _histories(rng, 1500, START, AS_OF)
        # Pareto (Lomax) spend with tail index 0.7 < 1: the mean spend does not exist
        orders["amount"] = np.round(10.0 * (rng.pareto(0.7, len(orders)) + 1.0), 2)
        customers = _customers(orders["customer_id"], rng)
    else:  # orders_only
        orders = _histories(rng, 1200, START, AS_OF)
    orders = orders.sort_values(["order_ts", "customer_id"], kind="stable").reset_index(drop=True)
    orders.insert(0, "order_id", [f"O{i:07d}" for i in range(len(orders))])
    orders["order_ts"] = pd.to_datetime(orders["order_ts"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    orders.to_csv(out / "orders.csv", index=False)
    sources: dict = {"orders": {"path": str(out / "orders.csv")}, "customers": None, "experiments": None}
    if customers is not None:
        customers.to_csv(out / "customers.csv", index=False)
        sources["customers"] = {"path": str(out / "customers.csv")}
    if experiments is not None:
        experiments.to_csv(out / "experiments.csv", index=False)
        sources["experiments"] = {"path": str(out / "experiments.csv")}
    return sources
