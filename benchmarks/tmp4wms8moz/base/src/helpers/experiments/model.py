"""Statistics of A/B tests, as pure functions (every convention stated; README "Experiments").

- **SRM**: chi-square goodness of fit of the arm sizes against the planned split; mismatch when
  ``p < srm_alpha`` (0.001).
- **Conversion**: two-proportion z-test with the **pooled** standard error for the test statistic
  and the **unpooled** standard error for the confidence interval of the difference.
- **Means** (revenue per customer): Welch's t-test and Welch-Satterthwaite degrees of freedom.
- **Relative lift** ``treatment / control - 1`` with a **delta-method** standard error
  ``sqrt(v1 / m0^2 + m1^2 v0 / m0^4)`` (``v = variance of the arm mean``), labelled as such.
- **CUPED**: ``theta = cov(y, x) / var(x)`` on both arms pooled, ``y_adj = y - theta (x - mean x)``,
  then Welch's test on ``y_adj``; variance reduction ``1 - var(y_adj) / var(y)``.
- **Ratio metric** (average order value = revenue / orders per arm) by the delta method.
- **Bayesian**: Beta(1, 1) priors for conversion (Monte Carlo, seeded); normal approximation
  for means; chance to beat control and expected loss of shipping.
- **Power and MDE**: normal approximation, ``MDE = (z_{1-alpha/2} + z_{power}) * SE(diff)``;
  achieved power ``Phi(|diff| / SE - z_{1-alpha/2})``.
- **Multiple comparisons**: Holm for the confirmatory primary metric across experiments,
  Benjamini-Hochberg for secondary metrics and segments; a result is significant when the
  adjusted p-value is **at most** alpha (p exactly at alpha counts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

__all__ = [
    "Effect",
    "srm_test",
    "two_proportions",
    "welch",
    "cuped",
    "winsorize",
    "ratio_metric",
    "bayes_conversion",
    "bayes_normal",
    "mde",
    "achieved_power",
    "n_for_effect",
    "holm",
    "bh",
    "interaction_test",
]


@dataclass
class Effect:
    """An estimated difference (treatment - control) with its tests and intervals."""

    metric: str
    control: float
    treatment: float
    diff: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    rel_lift: float
    rel_ci_low: float
    rel_ci_high: float
    n_control: int
    n_treatment: int
    method: str

    def as_dict(self) -> dict:
        """Plain dict for tables and JSON."""
        return dict(self.__dict__)


def srm_test(counts: dict[str, int], planned: dict[str, float]) -> tuple[float, float]:
    """Chi-square test of arm sizes against the planned shares; returns (chi2, p)."""
    arms = list(planned)
    obs = np.array([counts.get(a, 0) for a in arms], float)
    share = np.array([planned[a] for a in arms], float)
    share = share / share.sum()
    if obs.sum() == 0:
        return float("nan"), float("nan")
    chi2, p = stats.chisquare(obs, obs.sum() * share)
    return float(chi2), float(p)


def _rel(m1: float, m0: float, v1: float, v0: float, z: float) -> tuple[float, float, float]:
    if m0 == 0:
        return float("nan"), float("nan"), float("nan")
    rel = m1 / m0 - 1.0
    se = np.sqrt(v1 / m0 ** 2 + m1 ** 2 * v0 / m0 ** 4)
    return rel, rel - z * se, rel + z * se


def two_proportions(c1: int, n1: int, c0: int, n0: int, alpha: float = 0.05) -> Effect:
    """Two-proportion z-test: pooled SE for the test, unpooled SE for the interval."""
    if min(n1, n0) == 0:
        raise ValueError("an arm has no customers")
    p1, p0 = c1 / n1, c0 / n0
    pooled = (c1 + c0) / (n1 + n0)
    se_pooled = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    v1, v0 = p1 * (1 - p1) / n1, p0 * (1 - p0) / n0
    se = float(np.sqrt(v1 + v0))
    z = stats.norm.ppf(1 - alpha / 2)
    d = p1 - p0
    p = float(2 * stats.norm.sf(abs(d) / se_pooled)) if se_pooled > 0 else (1.0 if d == 0 else 0.0)
    rel, rl, rh = _rel(p1, p0, v1, v0, z)
    return Effect(
        "conversion",
        p0,
        p1,
        d,
        se,
        d - z * se,
        d + z * se,
        p,
        rel,
        rl,
        rh,
        n0,
        n1,
        "two-proportion z-test (pooled SE for the test, unpooled for the CI); relative lift by the delta method",
    )


def welch(y1: np.ndarray, y0: np.ndarray, alpha: float = 0.05, metric: str = "revenue_per_customer") -> Effect:
    """Welch's t-test of the difference in means, with a delta-method relative lift."""
    y1, y0 = np.asarray(y1, float), np.asarray(y0, float)
    n1, n0 = len(y1), len(y0)
    if min(n1, n0) < 2:
        raise ValueError("each arm needs at least two customers")
    m1, m0 = y1.mean(), y0.mean()
    v1, v0 = y1.var(ddof=1) / n1, y0.var(ddof=1) / n0
    se = float(np.sqrt(v1 + v0))
    d = m1 - m0
    if se == 0:
        p, df = (1.0 if d == 0 else 0.0), float(n1 + n0 - 2)
    else:
        df = (v1 + v0) ** 2 / (v1 ** 2 / (n1 - 1) + v0 ** 2 / (n0 - 1)) if (v1 > 0 or v0 > 0) else n1 + n0 - 2
        p = float(2 * stats.t.sf(abs(d) / se, df))
    tq = stats.t.ppf(1 - alpha / 2, df)
    rel, rl, rh = _rel(m1, m0, v1, v0, stats.norm.ppf(1 - alpha / 2))
    return Effect(metric, m0, m1, d, se, d - tq * se, d + tq * se, p, rel, rl, rh, n0, n1,
                  "Welch's t-test; relative lift by the delta method")


