"""Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma by maximum likelihood.

Models (time in ``unit_days``-day units, weeks by default; at most one purchase per customer-day):

- **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): purchase rate
  ``lambda ~ Gamma(r, alpha)``, dropout after each purchase with ``p ~ Beta(a, b)``.
- **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987; likelihood as in Fader & Hardie's note
  "Deriving the Pareto/NBD model"): ``lambda ~ Gamma(r, alpha)``, lifetime exponential with rate
  ``mu ~ Gamma(s, beta)``.
- **Gamma-Gamma** spend (Fader, Hardie & Lee 2005, "RFM and CLV"): a customer's mean repeat spend
  ``m_x`` over ``x`` transactions, with per-transaction ``z ~ Gamma(p, nu)``, ``nu ~ Gamma(q, gamma)``.

Numerics: parameters are optimized on the log scale (L-BFGS-B from several starts); log-likelihoods
use ``gammaln``/``betaln`` and log-space sums (``logaddexp``). The Gauss hypergeometric terms are
Euler-transformed so that they stay bounded for large frequencies and long histories:
BG/NBD's conditional expectation uses ``(1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)`` instead of
``(1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)``; Pareto/NBD's ``2F1(r+s+x, s+1; r+s+x+1; z)`` becomes
``(1-z)^(-s) 2F1(1, r+x; r+s+x+1; z)``, a function between 1 and ``(r+s+x)/s``. Likelihoods are
summed over **unique (x, t_x, T) rows with weights**, so a fit costs what the distinct histories
cost. Standard errors come from the numerical Hessian of the log-likelihood at the optimum
(log scale, mapped to the natural scale by the delta method).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1
from statsmodels.tools.numdiff import approx_fprime, approx_hess3

from helpers.frame.errors import SegreviewError

__all__ = [
    "CLVFitError",
    "FitResult",
    "unique_histories",
    "bgnbd_loglik",
    "paretonbd_loglik",
    "gammagamma_loglik",
    "fit_bgnbd",
    "fit_paretonbd",
    "fit_gammagamma",
    "p_alive",
    "expected_purchases",
    "expected_spend",
    "discounted_expected_transactions",
    "discounted_clv",
    "MODELS",
]


class CLVFitError(SegreviewError):
    """A CLV model cannot be fitted (no repeat buyers, no convergence, singular Hessian)."""


@dataclass
class FitResult:
    """A fitted model: natural-scale parameters with standard errors, and the fit's quality."""

    model: str
    params: dict[str, float]
    se: dict[str, float]
    log_params: np.ndarray
    cov_log: np.ndarray
    loglik: float
    n: int
    n_unique: int
    converged: bool
    message: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def aic(self) -> float:
        """Akaike information criterion, ``2k - 2 LL``."""
        return 2 * len(self.params) - 2 * self.loglik

    def table(self) -> pd.DataFrame:
        """Parameters with standard errors and 95% intervals (log-normal, so they stay positive)."""
        rows = []
        sd = np.sqrt(np.clip(np.diag(self.cov_log), 0, None))
        for (name, v), s in zip(self.params.items(), sd, strict=True):
            rows.append({"model": self.model, "parameter": name, "estimate": v, "std_error": self.se[name],
                         "ci_low": v * np.exp(-1.96 * s), "ci_high": v * np.exp(1.96 * s)})
        return pd.DataFrame(rows)

    def draws(self, n: int, seed: int) -> np.ndarray:
        """Parameter draws from the MLE's asymptotic normal on the log scale, ``(n, k)``."""
        rng = np.random.default_rng(seed)
        return np.exp(rng.multivariate_normal(self.log_params, self.cov_log, size=n, method="svd"))


def _factorize_rows(*cols) -> tuple[np.ndarray, list[np.ndarray]]:
    """Hash-based distinct rows (much faster than ``np.unique(axis=0)``, which sorts byte strings)."""
    df = pd.DataFrame({f"c{i}": np.asarray(c, float) for i, c in enumerate(cols)})
    codes = df.groupby(list(df.columns), sort=False).ngroup().to_numpy()
    first = np.zeros(codes.max() + 1 if len(codes) else 0, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]  # first row of each group
    levels = [df[c].to_numpy()[first] for c in df.columns]
    return codes, levels


