"""Retention models for subscriptions: Fader & Hardie's published sBG results, closed forms against
plain sums, recovery of simulated parameters, and the holdout choice between sBG, BdW and the baseline."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.demo.simulate import simulate_sbg
from helpers.value import retention as rt

# Fader & Hardie (2007), "How to project customer retention", J. Interactive Marketing 21(1), table 1:
# survivors of 1,000 customers acquired at year 0, years 0..12, for two cohorts of the same company.
REGULAR = np.array([1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173], float)
HIGH_END = np.array([1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394], float)
# their sBG estimates on years 1-7 (the paper's text; LL to one decimal as printed)
PUBLISHED = {"regular": (REGULAR, 0.704, 1.182, -1680.3), "high end": (HIGH_END, 0.668, 3.806, -1611.2)}


def _calibration(S: np.ndarray, years: int = 7) -> rt.RetentionData:
    """Years 1..``years``: churned in year t (n = t), survivors of year ``years`` active in year ``years + 1``."""
    n = np.r_[np.arange(1, years + 1), years + 1]
    churned = np.r_[np.ones(years, bool), False]
    return rt.retention_data(n, churned, np.r_[-np.diff(S[:years + 1]), S[years]])


def _holdout(S: np.ndarray, years: int = 7) -> tuple:
    """Years ``years + 1``..12 for the survivors of year ``years``: churned then (n = t) or still there in year 13."""
    t = np.arange(years + 1, len(S))
    n_end = np.r_[t, len(S)]
    churned = np.r_[np.ones(len(t), bool), False]
    w = np.r_[-np.diff(S[years:]), S[-1]]
    return np.full(len(n_end), years + 1.0), n_end, churned, w


@pytest.mark.parametrize("cohort", sorted(PUBLISHED))
def test_sbg_reproduces_fader_hardie_2007(cohort):
    S, alpha, beta, ll = PUBLISHED[cohort]
    f = rt.fit_sbg(_calibration(S))
    assert round(f.params["alpha"], 3) == alpha and round(f.params["beta"], 3) == beta
    assert round(f.loglik, 1) == ll
    assert f.n == 1000 and f.n_unique == 8
    assert 0 < f.se["alpha"] < alpha and 0 < f.se["beta"] < beta


@pytest.mark.parametrize("cohort", sorted(PUBLISHED))
def test_sbg_projects_the_later_survivors(cohort):
    # the paper's point: fitted on 7 years, the sBG tracks the actual survivors of years 8-12 (within 5%),
    # where the geometric model (one churn rate for all) falls further below them every year
    S = PUBLISHED[cohort][0]
    d = _calibration(S)
    f, g = rt.fit_sbg(d), rt.fit_geometric(d)
    t = np.arange(8, 13)
    proj = 1000 * rt.survival("sBG", f.params, t)
    naive = 1000 * rt.survival("geometric", g.params, t)
    err = proj / S[8:] - 1
    assert np.abs(err).max() < 0.05, err
    assert (err < 0).all()                          # it errs on the low side, as the paper shows
    naive_err = naive / S[8:] - 1
    assert (naive_err < err).all() and naive_err[-1] < -0.3 and (np.diff(naive_err) < 0).all()
    np.testing.assert_allclose(rt.survivor_table("sBG", f.params, 12)["survivors"], 1000 * rt.survival(
        "sBG", f.params, np.arange(13)))


def test_holdout_chooses_between_sbg_and_bdw_on_the_paper_data():
    # duration dependence (c > 1) shows in both cohorts; the holdout (years 8-12) decides whether it pays
    out = {}
    for cohort, (S, *_rest) in PUBLISHED.items():
        d = _calibration(S)
        fits = {m: rt.fit_retention(m, d) for m in ("sBG", "BdW", "geometric")}
        n0, n1, ch, w = _holdout(S)
        ll = {m: float((w * rt.holdout_loglik(m, f.params, n0, n1, ch)).sum()) for m, f in fits.items()}
        out[cohort] = (fits["BdW"].params["c"], ll)
        assert fits["BdW"].loglik >= fits["sBG"].loglik          # nested: BdW with c = 1 is the sBG
        assert ll["geometric"] < min(ll["sBG"], ll["BdW"]) - 50  # the baseline loses by far
    c_reg, ll_reg = out["regular"]
    c_high, ll_high = out["high end"]
    assert c_reg == pytest.approx(1.283, abs=2e-3) and c_high == pytest.approx(1.724, abs=2e-3)
    # regular: the sBG predicts the holdout better; high end: the BdW, by less than one log-likelihood unit
    assert ll_reg["sBG"] > ll_reg["BdW"]
    assert 0 < ll_high["BdW"] - ll_high["sBG"] < 1
    assert ll_reg["sBG"] == pytest.approx(-251.23, abs=0.01) and ll_high["BdW"] == pytest.approx(-399.85, abs=0.01)


def test_bdw_with_c_one_is_the_sbg():
    p = {"alpha": 0.7, "beta": 1.2}
    t = np.arange(30)
    np.testing.assert_allclose(rt.survival("BdW", {**p, "c": 1.0}, t), rt.survival("sBG", p, t), rtol=1e-12)


def test_sbg_survival_by_the_recursion_of_the_paper():
    # P(T = 1) = alpha / (alpha + beta), P(T = t) = (beta + t - 2) / (alpha + beta + t - 1) P(T = t - 1)
    a, b = 0.704, 1.182
    P = [a / (a + b)]
    for t in range(2, 20):
        P.append((b + t - 2) / (a + b + t - 1) * P[-1])
    S = 1 - np.cumsum(P)
    np.testing.assert_allclose(rt.survival("sBG", {"alpha": a, "beta": b}, np.arange(1, 20)), S, rtol=1e-12)
    np.testing.assert_allclose(np.exp(rt.retention_loglik("sBG", {"alpha": a, "beta": b}, np.arange(1, 20),
                                                          np.ones(19, bool))), P, rtol=1e-12)


@pytest.mark.parametrize("params", [{"alpha": 0.704, "beta": 1.182}, {"alpha": 3.0, "beta": 20.0}])
@pytest.mark.parametrize("d", [0.01, 0.1])
def test_derl_closed_form_equals_the_plain_sum(params, d):
    n = np.arange(1, 40)
    closed = rt.derl("sBG", params, n, d)
    # the plain definition, term by term: sum_{k >= n} S(k) / S(n - 1) / (1 + d)^(k - n)
    k = np.arange(0, 6000)
    plain = np.array([(rt.survival("sBG", params, m + k) / rt.survival("sBG", params, m - 1) / (1 + d) ** k).sum()
                      for m in n])
    np.testing.assert_allclose(closed, plain, rtol=1e-8)
    np.testing.assert_allclose(rt.derl_sum("sBG", params, n, d), closed, rtol=1e-8)


def test_derl_matches_a_monte_carlo_of_the_sbg():
    p = {"alpha": 1.5, "beta": 6.0}
    d = 0.02
    sim = simulate_sbg(400_000, **p, periods=4, seed=3)
    active = sim[~sim["churned"]]          # in period 4: paid 4 periods, the 4th renewal ahead
    remaining = active["lifetime"].to_numpy() - 4      # further payments
    v = 1 / (1 + d)
    mc = ((1 - v ** remaining) / (1 - v)).mean()        # payments at renewals 4, 5, ...: v^0 + v^1 + ...
    assert rt.derl("sBG", p, np.array([4]), d)[0] == pytest.approx(mc, rel=0.01)


def test_value_grid_equals_derl_and_horizon_sums():
    for model, p in (("sBG", {"alpha": 0.704, "beta": 1.182}), ("BdW", {"alpha": 0.46, "beta": 0.78, "c": 1.28}),
                     ("geometric", {"theta": 0.05})):
        g = rt.value_grid(model, {k: np.array([v]) for k, v in p.items()}, 50, 0.008, 12)
        n = np.arange(1, 51)
        np.testing.assert_allclose(g["lifetime"][0], rt.derl_sum(model, p, n, 0.008), rtol=1e-7)
        np.testing.assert_allclose(g["horizon"][0], rt.derl_sum(model, p, n, 0.008, 12), rtol=1e-10)
        np.testing.assert_allclose(g["payments"][0], rt.derl_sum(model, p, n, 0.0, 12), rtol=1e-10)
        np.testing.assert_allclose(g["survive"][0], rt.expected_survivors(model, p, n, 12), rtol=1e-10)
    # geometric: every period alike, DERL = 1 / (1 - (1 - theta) / (1 + d)) (first renewal undiscounted)
    theta, d = 0.05, 0.008
    g = rt.value_grid("geometric", {"theta": np.array([theta])}, 3, d, 12)
    np.testing.assert_allclose(g["lifetime"][0], (1 - theta) / (1 - (1 - theta) / (1 + d)), rtol=1e-8)


@pytest.mark.parametrize("truth", [{"alpha": 0.7, "beta": 4.0}, {"alpha": 2.0, "beta": 15.0}])
def test_recovers_simulated_sbg_parameters_within_three_standard_errors(truth):
    rng = np.random.default_rng(8)
    sim = simulate_sbg(20_000, **truth, periods=rng.integers(1, 37, 20_000), seed=9)
    f = rt.fit_sbg(rt.retention_data(sim["n"], sim["churned"]))
    for k, v in truth.items():
        assert abs(f.params[k] - v) < 3 * f.se[k], (k, f.params[k], f.se[k])
    assert f.n_unique <= 2 * 36


def test_recovers_simulated_bdw_duration_dependence():
    truth = {"alpha": 1.0, "beta": 3.0, "c": 1.6}
    sim = simulate_sbg(30_000, truth["alpha"], truth["beta"], periods=np.random.default_rng(2).integers(1, 25, 30_000),
                       c=truth["c"], seed=5)
    f = rt.fit_bdw(rt.retention_data(sim["n"], sim["churned"]))
    for k, v in truth.items():
        assert abs(f.params[k] - v) < 3 * f.se[k], (k, f.params[k], f.se[k])


def test_geometric_is_the_binomial_rate():
    d = rt.retention_data([1, 2, 3, 3], [True, True, False, True])
    g = rt.fit_geometric(d)
    # churns 3; renewal decisions: 1 + 2 + 2 (active in period 3: two renewals made) + 3 = 8
    assert g.params["theta"] == pytest.approx(3 / 8)
    assert g.se["theta"] == pytest.approx(np.sqrt(3 / 8 * 5 / 8 / 8))


def test_not_identified_data_are_refused_with_the_reason():
    with pytest.raises(rt.CLVFitError, match="has cancelled yet"):
        rt.fit_sbg(rt.retention_data([1, 4, 9], [False, False, False]))
    with pytest.raises(rt.CLVFitError, match="one period only"):
        rt.fit_sbg(rt.retention_data([1, 1, 1], [True, False, True]))
    with pytest.raises(ValueError, match="at least 1"):
        rt.retention_data([0, 2], [True, False])


def test_empirical_survival_is_the_kaplan_meier_of_the_table():
    n = np.r_[np.repeat(np.arange(1, 8), -np.diff(REGULAR[:8]).astype(int)), np.full(241, 8)]
    churned = np.r_[np.ones(1000 - 241, bool), np.zeros(241, bool)]
    e = rt.empirical_survival(n, churned, 9)
    np.testing.assert_allclose(e["share"].to_numpy()[:8], REGULAR[:8] / 1000)
    assert e["share"].iloc[8:].isna().all()            # nobody observed past year 7


@pytest.mark.parametrize("model", ["sBG", "BdW"])
def test_analytic_gradients_match_numerical_ones(model):
    from statsmodels.tools.numdiff import approx_fprime
    d = _calibration(REGULAR)
    f = rt.fit_retention(model, d)
    for shift in (0.0, 0.3, -0.4):          # at the optimum and away from it
        th = f.log_params + shift
        np.testing.assert_allclose(f.extra["grad"](th), approx_fprime(th, f.extra["nll"], centered=True),
                                   rtol=1e-5, atol=1e-4)
