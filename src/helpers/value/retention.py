"""Retention models for subscriptions (contractual businesses): plain numbers in, plain numbers out.

A subscriber pays for period 1 when acquired and renews at the end of each period until they
cancel; ``T`` is the number of periods paid. Each subscriber churns at each renewal with their own
probability ``theta``, ``theta ~ Beta(alpha, beta)`` across subscribers (heterogeneity: the ones
who stay are the loyal ones, so the retention rate of a cohort rises with its age).

- **sBG** (shifted-beta-geometric; Fader & Hardie 2007, "How to project customer retention",
  Journal of Interactive Marketing 21(1)): ``S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta)``.
- **BdW** (beta-discrete-Weibull; Fader, Hardie, Liu, Davin & Steenburgh 2018, "'How to project
  customer retention' revisited: the role of duration dependence", Journal of Interactive Marketing
  43): ``S(t) = B(alpha, beta + t^c) / B(alpha, beta)``; ``c > 1``: a subscriber's own churn
  probability rises with tenure, ``c < 1``: it falls; ``c = 1`` is the sBG.
- **Geometric** (the naive baseline): one churn probability ``theta`` for everybody,
  ``S(t) = (1 - theta)^t``: it ignores heterogeneity and so underestimates long-run retention.

The data are one row per subscriber: ``n`` periods paid so far and whether they have ``churned``.
A churned subscriber contributes ``P(T = n) = S(n-1) - S(n)``; an active one, in period ``n``
(renewed ``n - 1`` times, the next renewal still to come), ``S(n - 1)``. Likelihoods are summed over
the distinct ``(n, churned)`` rows with weights (at most twice the longest tenure), so a million
subscribers cost what a few hundred rows cost.

Value (Fader & Hardie 2010, "Customer-base valuation in a contractual setting: the perils of
ignoring heterogeneity", Marketing Science 29(1)): the **discounted expected residual lifetime** of
an active subscriber in period ``n``, evaluated just before their next renewal,
``DERL = sum_{k >= n} S(k) / S(n - 1) / (1 + d)^(k - n)`` (``d`` the discount rate per period);
for the sBG ``DERL = (beta + n - 1) / (alpha + beta + n - 1) * 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d))``
(their eq. 6). Times the payment per period, it is the subscriber's residual lifetime value; the
same sum cut after ``K`` renewals is the value over a horizon of ``K`` periods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, hyp2f1

from helpers.value.model import CLVFitError, FitResult, _fit

__all__ = [
    "RETENTION_MODELS",
    "RetentionData",
    "retention_data",
    "log_survival",
    "survival",
    "retention_loglik",
    "fit_retention",
    "fit_sbg",
    "fit_bdw",
    "fit_geometric",
    "derl",
    "derl_sum",
    "holdout_loglik",
    "expected_survivors",
    "survivor_table",
    "value_grid",
    "empirical_survival",
]

#: Retention models by their ``clv.retention_model`` key: display name.
RETENTION_MODELS = {"sbg": "sBG", "bdw": "BdW", "geometric": "geometric"}


@dataclass(frozen=True)
class RetentionData:
    """Distinct ``(n, churned)`` rows and how many subscribers each stands for."""

    n: np.ndarray
    churned: np.ndarray
    weight: np.ndarray

    @property
    def subscribers(self) -> int:
        return int(self.weight.sum())

    @property
    def churn_events(self) -> int:
        return int(self.weight[self.churned].sum())


def retention_data(n, churned, weight=None) -> RetentionData:
    """Collapse per-subscriber ``(n, churned)`` (optionally already weighted) to distinct rows.

    Raises
    ------
    ValueError
        ``n`` below 1 (every subscriber has paid their first period).
    """
    n = np.asarray(n, float)
    churned = np.asarray(churned, bool)
    w = np.ones(len(n)) if weight is None else np.asarray(weight, float)
    if len(n) and n.min() < 1:
        raise ValueError("periods paid (n) must be at least 1 for every subscriber")
    if len(n) == 0:
        return RetentionData(np.zeros(0), np.zeros(0, bool), np.zeros(0))
    key = n * 2 + churned          # n is a whole number of periods: one integer key per (n, churned)
    uk, idx = np.unique(key, return_inverse=True)
    uw = np.bincount(idx.ravel(), weights=w, minlength=len(uk))
    keep = uw > 0
    return RetentionData(np.floor(uk[keep] / 2), (uk[keep] % 2).astype(bool), uw[keep])


def log_survival(model: str, params: dict[str, float], t) -> np.ndarray:
    """``log S(t) = log P(T > t)`` for periods ``t >= 0`` (``S(0) = 1``)."""
    t = np.asarray(t, float)
    if model == "geometric":
        return t * np.log1p(-params["theta"])
    a, b = params["alpha"], params["beta"]
    c = params.get("c", 1.0) if model == "BdW" else 1.0
    if model not in ("sBG", "BdW"):
        raise ValueError(f"unknown retention model {model!r}; models are sBG, BdW and geometric")
    return betaln(a, b + t ** c) - betaln(a, b)


def survival(model: str, params: dict[str, float], t) -> np.ndarray:
    """``S(t)``: the share of a newly acquired cohort still subscribed after ``t`` renewals."""
    return np.exp(log_survival(model, params, t))


def _log_churn_at(model: str, params: dict[str, float], n) -> np.ndarray:
    """``log P(T = n) = log(S(n-1) - S(n))``, computed without cancellation."""
    n = np.asarray(n, float)
    prev, cur = log_survival(model, params, n - 1), log_survival(model, params, n)
    with np.errstate(divide="ignore"):
        return prev + np.log(-np.expm1(np.minimum(cur - prev, 0.0)))


def retention_loglik(model: str, params: dict[str, float], n, churned) -> np.ndarray:
    """Log-likelihood of each subscriber (or distinct row): ``log P(T = n)`` if churned, else ``log S(n-1)``."""
    n = np.asarray(n, float)
    churned = np.asarray(churned, bool)
    return np.where(churned, _log_churn_at(model, params, n), log_survival(model, params, n - 1))


def _check(d: RetentionData) -> None:
    if d.subscribers == 0:
        raise CLVFitError("no subscribers to fit")
    if d.churn_events == 0:
        raise CLVFitError(f"none of the {d.subscribers:,} subscribers has cancelled yet: the churn "
                          "probabilities are not identified (every estimate would sit at zero churn)")
    if d.n.max() <= 1:
        raise CLVFitError("every subscriber has been observed for one period only: renewals are needed "
                          "to learn how retention changes with tenure")


def fit_retention(model: str, d: RetentionData) -> FitResult:
    """Fit ``sBG``, ``BdW`` or ``geometric`` by maximum likelihood (see the module docstring).

    Raises
    ------
    CLVFitError
        No subscriber has cancelled; no renewals observed; no convergence (the fit ran to the edge
        of the parameter space, or the Hessian is singular).
    """
    if model == "sBG":
        return fit_sbg(d)
    if model == "BdW":
        return fit_bdw(d)
    if model == "geometric":
        return fit_geometric(d)
    raise ValueError(f"unknown retention model {model!r}; models are sBG, BdW and geometric")


def _nll(model: str, names: list[str], d: RetentionData):
    def nll(th):
        params = dict(zip(names, np.exp(th), strict=True))
        with np.errstate(all="ignore"):
            v = -(d.weight * retention_loglik(model, params, d.n, d.churned)).sum()
        return v if np.isfinite(v) else 1e300
    return nll


def _dlog_survival(a: float, b: float, c: float, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``log S(t)`` of the BdW (``c = 1``: sBG) and its derivatives in ``alpha``, ``beta``, ``c``."""
    u = t ** c
    ls = betaln(a, b + u) - betaln(a, b)
    dab, dabu = digamma(a + b), digamma(a + b + u)
    d_b_u = digamma(b + u) - dabu
    with np.errstate(divide="ignore", invalid="ignore"):
        dc = np.where(t > 0, d_b_u * u * np.log(np.where(t > 0, t, 1.0)), 0.0)
    return ls, dab - dabu, d_b_u - digamma(b) + dab, dc


