"""Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma by maximum likelihood.

Models (time in ``unit_days``-day units, weeks by default; at most one purchase per customer-day):

- **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): purchase rate
  ``lambda ~ Gamma(r, alpha)``, dropout after each purchase with ``p ~ Beta(a, b)``.
- **MBG/NBD** (Batislam, Denizel & Filiztekin 2007, "Empirical validation and comparison of models
  for customer base analysis"): as BG/NBD, but a customer may also drop out right after the first
  purchase (at time 0), so a one-time buyer is not alive by assumption.
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
from threadpoolctl import threadpool_limits

from helpers.frame.errors import SegreviewError

__all__ = [
    "CLVFitError",
    "SpendNotIdentified",
    "EdgeOfParameterSpace",
    "FitResult",
    "unique_histories",
    "bgnbd_loglik",
    "paretonbd_loglik",
    "gammagamma_loglik",
    "mbgnbd_loglik",
    "fit_bgnbd",
    "fit_mbgnbd",
    "fit_paretonbd",
    "fit_gammagamma",
    "fit_common_spend",
    "fit_spend",
    "p_alive",
    "expected_purchases",
    "p_no_purchase",
    "expected_spend",
    "discounted_expected_transactions",
    "det_tables",
    "det_rows",
    "HistoryIndex",
    "history_index",
    "p_alive_indexed",
    "discounted_clv",
    "MODELS",
]


class CLVFitError(SegreviewError):
    """A CLV model cannot be fitted (no repeat buyers, no convergence, singular Hessian)."""


class EdgeOfParameterSpace(CLVFitError):
    """The maximum likelihood lies at the edge of the parameter space: the data do not identify the model.

    ``params``: where the search stopped (natural scale).
    """

    def __init__(self, message: str, params: dict[str, float]):
        super().__init__(message)
        self.params = params


class SpendNotIdentified(CLVFitError):
    """Gamma-Gamma's ``q <= 1``: spend so heavy-tailed that the expected spend per purchase is infinite."""


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
    return _bg_family_loglik(r, alpha, a, b, x, t_x, T, shift=0)


def mbgnbd_loglik(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    """MBG/NBD log-likelihood of each (x, t_x, T) row (Batislam et al. 2007, eq. 6 in logs).

    ``L = Gamma(r+x) alpha^r / Gamma(r) * [B(a, b+x+1) (alpha+T)^-(r+x) + B(a+1, b+x) (alpha+t_x)^-(r+x)] / B(a, b)``:
    the second term (dropout right after the last purchase, possibly the first one at time 0) exists
    for every customer, one-time buyers included.
    """
    return _bg_family_loglik(r, alpha, a, b, x, t_x, T, shift=1)


def _bg_family_loglik(r, alpha, a, b, x, t_x, T, shift: int) -> np.ndarray:
    """BG/NBD (``shift=0``) and MBG/NBD (``shift=1``): the two differ only in ``k = x + shift``, the
    number of dropout chances a customer survived (MBG/NBD adds one at time 0)."""
    x = np.asarray(x, float)
    k = x + shift
    ks = np.maximum(k, 1.0)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + k) - betaln(a, b) - (r + x) * np.log(alpha + T)
    a3 = np.where(k > 0, betaln(a + 1, b + ks - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x), -np.inf)
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
         n: int, n_unique: int, grad: Callable[[np.ndarray], np.ndarray] | None = None,
         scale: float = 1.0) -> FitResult:
    """Minimize ``nll`` over log-parameters; ``grad`` (analytic) speeds the search and the Hessian.

    ``scale``: the search minimizes ``nll / scale`` (e.g. the number of customers, so that the
    gradient of a likelihood without an analytic one is of order one and L-BFGS-B's first line
    search does not overshoot); the Hessian, and so the standard errors, are those of ``nll``.
    """
    # L-BFGS-B calls BLAS on vectors of 2-4 numbers: OpenBLAS's threads only add their wake-ups (30x
    # slower fits on a busy machine), so the search runs with one BLAS thread
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_search(model, names, nll, starts, n, n_unique, grad, scale)