def cuped(y: np.ndarray, x: np.ndarray, treated: np.ndarray, alpha: float = 0.05,
          metric: str = "revenue_per_customer (CUPED)") -> tuple[Effect, float, float]:
    """CUPED-adjusted Welch test; returns (effect, theta, variance reduction)."""
    y, x, t = np.asarray(y, float), np.asarray(x, float), np.asarray(treated, bool)
    vx = x.var(ddof=1)
    theta = float(np.cov(y, x, ddof=1)[0, 1] / vx) if vx > 0 else 0.0
    adj = y - theta * (x - x.mean())
    eff = welch(adj[t], adj[~t], alpha, metric)
    vy = y.var(ddof=1)
    reduction = float(1 - adj.var(ddof=1) / vy) if vy > 0 else 0.0
    eff.method = f"CUPED (theta = {theta:.3f} on pre-period revenue), then Welch's t-test"
    return eff, theta, reduction


def winsorize(y: np.ndarray, pct: float) -> tuple[np.ndarray, float]:
    """Cap values at the pooled ``pct`` percentile; returns (capped values, cap)."""
    y = np.asarray(y, float)
    cap = float(np.quantile(y, pct)) if len(y) else float("nan")
    return np.minimum(y, cap), cap


def ratio_metric(num1, den1, num0, den0, alpha: float = 0.05, metric: str = "average_order_value") -> Effect:
    """Difference of ratios of sums (e.g. revenue / orders per arm) by the delta method.

    ``Var(R) ~= (var(num) - 2 R cov(num, den) + R^2 var(den)) / (n mean(den)^2)`` per arm.
    """
    def arm(num, den):
        num, den = np.asarray(num, float), np.asarray(den, float)
        n = len(num)
        if n < 2 or den.sum() == 0:
            return float("nan"), float("nan"), n
        r = num.sum() / den.sum()
        c = np.cov(num, den, ddof=1)
        var = (c[0, 0] - 2 * r * c[0, 1] + r ** 2 * c[1, 1]) / (n * den.mean() ** 2)
        return r, var, n
    r1, v1, n1 = arm(num1, den1)
    r0, v0, n0 = arm(num0, den0)
    z = stats.norm.ppf(1 - alpha / 2)
    d = r1 - r0
    se = float(np.sqrt(v1 + v0))
    p = float(2 * stats.norm.sf(abs(d) / se)) if se > 0 else float("nan")
    rel, rl, rh = _rel(r1, r0, v1, v0, z)
    return Effect(metric, r0, r1, d, se, d - z * se, d + z * se, p, rel, rl, rh, n0, n1,
                  "ratio of sums; delta-method variance; z-test")