def _grad(model: str, names: list[str], d: RetentionData):
    """Analytic gradient of :func:`_nll` in the log-parameters (sBG and BdW).

    Active rows: ``d log S(n-1)``; cancelled rows: ``(d log S(n-1) - r d log S(n)) / (1 - r)`` with
    ``r = S(n) / S(n-1)``; each parameter's derivative times the parameter (the log scale).
    """
    def grad(th):
        p = np.exp(th)
        a, b = p[0], p[1]
        c = p[2] if model == "BdW" else 1.0
        with np.errstate(all="ignore"):
            l0, *g0 = _dlog_survival(a, b, c, d.n - 1)
            l1, *g1 = _dlog_survival(a, b, c, d.n)
            r = np.exp(l1 - l0)
            out = []
            for k in range(len(names)):
                row = np.where(d.churned, (g0[k] - r * g1[k]) / (1 - r), g0[k])
                out.append(-(d.weight * row).sum() * p[k])
            g = np.array(out)
        return g if np.all(np.isfinite(g)) else np.zeros(len(names))
    return grad


def fit_sbg(d: RetentionData) -> FitResult:
    """Fit the sBG (``alpha``, ``beta``) by maximum likelihood over the distinct rows of ``d``."""
    _check(d)
    names = ["alpha", "beta"]
    starts = [np.log([1.0, 1.0]), np.log([0.5, 3.0]), np.log([2.0, 8.0])]
    res = _fit("sBG", names, _nll("sBG", names, d), starts, d.subscribers, len(d.n),
               grad=_grad("sBG", names, d), scale=max(float(d.weight.sum()), 1.0))
    res.extra.update(nll=_nll("sBG", names, d), grad=_grad("sBG", names, d))
    return res


