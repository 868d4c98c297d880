"""The review's own statistics, as pure functions: lifecycle stages, holdout sizes, intervals.

Plain numbers and arrays in, plain numbers and arrays out; the tables and sentences are in
:mod:`helpers.review.step` and its neighbours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["STAGES", "lifecycle_stage", "holdout_size", "detectable_lift", "mean_interval"]

#: Lifecycle stages, in order; ``prospect`` is "not yet a customer" (first order after the date).
STAGES: tuple[str, ...] = ("new", "active", "dormant", "lost")


def lifecycle_stage(first: pd.Series, last: pd.Series, quarter_start: pd.Timestamp, as_of: pd.Timestamp,
                    active_days: int, lost_days: int) -> pd.Series:
    """The lifecycle stage of each customer at the end of the day ``as_of``.

    - ``new``: first completed order on or after ``quarter_start`` (in the quarter ending at ``as_of``);
    - ``active``: otherwise, last order in the ``active_days`` days ending with ``as_of`` (``as_of`` and
      the ``active_days - 1`` days before it: the churn step's "active in the last 365 days");
    - ``dormant``: last order in the ``lost_days`` days ending with ``as_of``;
    - ``lost``: older.

    Customers whose first order is after ``as_of`` must not be passed (they are not customers yet).

    Returns
    -------
    Series
        Categorical with categories :data:`STAGES`, aligned with ``first``.
    """
    day = np.datetime64(pd.Timestamp(as_of).date(), "D")
    since = (day - pd.to_datetime(last).to_numpy().astype("datetime64[D]")).astype(np.int64)
    is_new = pd.to_datetime(first).to_numpy() >= np.datetime64(pd.Timestamp(quarter_start))
    codes = np.select([is_new, since < active_days, since < lost_days], [0, 1, 2], 3).astype(np.int8)
    return pd.Series(pd.Categorical.from_codes(codes, categories=list(STAGES)), index=first.index)


def holdout_size(n: int, p0: float, effect: float, alpha: float = 0.05, power: float = 0.8,
                 min_holdout: int = 1, max_share: float = 0.5) -> tuple[int, bool]:
    """Smallest holdout (control group) among ``n`` customers that detects ``effect`` on a rate ``p0``.

    Two-sided two-proportion test, normal approximation with unpooled variances:
    ``(z_{1-alpha/2} + z_power) * sqrt(p0 (1-p0) / h + p1 (1-p1) / (n - h)) <= effect`` with
    ``p1 = p0 + effect``. The left side falls as ``h`` grows towards an even split, so the smallest
    ``h`` is found by bisection on ``[1, max_share * n]``.

    Returns
    -------
    (int, bool)
        The holdout size (at least ``min_holdout``, at most ``max_share * n``) and whether it reaches
        ``power``; when even the largest allowed holdout does not, that largest one is returned with
        ``False``.
    """
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    p1 = min(max(p0 + effect, 1e-9), 1 - 1e-9)
    p0 = min(max(p0, 1e-9), 1 - 1e-9)

    def detects(h: int) -> bool:
        return bool(z * np.sqrt(p0 * (1 - p0) / h + p1 * (1 - p1) / (n - h)) <= effect)

    top = int(np.floor(max_share * n))
    if top < 1 or n - top < 1:
        return max(top, 0), False
    if not detects(top):
        return top, False
    lo, hi = 1, top
    while lo < hi:
        mid = (lo + hi) // 2
        if detects(mid):
            hi = mid
        else:
            lo = mid + 1
    return min(max(lo, min_holdout), top), True


def detectable_lift(n: int, holdout: int, p0: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest lift on a rate ``p0`` that a holdout of ``holdout`` among ``n`` detects with ``power``.

    Solves ``(z_{1-alpha/2} + z_power) * sqrt(p0 (1-p0) / h + p1 (1-p1) / (n - h)) = p1 - p0`` for ``p1`` by
    bisection (the inverse of :func:`holdout_size`); NaN when either group is empty.
    """
    if holdout < 1 or n - holdout < 1:
        return float("nan")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    p0 = min(max(p0, 1e-9), 1 - 1e-9)

    def gap(e: float) -> float:
        p1 = min(p0 + e, 1 - 1e-12)
        return z * np.sqrt(p0 * (1 - p0) / holdout + p1 * (1 - p1) / (n - holdout)) - e

    lo, hi = 0.0, 1.0 - p0
    if gap(hi) > 0:
        return float(hi)
    for _ in range(60):
        mid = (lo + hi) / 2
        if gap(mid) > 0:
            lo = mid
        else:
            hi = mid
    return float(hi)


def mean_interval(values: np.ndarray, level: float) -> tuple[float, float, float]:
    """Mean of ``values`` with its normal-approximation ``level`` interval (``sd / sqrt(n)``); NaNs dropped."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(v.mean())
    if len(v) < 2:
        return m, float("nan"), float("nan")
    half = float(stats.norm.ppf(0.5 + level / 2) * v.std(ddof=1) / np.sqrt(len(v)))
    return m, m - half, m + half