def _fit_search(model: str, names: list[str], nll: Callable[[np.ndarray], float], starts: list[np.ndarray],
                n: int, n_unique: int, grad: Callable[[np.ndarray], np.ndarray] | None, scale: float) -> FitResult:
    best = None
    f = (lambda th: nll(th) / scale) if scale != 1.0 else nll
    g = (lambda th: grad(th) / scale) if (grad is not None and scale != 1.0) else grad
    for s0 in starts:  # the first start usually suffices; the others are fallbacks
        with np.errstate(all="ignore"):
            res = minimize(f, s0, jac=g, method="L-BFGS-B", bounds=[(-12, 12)] * len(s0),
                           options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-8})
            res.fun = res.fun * scale
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
        if best is not None and best.success and np.all(np.abs(best.x) < 11.5):
            break
    if best is None:
        raise CLVFitError(f"{model}: the likelihood could not be evaluated at any starting point")
    theta = best.x
    if np.any(np.abs(theta) > 11.5):
        at = dict(zip(names, np.exp(theta), strict=True))
        raise EdgeOfParameterSpace(
            f"{model}: the fit ran to the edge of the parameter space "
            f"({ {k: float(round(v, 4)) for k, v in at.items()} }); "
            "the data do not identify this model (too few repeat purchases?)", at)
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


def fit_bgnbd(x, t_x, T, start: np.ndarray | None = None) -> FitResult:
    """Fit BG/NBD by maximum likelihood over unique histories.

    Parameters
    ----------
    x, t_x, T : array-like
        Repeat purchases, time of the last purchase, time since the first purchase (one per customer).
    start : array, optional
        Log-parameters to start the search from (e.g. the same model's estimate on a shorter history),
        tried before the default starts.

    Raises
    ------
    CLVFitError
        No repeat buyers, no convergence.
    """
    return _fit_bg_family(x, t_x, T, shift=0, start=start)


def fit_mbgnbd(x, t_x, T, start: np.ndarray | None = None) -> FitResult:
    """Fit MBG/NBD by maximum likelihood over unique histories (see :func:`fit_bgnbd`)."""
    return _fit_bg_family(x, t_x, T, shift=1, start=start)


def _fit_bg_family(x, t_x, T, shift: int, start: np.ndarray | None = None) -> FitResult:
    """BG/NBD (``shift=0``) or MBG/NBD (``shift=1``) with the analytic gradient (see :func:`_bg_family_loglik`)."""
    _check_repeat(x)
    ux, utx, uT, w, _ = unique_histories(x, t_x, T)
    # factorized evaluation: special functions per distinct x, logs per distinct t_x and T
    xi, (dx,) = _factorize_rows(ux)
    ti, (dtx,) = _factorize_rows(utx)
    Ti, (dT,) = _factorize_rows(uT)
    dk = dx + shift
    rep = (ux + shift) > 0
    dks = np.maximum(dk, 1.0)

    def parts(th):
        r, al, a, b = np.exp(th)
        bab = betaln(a, b)
        a1 = gammaln(r + dx) - gammaln(r) + r * np.log(al)
        b2 = betaln(a, b + dk) - bab
        b3 = np.where(dk > 0, betaln(a + 1, b + dks - 1) - bab, -np.inf)
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
            dabk = digamma(a + b + dk)
            # derivatives per distinct x (digamma terms), then per row
            d_r = (digamma(r + dx) - digamma(r) + np.log(al))[xi] - w2 * lT[Ti] - w3 * ltx[ti]
            d_al = r / al - w2 * rx / (al + dT)[Ti] - w3 * rx / (al + dtx)[ti]
            da2 = (dab - dabk)[xi]
            da3 = (digamma(a + 1) - dabk - digamma(a) + dab)[xi]
            db2 = (digamma(b + dk) - dabk - digamma(b) + dab)[xi]
            db3 = (digamma(b + dks - 1) - dabk - digamma(b) + dab)[xi]
            d_a = w2 * da2 + w3 * np.where(rep, da3, 0.0)
            d_b = w2 * db2 + w3 * np.where(rep, db3, 0.0)
            g = -np.array([(w * d_r).sum() * r, (w * d_al).sum() * al, (w * d_a).sum() * a, (w * d_b).sum() * b])
        return g if np.all(np.isfinite(g)) else np.zeros(4)

    scale = float(np.mean(T)) or 1.0
    starts = [np.log([0.5, scale / 2, 1.0, 2.0]), np.log([1.0, scale, 0.5, 1.0]), np.log([0.2, 4.0, 0.8, 2.5])]
    starts = ([np.asarray(start, float)] if start is not None else []) + starts
    name = "MBG/NBD" if shift else "BG/NBD"
    res = _fit(name, ["r", "alpha", "a", "b"], nll, starts, len(np.asarray(x)), len(ux), grad=grad)
    res.extra["grad"] = grad
    res.extra["nll"] = nll
    return res