def unique_histories(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (x, t_x, T) rows, their counts, and the row of each customer (inverse index)."""
    inverse, (ux, utx, uT) = _factorize_rows(x, t_x, T)
    counts = np.bincount(inverse, minlength=len(ux)).astype(float)
    return ux, utx, uT, counts, inverse


def bgnbd_loglik(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    """BG/NBD log-likelihood of each (x, t_x, T) row (FHL 2005, eq. 6 in logs)."""
    x = np.asarray(x, float)
    xs = np.maximum(x, 1.0)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    a3 = np.where(x > 0, betaln(a + 1, b + xs - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + np.logaddexp(a2, a3)


def _pareto_term(r, alpha, s, beta, x, t) -> np.ndarray:
    """One end of Fader & Hardie's A0 integral at time ``t`` (log scale, Euler-transformed)."""
    x = np.asarray(x, float)
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        return np.log(hyp2f1(1.0, r + x, r + s + x + 1.0, z)) - s * np.log(beta + t) - (r + x) * np.log(alpha + t)
    z = (beta - alpha) / (beta + t)
    return np.log(hyp2f1(1.0, s + 1.0, r + s + x + 1.0, z)) - (r + x - 1.0) * np.log(alpha + t) \
        - (s + 1.0) * np.log(beta + t)


def _pareto_log_a0(r, alpha, s, beta, x, t_x, T, l1=None, l2=None) -> np.ndarray:
    """log of Fader & Hardie's A0 term (the integral over dropout times in (t_x, T)), stable form.

    ``l1``, ``l2``: the terms at ``t_x`` and at ``T`` when already computed (a fit evaluates them
    once per distinct (x, t_x) and (x, T) pair, far fewer than the distinct histories).
    """
    l1 = _pareto_term(r, alpha, s, beta, x, t_x) if l1 is None else l1
    l2 = _pareto_term(r, alpha, s, beta, x, T) if l2 is None else l2
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.log(-np.expm1(np.minimum(l2 - l1, 0.0)))
    return np.where(T > t_x, l1 + diff, -np.inf)


def paretonbd_loglik(r, alpha, s, beta, x, t_x, T, l1=None, l2=None) -> np.ndarray:
    """Pareto/NBD log-likelihood of each (x, t_x, T) row (``l1``, ``l2``: see :func:`_pareto_log_a0`)."""
    x = np.asarray(x, float)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dead = np.log(s / (r + s + x)) + _pareto_log_a0(r, alpha, s, beta, x, t_x, T, l1, l2)
    return base + np.logaddexp(alive, dead)


def gammagamma_loglik(p, q, gamma, x, m_x) -> np.ndarray:
    """Gamma-Gamma log-likelihood of each repeat buyer's (x, m_x)."""
    x = np.asarray(x, float)
    m = np.asarray(m_x, float)
    return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(gamma) + (p * x - 1) * np.log(m)
            + p * x * np.log(x) - (p * x + q) * np.log(gamma + m * x))


def _fit(model: str, names: list[str], nll: Callable[[np.ndarray], float], starts: list[np.ndarray],
         n: int, n_unique: int, grad: Callable[[np.ndarray], np.ndarray] | None = None) -> FitResult:
    """Minimize ``nll`` over log-parameters; ``grad`` (analytic) speeds the search and the Hessian."""
    best = None
    for s0 in starts:  # the first start usually suffices; the others are fallbacks
        with np.errstate(all="ignore"):
            res = minimize(nll, s0, jac=grad, method="L-BFGS-B", bounds=[(-12, 12)] * len(s0),
                           options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-8})
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
        if best is not None and best.success and np.all(np.abs(best.x) < 11.5):
            break
    if best is None:
        raise CLVFitError(f"{model}: the likelihood could not be evaluated at any starting point")
    theta = best.x
    if np.any(np.abs(theta) > 11.5):
        raise CLVFitError(
            f"{model}: the fit ran to the edge of the parameter space "
            f"({dict(zip(names, np.exp(theta).round(4), strict=True))}); "
            "the data do not identify this model (too few repeat purchases?)"
        )
    with np.errstate(all="ignore"):
        if grad is not None:  # Hessian by central differences of the analytic gradient
            H = approx_fprime(theta, grad, centered=True)
            H = (H + H.T) / 2
        else:
            H = approx_hess3(theta, nll)
    try:
        cov = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        raise CLVFitError(
            f"{model}: the Hessian at the optimum is singular; standard errors cannot be computed"
        ) from None
    ok = bool(best.success) and np.all(np.isfinite(cov)) and np.all(np.linalg.eigvalsh((cov + cov.T) / 2) > 0)
    if not ok:
        raise CLVFitError(f"{model}: the fit did not converge to a maximum ({best.message}); "
                          "check that enough customers bought more than once")
    params = dict(zip(names, np.exp(theta), strict=True))
    se = dict(zip(names, np.exp(theta) * np.sqrt(np.diag(cov)), strict=True))
    return FitResult(model, params, se, theta, cov, -float(best.fun), n, n_unique, ok, str(best.message))