def fit_bdw(d: RetentionData, start: np.ndarray | None = None) -> FitResult:
    """Fit the beta-discrete-Weibull (``alpha``, ``beta``, ``c``); it needs subscribers observed over
    at least three periods to tell duration dependence (``c``) from heterogeneity.

    ``start``: the sBG's log-parameters on the same data (``c = 1`` is the sBG), else fitted here.
    """
    _check(d)
    if np.max(d.n) < 3:
        raise CLVFitError("the beta-discrete-Weibull needs subscribers observed for three periods or more")
    names = ["alpha", "beta", "c"]
    if start is None:
        start = fit_sbg(d).log_params
    starts = [np.r_[start, 0.0], np.log([1.0, 1.0, 1.0]), np.log([0.5, 2.0, 1.5]), np.log([0.5, 2.0, 0.7])]
    res = _fit("BdW", names, _nll("BdW", names, d), starts, d.subscribers, len(d.n),
               grad=_grad("BdW", names, d), scale=max(float(d.weight.sum()), 1.0))
    res.extra.update(nll=_nll("BdW", names, d), grad=_grad("BdW", names, d))
    return res


def fit_geometric(d: RetentionData) -> FitResult:
    """The naive baseline: one churn probability for everybody, ``theta = cancellations / renewal decisions``.

    Closed form; the standard error is the binomial one (``sqrt(theta (1 - theta) / decisions)``),
    carried on the log scale like the other fits.
    """
    if d.subscribers == 0:
        raise CLVFitError("no subscribers to fit")
    churns = float(d.weight[d.churned].sum())
    decisions = float((d.weight * np.where(d.churned, d.n, d.n - 1)).sum())
    if churns == 0 or decisions == 0:
        raise CLVFitError("no cancellations or no renewal decisions observed: the churn rate is not identified")
    theta = churns / decisions
    if theta >= 1:
        raise CLVFitError("every subscriber cancelled at the first renewal: nothing to project")
    var = theta * (1 - theta) / decisions
    ll = float((d.weight * retention_loglik("geometric", {"theta": theta}, d.n, d.churned)).sum())
    return FitResult("geometric", {"theta": theta}, {"theta": float(np.sqrt(var))}, np.log([theta]),
                     np.array([[var / theta ** 2]]), ll, d.subscribers, len(d.n), True, "closed form")