def bayes_conversion(c1: int, n1: int, c0: int, n0: int, draws: int = 20_000, seed: int = 0) -> tuple[float, float]:
    """Beta(1,1)-Binomial posteriors: (chance treatment beats control, expected loss of shipping)."""
    rng = np.random.default_rng(seed)
    p1 = rng.beta(1 + c1, 1 + n1 - c1, draws)
    p0 = rng.beta(1 + c0, 1 + n0 - c0, draws)
    return float((p1 > p0).mean()), float(np.maximum(p0 - p1, 0).mean())


def bayes_normal(diff: float, se: float) -> tuple[float, float]:
    """Normal approximation: (P(diff > 0), expected loss E[max(-D, 0)]) for D ~ N(diff, se^2)."""
    if se <= 0:
        return float(diff > 0), float(max(-diff, 0))
    z = diff / se
    return float(stats.norm.cdf(z)), float(se * stats.norm.pdf(z) - diff * stats.norm.sf(z))


def mde(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable effect: ``(z_{1-alpha/2} + z_power) * SE`` (normal approximation)."""
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)


def achieved_power(diff: float, se: float, alpha: float = 0.05) -> float:
    """Power to detect an effect of size ``diff`` with this SE (two-sided, normal approximation)."""
    if se <= 0:
        return float("nan")
    return float(stats.norm.cdf(abs(diff) / se - stats.norm.ppf(1 - alpha / 2)))


def n_for_effect(n_now: int, se: float, effect: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Customers needed in total to detect ``effect`` with ``power`` (SE shrinks as 1/sqrt(n))."""
    if effect == 0 or se <= 0 or not np.isfinite(effect):
        return -1
    return int(np.ceil(n_now * (mde(se, alpha, power) / abs(effect)) ** 2))


def holm(p: list[float] | np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (NaN kept)."""
    return _adjust(p, "holm")


def bh(p: list[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN kept)."""
    return _adjust(p, "fdr_bh")


def _adjust(p, method: str) -> np.ndarray:
    p = np.asarray(p, float)
    out = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out


def interaction_test(df: pd.DataFrame, metric: str) -> dict:
    """Do effects differ across segments? F-test of treatment x segment terms in OLS."""
    d = df[[metric, "treated", "segment"]].copy()
    d["treated"] = d["treated"].astype(float)
    counts = d.groupby("segment")["treated"].agg(["size", "sum"])
    usable = counts[(counts["sum"] > 0) & (counts["sum"] < counts["size"])].index
    d = d[d["segment"].isin(usable)]
    if d["segment"].nunique() < 2:
        return {"f": None, "p_value": None, "df": None, "note": "fewer than two segments with both arms"}
    f, p, dfd = _nested_f_test(d[metric].to_numpy(float), d["treated"].to_numpy(float), d["segment"].astype(str))
    return {"f": float(f), "p_value": float(p), "df": int(dfd), "note": "OLS F-test of the treatment x segment terms"}


def _nested_f_test(y: np.ndarray, treated: np.ndarray, segment: pd.Series) -> tuple[float, float, int]:
    """F-test of ``y ~ treated * segment`` against ``y ~ treated + segment`` (ordinary least squares).

    The same numbers as statsmodels' ``ols(...).compare_f_test`` on the two formulas, with plain numpy
    design matrices (statsmodels' formula layer costs over a second of import time per notebook).
    Returns F, its p-value and the number of restrictions.
    """
    from scipy import stats
    seg = pd.get_dummies(segment, drop_first=True, dtype=float).to_numpy()
    one = np.ones((len(y), 1))
    restricted = np.column_stack([one, treated, seg])
    full = np.column_stack([restricted, seg * treated[:, None]])

    def rss_rank(X: np.ndarray) -> tuple[float, int]:
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        r = y - X @ beta
        return float(r @ r), int(np.linalg.matrix_rank(X))

    rss_f, p_f = rss_rank(full)
    rss_r, p_r = rss_rank(restricted)
    q, dfe = p_f - p_r, len(y) - p_f
    f = ((rss_r - rss_f) / q) / (rss_f / dfe)
    return f, float(stats.f.sf(f, q, dfe)), q
