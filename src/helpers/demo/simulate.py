"""Simulators with known parameters (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma, sBG and
beta-discrete-Weibull retention) for parameter-recovery tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ['simulate_bgnbd', 'simulate_mbgnbd', 'simulate_gammagamma', 'simulate_paretonbd',
           'simulate_sbg']


def simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, T: np.ndarray | float,
                   seed: int = 0, horizon: float = 0.0) -> pd.DataFrame:
    """Simulate BG/NBD customers observed for ``T`` time units after their first purchase.

    See :func:`simulate_mbgnbd` for the variant in which customers may also drop out at time 0.

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
        ``x`` (repeat purchases in (0, T]), ``t_x``, ``T``, ``x_future``, ``alive_at_end`` (active at
        ``T + horizon``), ``alive_at_T`` (active at ``T``).
    """
    return _simulate_bg_family(n, r, alpha, a, b, T, seed, horizon, at_zero=False)


def simulate_mbgnbd(n: int, r: float, alpha: float, a: float, b: float, T: np.ndarray | float,
                    seed: int = 0, horizon: float = 0.0) -> pd.DataFrame:
    """Simulate MBG/NBD customers (Batislam et al. 2007): as :func:`simulate_bgnbd`, but each
    customer also drops out right after the first purchase (time 0) with probability ``p``.

    Returns
    -------
    DataFrame
        ``x``, ``t_x``, ``T``, ``x_future`` (purchases in ``(T, T + horizon]``), ``alive_at_end``
        and ``alive_at_T`` (the true state at ``T``).
    """
    return _simulate_bg_family(n, r, alpha, a, b, T, seed, horizon, at_zero=True)


def _simulate_bg_family(n: int, r: float, alpha: float, a: float, b: float, T: np.ndarray | float,
                        seed: int, horizon: float, at_zero: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(T, float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    t = np.zeros(n)
    alive = np.ones(n, bool)
    if at_zero:  # MBG/NBD: the first purchase is a dropout chance too
        alive = rng.random(n) >= p
    x = np.zeros(n, np.int64)
    t_x = np.zeros(n)
    fut = np.zeros(n, np.int64)
    end = T + horizon
    active = alive.copy()  # still simulating
    alive_at_T = alive.copy()
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
        # dropout right after each repeat purchase (MBG/NBD: also at time 0, drawn above)
        die = rng.random(len(idx)) < p[idx]
        alive[idx[die]] = False
        active[idx[die]] = False
        alive_at_T[idx[die & inside]] = False
    return pd.DataFrame({"x": x, "t_x": t_x, "T": T, "x_future": fut, "alive_at_end": alive,
                         "alive_at_T": alive_at_T})


def simulate_gammagamma(x: np.ndarray, p: float, q: float, gamma: float, seed: int = 0) -> np.ndarray:
    """Mean spend of ``x`` transactions per customer under Gamma-Gamma (NaN where x = 0)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x)
    nu = rng.gamma(q, 1.0 / gamma, len(x))
    # the sum of x Gamma(p, nu) draws is Gamma(p x, nu)
    total = rng.gamma(np.maximum(p * x, 1e-12), 1.0 / nu)
    return np.where(x > 0, total / np.maximum(x, 1), np.nan)


def simulate_paretonbd(n: int, r: float, alpha: float, s: float, beta: float, T: np.ndarray | float,
                       seed: int = 0, horizon: float = 0.0) -> pd.DataFrame:
    """Simulate Pareto/NBD customers observed for ``T`` after their first purchase.

    Each customer buys at rate ``lambda ~ Gamma(r, alpha)`` while alive; lifetimes are exponential
    with rate ``mu ~ Gamma(s, beta)``. Given the active span ``min(lifetime, T)``, the number of
    repeat purchases is Poisson and their times are uniform on the span.

    Returns
    -------
    DataFrame
        ``x``, ``t_x``, ``T``; with ``horizon > 0`` also ``x_future`` (purchases in ``(T, T + horizon]``)
        and ``alive_at_T``.
    """
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(T, float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    life = rng.exponential(1.0 / mu)
    span = np.minimum(life, T)
    x = rng.poisson(lam * span)
    # the last of x uniform times on (0, span] is span * U^(1/x)
    t_x = np.where(x > 0, span * rng.random(n) ** (1.0 / np.maximum(x, 1)), 0.0)
    out = pd.DataFrame({"x": x.astype(np.int64), "t_x": t_x, "T": T})
    if horizon > 0:  # drawn after the calibration draws, so the calibration data do not depend on it
        out["x_future"] = rng.poisson(lam * np.clip(life - T, 0.0, horizon)).astype(np.int64)
        out["alive_at_T"] = life > T
    return out


def simulate_sbg(n: int, alpha: float, beta: float, periods: np.ndarray | int, c: float = 1.0,
                 seed: int = 0) -> pd.DataFrame:
    """Simulate subscribers under the shifted-beta-geometric model (``c = 1``; Fader & Hardie 2007)
    or the beta-discrete-Weibull (``c != 1``; Fader, Hardie, Liu, Davin & Steenburgh 2018).

    Each subscriber has a churn probability ``theta ~ Beta(alpha, beta)`` and survives ``t`` periods
    with probability ``(1 - theta)^(t^c)``; ``lifetime`` is the number of periods paid (>= 1).

    Parameters
    ----------
    periods : int or array of n ints
        The period each subscriber is in now (1 = their first, paid at acquisition).

    Returns
    -------
    DataFrame
        ``theta``, ``lifetime``; ``n`` (periods paid so far) and ``churned`` (cancelled before the
        current period): churned subscribers have ``n = lifetime < periods``, active ones
        ``n = periods <= lifetime``.
    """
    rng = np.random.default_rng(seed)
    m = np.broadcast_to(np.asarray(periods, np.int64), (n,)).copy()
    if (m < 1).any():
        raise ValueError("periods must be at least 1 (the first period is paid at acquisition)")
    theta = rng.beta(alpha, beta, n)
    u = rng.random(n)
    # smallest t with (1 - theta)^(t^c) < u; log1p keeps tiny thetas exact
    with np.errstate(divide="ignore"):
        life = np.ceil((np.log(u) / np.log1p(-theta)) ** (1.0 / c))
    life = np.clip(np.nan_to_num(life, nan=1.0, posinf=1e9), 1, 1e9).astype(np.int64)
    churned = life < m
    return pd.DataFrame({"theta": theta, "lifetime": life, "n": np.where(churned, life, m), "churned": churned})