def derl(model: str, params: dict[str, float], n, discount: float, horizon: int | None = None) -> np.ndarray:
    """Discounted expected residual lifetime (in payments) of an active subscriber in period ``n``.

    Parameters
    ----------
    n : array of int
        Periods paid so far (the subscriber is in period ``n``, their next renewal ahead).
    discount : float
        Discount rate per period.
    horizon : int, optional
        Count only the next ``horizon`` renewals (a value over ``horizon`` periods); ``None``: the
        whole residual lifetime. The sBG's whole lifetime uses the closed form of Fader & Hardie
        (2010, eq. 6); everything else sums the series (:func:`derl_sum`).

    Returns
    -------
    array
        Expected discounted number of future payments; the first one (the next renewal) undiscounted.
    """
    n = np.asarray(n, float)
    if horizon is None and model == "sBG":
        if discount <= 0:
            return np.where(params["alpha"] > 1, (params["beta"] + n - 1) / (params["alpha"] - 1), np.inf) \
                * np.ones_like(n)
        a, b = params["alpha"], params["beta"]
        return (b + n - 1) / (a + b + n - 1) * hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + discount))
    return derl_sum(model, params, n, discount, horizon)


def derl_sum(model: str, params: dict[str, float], n, discount: float, horizon: int | None = None,
             tol: float = 1e-10) -> np.ndarray:
    """DERL by summing ``S(k) / S(n - 1) / (1 + d)^(k - n)`` over ``k = n, n + 1, ...``.

    With ``horizon`` the sum has ``horizon`` terms; without it, terms are added until the discount
    factor falls below ``tol`` (the survival ratio is at most 1, so the remainder is below
    ``tol / d``). Used for the BdW and the geometric model, for horizons, and as the plain
    reference of the sBG's closed form in the tests.
    """
    n = np.asarray(n, float)
    if horizon is None:
        if discount <= 0:
            raise ValueError("a whole residual lifetime without discounting is unbounded for heavy-tailed "
                             "lifetimes; give a horizon or a positive discount rate")
        horizon = int(np.ceil(np.log(tol) / -np.log1p(discount)))
    k = np.arange(horizon, dtype=float)
    base = log_survival(model, params, n - 1)
    out = np.zeros(n.shape)
    for lo in range(0, horizon, 512):  # blocks keep memory at len(n) x 512
        kk = k[lo:lo + 512]
        ls = log_survival(model, params, n[..., None] + kk) - base[..., None]
        out += np.exp(ls - kk * np.log1p(discount)).sum(axis=-1)
    return out


def holdout_loglik(model: str, params: dict[str, float], n_start, n_end, churned) -> np.ndarray:
    """Log-likelihood of what happened after a calibration date, per subscriber active then.

    A subscriber in period ``n_start`` at the calibration date either churned later after paying
    ``n_end`` periods (``log P(T = n_end) - log S(n_start - 1)``) or is still subscribed in period
    ``n_end`` (``log S(n_end - 1) - log S(n_start - 1)``).
    """
    n0 = np.asarray(n_start, float)
    base = log_survival(model, params, n0 - 1)
    return retention_loglik(model, params, n_end, churned) - base


def expected_survivors(model: str, params: dict[str, float], n_start, renewals) -> np.ndarray:
    """Probability that a subscriber in period ``n_start`` makes the next ``renewals`` renewals."""
    n0 = np.asarray(n_start, float)
    return np.exp(log_survival(model, params, n0 - 1 + np.asarray(renewals, float))
                  - log_survival(model, params, n0 - 1))


def survivor_table(model: str, params: dict[str, float], periods: int, cohort_size: float = 1000.0) -> pd.DataFrame:
    """Expected survivors of a cohort of ``cohort_size`` after 0..``periods`` renewals."""
    t = np.arange(periods + 1)
    return pd.DataFrame({"period": t, "survivors": cohort_size * survival(model, params, t)})


