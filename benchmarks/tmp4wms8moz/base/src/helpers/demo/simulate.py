"""Simulators with known parameters (BG/NBD, Pareto/NBD, Gamma-Gamma) for parameter-recovery tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ['simulate_bgnbd', 'simulate_gammagamma', 'simulate_paretonbd']


def simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, T: np.ndarray | float,
                   seed: int = 0, horizon: float = 0.0) -> pd.DataFrame:
    """Simulate BG/NBD customers observed for ``T`` time units after their first purchase.

    Parameters
    ----------
    n : int
        Customers.
    r, alpha, a, b : float
        True BG/NBD parameters.
    T : float or array of n floats
        Observation length of each customer (from the first purchase).
    seed : int
    horizon : float
        Also count purchases in ``(T, T + horizon]`` (column ``x_future``).

    Returns
    -------
    DataFrame
        ``x`` (repeat purchases in (0, T]), ``t_x``, ``T``, ``x_future``, ``alive`` (active at T).
    """
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(T, float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    t = np.zeros(n)
    alive = np.ones(n, bool)
    x = np.zeros(n, np.int64)
    t_x = np.zeros(n)
    fut = np.zeros(n, np.int64)
    end = T + horizon
    active = np.ones(n, bool)  # still simulating
    while active.any():
        idx = np.flatnonzero(active)
        t[idx] += rng.exponential(1.0 / lam[idx])
        past = t[idx] > end[idx]
        active[idx[past]] = False
        idx = idx[~past]
        inside = t[idx] <= T[idx]
        x[idx[inside]] += 1
        t_x[idx[inside]] = t[idx[inside]]
        fut[idx[~inside]] += 1
        # BG/NBD: dropout only right after a repeat purchase (never right after the first)
        die = rng.random(len(idx)) < p[idx]
        alive[idx[die]] = False
        active[idx[die]] = False
    # alive at T: did not drop out after the last purchase before T; approximated by the flag at end
    return pd.DataFrame({"x": x, "t_x": t_x, "T": T, "x_future": fut, "alive_at_end": alive})


def simulate_gammagamma(x: np.ndarray, p: float, q: float, gamma: float, seed: int = 0) -> np.ndarray:
    """Mean spend of ``x`` transactions per customer under Gamma-Gamma (NaN where x = 0)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x)
    nu = rng.gamma(q, 1.0 / gamma, len(x))
    # the sum of x Gamma(p, nu) draws is Gamma(p x, nu)
    total = rng.gamma(np.maximum(p * x, 1e-12), 1.0 / nu)
    return np.where(x > 0, total / np.maximum(x, 1), np.nan)


def simulate_paretonbd(n: int, r: float, alpha: float, s: float, beta: float, T: np.ndarray | float,
                       seed: int = 0) -> pd.DataFrame:
    """Simulate Pareto/NBD customers observed for ``T`` after their first purchase.

    Each customer buys at rate ``lambda ~ Gamma(r, alpha)`` while alive; lifetimes are exponential
    with rate ``mu ~ Gamma(s, beta)``. Given the active span ``min(lifetime, T)``, the number of
    repeat purchases is Poisson and their times are uniform on the span.

    Returns
    -------
    DataFrame
        ``x``, ``t_x``, ``T``.
    """
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(T, float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    span = np.minimum(rng.exponential(1.0 / mu), T)
    x = rng.poisson(lam * span)
    # the last of x uniform times on (0, span] is span * U^(1/x)
    t_x = np.where(x > 0, span * rng.random(n) ** (1.0 / np.maximum(x, 1)), 0.0)
    return pd.DataFrame({"x": x.astype(np.int64), "t_x": t_x, "T": T})