def fit_paretonbd(x, t_x, T, start: np.ndarray | None = None) -> FitResult:
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
    starts = ([np.asarray(start, float)] if start is not None else []) + starts
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
    try:
        res = _fit("Gamma-Gamma", ["p", "q", "gamma"], nll, starts, len(xk), len(xk), grad=grad)
    except EdgeOfParameterSpace as e:
        if e.params["p"] > 1e4 and e.params["q"] < 2:
            # p -> infinity, gamma -> 0: no spread of spend within a customer, and between customers a
            # tail of index q near 1, where the mean spend barely exists: the heavy-tail failure of q <= 1
            raise SpendNotIdentified(f"Gamma-Gamma: the fit ran to the edge of the parameter space with q = "
                                     f"{e.params['q']:.3f} and p without bound; spend is too heavy-tailed for this "
                                     "model (winsorize outliers?)") from None
        raise
    res.extra["grad"] = grad
    res.extra["nll"] = nll
    if res.params["q"] <= 1:
        raise SpendNotIdentified(f"Gamma-Gamma: q = {res.params['q']:.3f} <= 1, so expected spend is infinite; "
                          "spend is too heavy-tailed for this model (winsorize outliers?)")
    return res


def fit_common_spend(x, m_x) -> FitResult:
    """One expected spend per purchase for everybody: the mean spend of the repeat purchases.

    The limit of Gamma-Gamma when customers' average spends do not differ beyond chance (``q`` and
    ``gamma`` without bound, ``p gamma / (q - 1)`` fixed): ``mean = sum(x m_x) / sum(x)`` over repeat
    buyers, its standard error the ratio estimator's ``sqrt(sum(x^2 (m_x - mean)^2)) / sum(x)``.
    """
    x = np.asarray(x, float)
    m = np.asarray(m_x, float)
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    if keep.sum() < 3:
        raise CLVFitError(f"the spend model needs repeat buyers with positive spend; only {int(keep.sum())} found")
    xk, mk = x[keep], m[keep]
    mean = float((xk * mk).sum() / xk.sum())
    se = float(np.sqrt((xk ** 2 * (mk - mean) ** 2).sum()) / xk.sum())
    return FitResult("common spend", {"mean": mean}, {"mean": se}, np.log([mean]), np.array([[(se / mean) ** 2]]),
                     float("nan"), int(keep.sum()), int(keep.sum()), True, "closed form")


def fit_spend(x, m_x) -> FitResult:
    """Gamma-Gamma, or its limit :func:`fit_common_spend` when customers' spend levels do not differ.

    Raises
    ------
    SpendNotIdentified
        Spend too heavy-tailed for Gamma-Gamma (``q <= 1``, or at the edge with ``q`` near 1).
    CLVFitError
        Too few repeat buyers; no convergence for another reason.
    """
    try:
        return fit_gammagamma(x, m_x)
    except EdgeOfParameterSpace as e:
        if e.params["q"] > 1e3 and e.params["gamma"] > 1e3:
            return fit_common_spend(x, m_x)
        raise


_SHIFT = {"BG/NBD": 0, "MBG/NBD": 1}


def _check_model(model: str) -> None:
    if model not in ("BG/NBD", "MBG/NBD", "Pareto/NBD"):
        raise ValueError(f"unknown purchase model {model!r}; models are BG/NBD, MBG/NBD and Pareto/NBD")


def p_alive(model: str, params: dict[str, float], x, t_x, T) -> np.ndarray:
    """Probability that each customer is still active at T.

    BG/NBD: 1 for customers who never bought again (the model lets customers drop out only after a
    repeat purchase). MBG/NBD and Pareto/NBD: below 1 for them too, falling with the time since the
    first purchase.
    """
    _check_model(model)
    x = np.asarray(x, float)
    if model in _SHIFT:
        r, al, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
        k = x + _SHIFT[model]
        ks = np.maximum(k, 1.0)
        logodds = np.log(a) - np.log(b + ks - 1) + (r + x) * (np.log(al + T) - np.log(al + t_x))
        return np.where(k > 0, expit(-logodds), 1.0)
    r, al, s, be = (params[k] for k in ("r", "alpha", "s", "beta"))
    lo = np.log(s / (r + s + x)) + (r + x) * np.log(al + T) + s * np.log(be + T) + \
        _pareto_log_a0(r, al, s, be, x, t_x, T)
    return expit(-lo)