def _log_survival_draws(model: str, draws: dict[str, np.ndarray], t: np.ndarray) -> np.ndarray:
    """``log S(t)`` for parameter draws (arrays of length D) and periods ``t``: shape (D, len(t))."""
    t = np.asarray(t, float)[None, :]
    if model == "geometric":
        return t * np.log1p(-draws["theta"])[:, None]
    a, b = draws["alpha"][:, None], draws["beta"][:, None]
    c = draws["c"][:, None] if model == "BdW" else 1.0
    return betaln(a, b + t ** c) - betaln(a, b)


def value_grid(model: str, draws: dict[str, np.ndarray], n_max: int, discount: float, horizon: int,
               lifetime: bool = True, tol: float = 1e-10) -> dict[str, np.ndarray]:
    """Per parameter draw and period ``n = 1..n_max``: what an active subscriber in period ``n`` is worth.

    One evaluation of ``S`` per draw over ``t = 0..n_max + J`` and reverse cumulative sums give every
    ``n`` at once: with ``v = 1 / (1 + d)`` and ``R(n) = sum_{k >= n} S(k) v^k``,
    ``DERL(n) = v^-n R(n) / S(n-1)`` and the horizon value ``v^-n (R(n) - R(n + K)) / S(n-1)``.
    The tail is cut where ``v^J < tol`` (its remainder is below ``tol / d``).

    Parameters
    ----------
    draws : dict of arrays
        Parameter name -> values (one per draw; length-1 arrays for a point estimate).
    horizon : int
        ``K``, the renewals counted in the horizon value.
    lifetime : bool
        Also the whole residual lifetime (needs ``discount > 0``).

    Returns
    -------
    dict
        ``horizon`` (discounted payments over the next ``K`` renewals), ``payments`` (the same
        undiscounted: expected payments), ``survive`` (probability of making all ``K`` renewals) and,
        with ``lifetime``, ``lifetime`` (DERL); arrays of shape (D, n_max), column ``n - 1`` for period ``n``.
    """
    if lifetime and discount <= 0:
        raise ValueError("a whole residual lifetime needs a positive discount rate")
    J = int(np.ceil(np.log(tol) / -np.log1p(discount))) if lifetime else 0
    t = np.arange(n_max + max(J, horizon) + 1)
    ls = _log_survival_draws(model, draws, t)          # (D, len(t)); column k is log S(k)
    lv = np.log1p(discount)
    n = np.arange(1, n_max + 1)
    base = ls[:, n - 1]                                 # log S(n - 1)

    def window(disc: float, upto: int | None) -> np.ndarray:
        w = np.exp(ls - t * disc)                       # S(k) v^k
        R = np.cumsum(w[:, ::-1], axis=1)[:, ::-1]      # R(k) = sum_{j >= k} w(j)
        R = np.concatenate([R, np.zeros((len(R), 1))], axis=1)
        hi = R[:, n] if upto is None else R[:, n] - R[:, np.minimum(n + upto, len(t))]
        return hi * np.exp(n * disc - base)

    out = {"horizon": window(lv, horizon), "payments": window(0.0, horizon),
           "survive": np.exp(ls[:, n - 1 + horizon] - base)}
    if lifetime:
        out["lifetime"] = window(lv, None)
    return out


def empirical_survival(n, churned, periods: int) -> pd.DataFrame:
    """Kaplan-Meier share still subscribed after ``t = 0..periods`` renewals, from ``(n, churned)``.

    At renewal ``t`` the subscribers at risk are those who churned at ``t`` or later and the active ones
    in period ``t + 1`` or later (their ``t``-th renewal is behind them); the estimate stops where
    nobody is at risk any more (NaN after that).
    """
    n = np.asarray(n, np.int64)
    churned = np.asarray(churned, bool)
    t = np.arange(1, periods + 1)
    cn, an = np.sort(n[churned]), np.sort(n[~churned])
    at_risk = (len(cn) - np.searchsorted(cn, t, side="left")) + (len(an) - np.searchsorted(an, t + 1, side="left"))
    events = np.bincount(n[churned], minlength=periods + 2)[t]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.cumprod(np.where(at_risk > 0, 1 - events / np.maximum(at_risk, 1), np.nan))
    return pd.DataFrame({"period": np.r_[0, t], "share": np.r_[1.0, s], "at_risk": np.r_[len(n), at_risk]})