def _check_repeat(x) -> None:
    x = np.asarray(x)
    if len(x) == 0:
        raise CLVFitError("no customers to fit")
    if not (x > 0).any():
        raise CLVFitError(f"none of the {len(x):,} customers bought more than once in the calibration period: "
                          "purchase-frequency models (BG/NBD, Pareto/NBD) and Gamma-Gamma cannot be fitted")


def fit_bgnbd(x, t_x, T) -> FitResult:
    """Fit BG/NBD by maximum likelihood over unique histories.

    Parameters
    ----------
    x, t_x, T : array-like
        Repeat purchases, time of the last purchase, time since the first purchase (one per customer).

    Raises
    ------
    CLVFitError
        No repeat buyers, no convergence.
    """
    _check_repeat(x)
    ux, utx, uT, w, _ = unique_histories(x, t_x, T)
    # factorized evaluation: special functions per distinct x, logs per distinct t_x and T
    xi, (dx,) = _factorize_rows(ux)
    ti, (dtx,) = _factorize_rows(utx)
    Ti, (dT,) = _factorize_rows(uT)
    rep = ux > 0
    dxs = np.maximum(dx, 1.0)

    def parts(th):
        r, al, a, b = np.exp(th)
        bab = betaln(a, b)
        a1 = gammaln(r + dx) - gammaln(r) + r * np.log(al)
        b2 = betaln(a, b + dx) - bab
        b3 = np.where(dx > 0, betaln(a + 1, b + dxs - 1) - bab, -np.inf)
        lT, ltx = np.log(al + dT), np.log(al + dtx)
        rx = r + ux
        l2 = b2[xi] - rx * lT[Ti]
        l3 = np.where(rep, b3[xi] - rx * ltx[ti], -np.inf)
        return r, al, a, b, a1, lT, ltx, rx, l2, l3

    def nll(th):
        with np.errstate(all="ignore"):
            *_, a1, _lT, _ltx, _rx, l2, l3 = parts(th)
            v = -(w * (a1[xi] + np.logaddexp(l2, l3))).sum()
        return v if np.isfinite(v) else 1e300

    def grad(th):
        with np.errstate(all="ignore"):
            r, al, a, b, _a1, lT, ltx, rx, l2, l3 = parts(th)
            L = np.logaddexp(l2, l3)
            w2, w3 = np.exp(l2 - L), np.exp(l3 - L)
            dab = digamma(a + b)
            dabx = digamma(a + b + dx)
            # derivatives per distinct x (digamma terms), then per row
            d_r = (digamma(r + dx) - digamma(r) + np.log(al))[xi] - w2 * lT[Ti] - w3 * ltx[ti]
            d_al = r / al - w2 * rx / (al + dT)[Ti] - w3 * rx / (al + dtx)[ti]
            da2 = (dab - dabx)[xi]
            da3 = (digamma(a + 1) - dabx - digamma(a) + dab)[xi]
            db2 = (digamma(b + dx) - dabx - digamma(b) + dab)[xi]
            db3 = (digamma(b + dxs - 1) - dabx - digamma(b) + dab)[xi]
            d_a = w2 * da2 + w3 * np.where(rep, da3, 0.0)
            d_b = w2 * db2 + w3 * np.where(rep, db3, 0.0)
            g = -np.array([(w * d_r).sum() * r, (w * d_al).sum() * al, (w * d_a).sum() * a, (w * d_b).sum() * b])
        return g if np.all(np.isfinite(g)) else np.zeros(4)

    scale = float(np.mean(T)) or 1.0
    starts = [np.log([0.5, scale / 2, 1.0, 2.0]), np.log([1.0, scale, 0.5, 1.0]), np.log([0.2, 4.0, 0.8, 2.5])]
    res = _fit("BG/NBD", ["r", "alpha", "a", "b"], nll, starts, len(np.asarray(x)), len(ux), grad=grad)
    res.extra["grad"] = grad
    res.extra["nll"] = nll
    return res