def expected_purchases(model: str, params: dict[str, float], t, x, t_x, T) -> np.ndarray:
    """Expected purchases in (T, T + t] given each customer's history."""
    x = np.asarray(x, float)
    t = np.asarray(t, float)
    return _purchase_curve(model, params, t, x, T) * p_alive(model, params, x, t_x, T)


#: Gauss-Legendre nodes and weights on [0, 1] for the Pareto/NBD "first purchase before dropout" integral.
_GL_NODES, _GL_WEIGHTS = (lambda n, w: ((n + 1) / 2, w / 2))(*np.polynomial.legendre.leggauss(48))


def p_no_purchase(model: str, params: dict[str, float], t, x, t_x, T) -> np.ndarray:
    """Probability that a customer makes no purchase in (T, T + t] given their history.

    BG/NBD and MBG/NBD: dead already, or alive and silent: ``1 - P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x))``
    (dropout happens only at purchases, so the first purchase after T comes at the posterior
    Poisson rate). Pareto/NBD: alive customers buy before dropping out with probability
    ``E[lambda/(lambda+mu) (1 - exp(-(lambda+mu) t))] = int_0^t E[lambda exp(-(lambda+mu) u)] du``
    under the posteriors ``lambda ~ Gamma(r+x, alpha+T)``, ``mu ~ Gamma(s, beta+T)``; the integral
    has a smooth, decreasing integrand and is computed with 48-point Gauss-Legendre quadrature.
    """
    _check_model(model)
    x = np.asarray(x, float)
    T = np.asarray(T, float)
    t = np.asarray(t, float)
    pa = p_alive(model, params, x, t_x, T)
    if model in _SHIFT:
        r, al = params["r"], params["alpha"]
        buy = -np.expm1((r + x) * np.log((al + T) / (al + T + t)))
        return 1.0 - pa * buy
    r, al, s, be = (params[k] for k in ("r", "alpha", "s", "beta"))
    # the integral depends on (x, T, t) only: once per distinct triple
    xb, Tb, tb = np.broadcast_arrays(x, T, t)
    idx, (ux, uT, ut) = _factorize_rows(xb.ravel(), Tb.ravel(), tb.ravel())
    u = ut[:, None] * _GL_NODES
    xe, Te = ux[:, None], uT[:, None]
    f = (r + xe) / (al + Te) * ((al + Te) / (al + Te + u)) ** (r + xe + 1) * ((be + Te) / (be + Te + u)) ** s
    buy = ((f * _GL_WEIGHTS).sum(axis=-1) * ut)[idx].reshape(xb.shape)
    return 1.0 - pa * buy


def expected_spend(params: dict[str, float], x, m_x, population_mean: bool = True) -> np.ndarray:
    """Gamma-Gamma conditional expected spend per transaction; customers with x = 0 get the mean.

    With the common-spend model (:func:`fit_common_spend`, parameter ``mean``) everybody gets the mean.
    """
    x = np.asarray(x, float)
    if "mean" in params:
        return np.full(x.shape, params["mean"])
    p, q, g = (params[k] for k in ("p", "q", "gamma"))
    m = np.nan_to_num(np.asarray(m_x, float))
    cond = (g + m * x) * p / (p * x + q - 1.0)
    return np.where(x > 0, cond, p * g / (q - 1.0))


def _purchase_curve(model: str, params: dict[str, float], t, x, T) -> np.ndarray:
    """The part of E[Y(t) | x, t_x, T] that does not depend on t_x: E = curve(x, T, t) * P(alive).

    BG/NBD and MBG/NBD, with ``k = x`` (BG/NBD) or ``x + 1`` (MBG/NBD) survived dropout chances:
    ``(a+b+k-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(a-1) 2F1(a+b+k-1-r-x, a-1; a+b+k-1; t/(alpha+T+t))]``,
    the Euler transform of the published ``1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+k; a+b+k-1; .)``.
    """
    _check_model(model)
    x = np.asarray(x, float)
    if model in _SHIFT:
        r, al, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
        c = a + b + x + _SHIFT[model] - 1.0
        z = t / (al + T + t)
        ratio = (al + T) / (al + T + t)
        return c / (a - 1.0) * (1.0 - ratio ** (a - 1.0) * hyp2f1(c - r - x, a - 1.0, c, z))
    r, al, s, be = (params[k] for k in ("r", "alpha", "s", "beta"))
    L = np.log((be + T) / (be + T + t))
    frac = -L if abs(s - 1.0) < 1e-9 else -np.expm1((s - 1.0) * L) / (s - 1.0)
    return (r + x) * (be + T) / (al + T) * frac