def fit_paretonbd(x, t_x, T) -> FitResult:
    """Fit Pareto/NBD by maximum likelihood over unique histories (see :func:`fit_bgnbd`)."""
    _check_repeat(x)
    ux, utx, uT, w, _ = unique_histories(x, t_x, T)
    # the hypergeometric terms depend on (x, t_x) and (x, T) only: evaluated once per distinct pair
    i1, (x1, t1) = _factorize_rows(ux, utx)
    i2, (x2, T2) = _factorize_rows(ux, uT)

    def nll(th):
        r, al, s, be = np.exp(th)
        with np.errstate(all="ignore"):
            l1 = _pareto_term(r, al, s, be, x1, t1)[i1]
            l2 = _pareto_term(r, al, s, be, x2, T2)[i2]
            v = -(w * paretonbd_loglik(r, al, s, be, ux, utx, uT, l1, l2)).sum()
        return v if np.isfinite(v) else 1e300

    scale = float(np.mean(T)) or 1.0
    starts = [np.log([0.5, scale / 2, 0.5, scale]), np.log([1.0, scale, 1.0, scale]), np.log([0.5, 10.0, 0.6, 12.0])]
    return _fit("Pareto/NBD", ["r", "alpha", "s", "beta"], nll, starts, len(np.asarray(x)), len(ux))


def fit_gammagamma(x, m_x) -> FitResult:
    """Fit Gamma-Gamma on repeat buyers (x > 0, m_x > 0)."""
    x = np.asarray(x, float)
    m = np.asarray(m_x, float)
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    if keep.sum() < 3:
        raise CLVFitError(f"Gamma-Gamma needs repeat buyers with positive spend; only {int(keep.sum())} found")
    xk, mk = x[keep], m[keep]
    xi, (dx,) = _factorize_rows(xk)
    log_m, log_x, mx = np.log(mk), np.log(xk), mk * xk
    sum_q_terms = len(xk)

    def nll(th):
        p, q, g = np.exp(th)
        per_x = gammaln(p * dx + q) - gammaln(p * dx)
        px = p * xk
        ll = per_x[xi].sum() + sum_q_terms * (q * np.log(g) - gammaln(q)) + ((px - 1) * log_m + px * log_x
                                                                            - (px + q) * np.log(g + mx)).sum()
        v = -ll
        return v if np.isfinite(v) else 1e300

    def grad(th):
        p, q, g = np.exp(th)
        pxq = digamma(p * dx + q)
        d_pq = pxq[xi]
        d_px = digamma(p * dx)[xi]
        lg = np.log(g + mx)
        dp = (xk * (d_pq - d_px + log_m + log_x - lg)).sum()
        dq = (d_pq - digamma(q) + np.log(g) - lg).sum()
        dg = (q / g - (p * xk + q) / (g + mx)).sum()
        out = -np.array([dp * p, dq * q, dg * g])
        return out if np.all(np.isfinite(out)) else np.zeros(3)

    mean = float(np.mean(mk))
    starts = [np.log([1.0, 2.0, mean]), np.log([5.0, 4.0, mean]), np.log([2.0, 3.0, mean / 2])]
    res = _fit("Gamma-Gamma", ["p", "q", "gamma"], nll, starts, len(xk), len(xk), grad=grad)
    res.extra["grad"] = grad
    res.extra["nll"] = nll
    if res.params["q"] <= 1:
        raise CLVFitError(f"Gamma-Gamma: q = {res.params['q']:.3f} <= 1, so expected spend is infinite; "
                          "spend is too heavy-tailed for this model (winsorize outliers?)")
    return res


def p_alive(model: str, params: dict[str, float], x, t_x, T) -> np.ndarray:
    """Probability that each customer is still active at T."""
    x = np.asarray(x, float)
    if model == "BG/NBD":
        r, al, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
        xs = np.maximum(x, 1.0)
        logodds = np.log(a) - np.log(b + xs - 1) + (r + x) * (np.log(al + T) - np.log(al + t_x))
        return np.where(x > 0, expit(-logodds), 1.0)
    r, al, s, be = (params[k] for k in ("r", "alpha", "s", "beta"))
    lo = np.log(s / (r + s + x)) + (r + x) * np.log(al + T) + s * np.log(be + T) + \
        _pareto_log_a0(r, al, s, be, x, t_x, T)
    return expit(-lo)