@dataclass(frozen=True)
class HistoryIndex:
    """Rows (x, t_x, T) with their distinct values and pairs, for evaluating many parameter draws.

    ``pair_*``: distinct (x, T) pairs and each row's pair (the hypergeometric part of BG/NBD-type
    expectations); ``x_*``, ``tx_*``, ``T_*``: distinct values and each row's (logs in P(alive));
    ``xtx_*``: distinct (x, t_x) pairs (Pareto/NBD's integral at t_x).
    """

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    pair_idx: np.ndarray
    pair_x: np.ndarray
    pair_T: np.ndarray
    x_idx: np.ndarray
    x_vals: np.ndarray
    tx_idx: np.ndarray
    tx_vals: np.ndarray
    T_idx: np.ndarray
    T_vals: np.ndarray
    xtx_idx: np.ndarray
    xtx_x: np.ndarray
    xtx_t: np.ndarray

    def rows(self, idx: np.ndarray) -> HistoryIndex:
        """The index of rows ``idx`` only, with the same distinct values and pairs (so the tables of
        :func:`det_tables` built on this index apply to it)."""
        return HistoryIndex(self.x[idx], self.t_x[idx], self.T[idx], self.pair_idx[idx], self.pair_x, self.pair_T,
                            self.x_idx[idx], self.x_vals, self.tx_idx[idx], self.tx_vals, self.T_idx[idx],
                            self.T_vals, self.xtx_idx[idx], self.xtx_x, self.xtx_t)


def history_index(x, t_x, T) -> HistoryIndex:
    """The :class:`HistoryIndex` of rows (x, t_x, T), usually the unique histories of a customer base."""
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    pidx, (px, pT) = _factorize_rows(x, T)
    xi, (dx,) = _factorize_rows(x)
    ti, (dtx,) = _factorize_rows(t_x)
    Ti, (dT,) = _factorize_rows(T)
    ki, (kx, kt) = _factorize_rows(x, t_x)
    return HistoryIndex(x, t_x, T, pidx, px, pT, xi, dx, ti, dtx, Ti, dT, ki, kx, kt)


def p_alive_indexed(model: str, params: dict[str, float], h: HistoryIndex) -> np.ndarray:
    """:func:`p_alive` of the rows of ``h``, with logs and special functions once per distinct value.

    The same numbers as ``p_alive(model, params, h.x, h.t_x, h.T)`` (tested); several times faster
    when rows share their x, t_x and T, as the unique histories of a customer base do.
    """
    _check_model(model)
    if model in _SHIFT:
        r, al, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
        k = h.x_vals + _SHIFT[model]
        ks = np.maximum(k, 1.0)
        base = (np.log(a) - np.log(b + ks - 1))[h.x_idx]
        logodds = base + (r + h.x) * (np.log(al + h.T_vals)[h.T_idx] - np.log(al + h.tx_vals)[h.tx_idx])
        return np.where((k > 0)[h.x_idx], expit(-logodds), 1.0)
    r, al, s, be = (params[k] for k in ("r", "alpha", "s", "beta"))
    l1 = _pareto_term(r, al, s, be, h.xtx_x, h.xtx_t)[h.xtx_idx]
    l2 = _pareto_term(r, al, s, be, h.pair_x, h.pair_T)[h.pair_idx]
    lo = np.log(s / (r + s + h.x)) + (r + h.x) * np.log(al + h.T) + s * np.log(be + h.T) + \
        _pareto_log_a0(r, al, s, be, h.x, h.t_x, h.T, l1, l2)
    return expit(-lo)