def expected_purchases(model: str, params: dict[str, float], t, x, t_x, T) -> np.ndarray:
    """Expected purchases in (T, T + t] given each customer's history."""
    x = np.asarray(x, float)
    t = np.asarray(t, float)
    pa = p_alive(model, params, x, t_x, T)
    if model == "BG/NBD":
        r, al, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
        z = t / (al + T + t)
        ratio = (al + T) / (al + T + t)
        inner = 1.0 - ratio ** (a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
        return (a + b + x - 1.0) / (a - 1.0) * inner * pa
    r, al, s, be = (params[k] for k in ("r", "alpha", "s", "beta"))
    L = np.log((be + T) / (be + T + t))
    if abs(s - 1.0) < 1e-9:
        frac = -L
    else:
        frac = -np.expm1((s - 1.0) * L) / (s - 1.0)
    return (r + x) * (be + T) / (al + T) * frac * pa


def expected_spend(params: dict[str, float], x, m_x, population_mean: bool = True) -> np.ndarray:
    """Gamma-Gamma conditional expected spend per transaction; customers with x = 0 get the mean."""
    p, q, g = (params[k] for k in ("p", "q", "gamma"))
    x = np.asarray(x, float)
    m = np.nan_to_num(np.asarray(m_x, float))
    cond = (g + m * x) * p / (p * x + q - 1.0)
    return np.where(x > 0, cond, p * g / (q - 1.0))


def _purchase_curve(model: str, params: dict[str, float], t, x, T) -> np.ndarray:
    """The part of E[Y(t) | x, t_x, T] that does not depend on t_x: E = curve(x, T, t) * P(alive)."""
    x = np.asarray(x, float)
    if model == "BG/NBD":
        r, al, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
        z = t / (al + T + t)
        ratio = (al + T) / (al + T + t)
        return (
            (a + b + x - 1.0)
            / (a - 1.0)
            * (1.0 - ratio ** (a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z))
        )
    r, al, s, be = (params[k] for k in ("r", "alpha", "s", "beta"))
    L = np.log((be + T) / (be + T + t))
    frac = -L if abs(s - 1.0) < 1e-9 else -np.expm1((s - 1.0) * L) / (s - 1.0)
    return (r + x) * (be + T) / (al + T) * frac


def discounted_expected_transactions(model: str, params: dict[str, float], x, t_x, T, months: int,
                                     annual_discount: float, unit_days: float = 7.0,
                                     pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Discounted expected purchases over ``months`` months for each (x, t_x, T) row.

    Exact and fast: the hypergeometric part depends on (x, T) only, so it is computed once per
    distinct (x, T) pair and multiplied by each row's P(alive). ``pairs`` (distinct x, distinct T,
    row index) can be passed when scoring many parameter draws of the same customers.
    """
    x = np.asarray(x, float)
    T = np.asarray(T, float)
    if pairs is None:
        idx, (px, pT) = _factorize_rows(x, T)
    else:
        px, pT, idx = pairs
    month = 365.25 / 12 / unit_days
    d = (1.0 + annual_discount) ** (1 / 12) - 1.0
    prev = np.zeros(len(px))
    det = np.zeros(len(px))
    for m in range(1, months + 1):
        cur = _purchase_curve(model, params, m * month, px, pT)
        det += (cur - prev) / (1.0 + d) ** m
        prev = cur
    return det[idx] * p_alive(model, params, x, t_x, T)


def discounted_clv(model: str, params: dict[str, float], spend: np.ndarray, x, t_x, T, months: int,
                   annual_discount: float, unit_days: float = 7.0) -> np.ndarray:
    """Discounted value of the next ``months`` months (monthly approximation, as lifetimes does).

    ``CLV = sum_{m=1..M} (E[Y(m)] - E[Y(m-1)]) * spend / (1 + d)^m`` with the monthly rate
    ``d = (1 + annual_discount)^(1/12) - 1`` and a month of 365.25/12 days.
    """
    month = 365.25 / 12 / unit_days
    d = (1.0 + annual_discount) ** (1 / 12) - 1.0
    prev = np.zeros(len(np.asarray(x)))
    total = np.zeros_like(prev)
    for m in range(1, months + 1):
        cur = expected_purchases(model, params, m * month, x, t_x, T)
        total += (cur - prev) / (1.0 + d) ** m
        prev = cur
    return total * spend


MODELS = {"bgnbd": ("BG/NBD", fit_bgnbd), "paretonbd": ("Pareto/NBD", fit_paretonbd)}