def discounted_expected_transactions(model: str, params: dict[str, float], x, t_x, T, months: int,
                                     annual_discount: float, unit_days: float = 7.0,
                                     index: HistoryIndex | None = None) -> np.ndarray:
    """Discounted expected purchases over ``months`` months for each (x, t_x, T) row.

    Exact and fast: the hypergeometric part depends on (x, T) only, so it is computed once per
    distinct (x, T) pair and multiplied by each row's P(alive). ``index`` (:func:`history_index` of the
    same rows) can be passed when scoring many parameter draws of the same customers; then P(alive)
    is computed once per distinct value too (:func:`p_alive_indexed`).
    """
    h = index if index is not None else history_index(x, t_x, T)
    month = 365.25 / 12 / unit_days
    d = (1.0 + annual_discount) ** (1 / 12) - 1.0
    prev = np.zeros(len(h.pair_x))
    det = np.zeros(len(h.pair_x))
    for m in range(1, months + 1):
        cur = _purchase_curve(model, params, m * month, h.pair_x, h.pair_T)
        det += (cur - prev) / (1.0 + d) ** m
        prev = cur
    return det[h.pair_idx] * p_alive_indexed(model, params, h)


def det_tables(model: str, params: dict[str, float], h: HistoryIndex, months: int, annual_discount: float,
               unit_days: float = 7.0) -> dict[str, np.ndarray]:
    """The parts of :func:`discounted_expected_transactions` that depend on distinct values only.

    The hypergeometric sums per distinct (x, T) pair (and Pareto/NBD's integral terms per distinct
    (x, t_x) and (x, T) pair), the logs per distinct x, t_x and T: a few thousand numbers per parameter
    draw whatever the number of customers. :func:`det_rows` turns them into any rows' values, the
    same numbers bit for bit as :func:`discounted_expected_transactions` (the same operations on the
    same operands, element by element; tested), so a caller can keep the tables of every draw and
    evaluate the rows block by block.
    """
    _check_model(model)
    month = 365.25 / 12 / unit_days
    d = (1.0 + annual_discount) ** (1 / 12) - 1.0
    prev = np.zeros(len(h.pair_x))
    det = np.zeros(len(h.pair_x))
    for m in range(1, months + 1):
        cur = _purchase_curve(model, params, m * month, h.pair_x, h.pair_T)
        det += (cur - prev) / (1.0 + d) ** m
        prev = cur
    if model in _SHIFT:
        r, al, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
        k = h.x_vals + _SHIFT[model]
        ks = np.maximum(k, 1.0)
        return {"det": det, "base": np.log(a) - np.log(b + ks - 1), "repeat": k > 0,
                "log_T": np.log(al + h.T_vals), "log_tx": np.log(al + h.tx_vals)}
    r, al, s, be = (params[k] for k in ("r", "alpha", "s", "beta"))
    return {"det": det, "l1": _pareto_term(r, al, s, be, h.xtx_x, h.xtx_t),
            "l2": _pareto_term(r, al, s, be, h.pair_x, h.pair_T)}


def det_rows(model: str, params: dict[str, float], h: HistoryIndex, tables: dict[str, np.ndarray]) -> np.ndarray:
    """Discounted expected purchases of the rows of ``h`` from the :func:`det_tables` of the same
    model and parameters, built on ``h`` or on the index that ``h`` is :meth:`HistoryIndex.rows` of.

    Equal bit for bit to ``discounted_expected_transactions(model, params, ..., index=full)[rows]``:
    each row's value is the very sequence of operations of :func:`p_alive_indexed` on the same
    operands.
    """
    if model in _SHIFT:
        r = params["r"]
        logodds = tables["base"][h.x_idx] + (r + h.x) * (tables["log_T"][h.T_idx] - tables["log_tx"][h.tx_idx])
        pa = np.where(tables["repeat"][h.x_idx], expit(-logodds), 1.0)
    else:
        r, al, s, be = (params[k] for k in ("r", "alpha", "s", "beta"))
        l1 = tables["l1"][h.xtx_idx]
        l2 = tables["l2"][h.pair_idx]
        lo = np.log(s / (r + s + h.x)) + (r + h.x) * np.log(al + h.T) + s * np.log(be + h.T) + \
            _pareto_log_a0(r, al, s, be, h.x, h.t_x, h.T, l1, l2)
        pa = expit(-lo)
    return tables["det"][h.pair_idx] * pa


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


#: Purchase models by their ``clv.model`` key: (name, fitting function).
MODELS = {"bgnbd": ("BG/NBD", fit_bgnbd), "mbgnbd": ("MBG/NBD", fit_mbgnbd), "paretonbd": ("Pareto/NBD", fit_paretonbd)}
