"""A/B statistics against independent computations (statsmodels, scipy, closed forms)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from helpers.experiments import model as st


def test_two_proportions_against_statsmodels_and_closed_form():
    e = st.two_proportions(230, 1000, 190, 1000)
    z, p = proportions_ztest([230, 190], [1000, 1000])   # pooled variance, like ours for the test
    assert e.p_value == pytest.approx(p, rel=1e-10)
    se_unpooled = np.sqrt(0.23 * 0.77 / 1000 + 0.19 * 0.81 / 1000)
    assert e.diff == pytest.approx(0.04) and e.se == pytest.approx(se_unpooled)
    assert e.ci_low == pytest.approx(0.04 - 1.959964 * se_unpooled, rel=1e-6)
    # relative lift by the delta method
    v1, v0 = 0.23 * 0.77 / 1000, 0.19 * 0.81 / 1000
    rel_se = np.sqrt(v1 / 0.19 ** 2 + 0.23 ** 2 * v0 / 0.19 ** 4)
    assert e.rel_lift == pytest.approx(0.23 / 0.19 - 1)
    assert e.rel_ci_high == pytest.approx(e.rel_lift + 1.959964 * rel_se, rel=1e-6)


def test_zero_conversions_in_an_arm():
    e = st.two_proportions(5, 100, 0, 100)
    assert np.isfinite(e.p_value) and e.diff == 0.05
    assert np.isnan(e.rel_lift)   # relative lift undefined against a zero control
    with pytest.raises(ValueError, match="no customers"):
        st.two_proportions(0, 0, 1, 10)


def test_welch_against_scipy():
    rng = np.random.default_rng(1)
    y1, y0 = rng.gamma(2, 30, 400), rng.gamma(2, 25, 700)
    e = st.welch(y1, y0)
    t = stats.ttest_ind(y1, y0, equal_var=False)
    assert e.p_value == pytest.approx(t.pvalue, rel=1e-10)
    ci = t.confidence_interval(0.95)
    assert (e.ci_low, e.ci_high) == (pytest.approx(ci.low, rel=1e-9), pytest.approx(ci.high, rel=1e-9))


def test_cuped_theta_is_the_ols_slope_and_reduction_is_r_squared():
    rng = np.random.default_rng(2)
    x = rng.gamma(2, 50, 4000)
    treated = rng.random(4000) < 0.5
    y = 0.6 * x + rng.normal(0, 30, 4000) + 10 * treated
    e, theta, red = st.cuped(y, x, treated)
    assert theta == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-9)
    assert red == pytest.approx(np.corrcoef(x, y)[0, 1] ** 2, rel=1e-9)
    raw = st.welch(y[treated], y[~treated])
    assert e.se < raw.se and e.ci_low < 10 < e.ci_high


def test_ratio_metric_delta_method_closed_form():
    rng = np.random.default_rng(3)
    orders1, orders0 = rng.poisson(2, 3000) + 1, rng.poisson(2, 3000) + 1
    rev1, rev0 = orders1 * rng.gamma(5, 10, 3000), orders0 * rng.gamma(5, 9, 3000)
    e = st.ratio_metric(rev1, orders1, rev0, orders0)
    r1 = rev1.sum() / orders1.sum()
    c = np.cov(rev1, orders1)
    var1 = (c[0, 0] - 2 * r1 * c[0, 1] + r1 ** 2 * c[1, 1]) / (3000 * orders1.mean() ** 2)
    assert e.treatment == pytest.approx(r1)
    # the delta-method SE is close to a bootstrap SE
    boot = []
    for _ in range(300):
        i = rng.integers(0, 3000, 3000)
        boot.append(rev1[i].sum() / orders1[i].sum())
    assert np.sqrt(var1) == pytest.approx(np.std(boot), rel=0.15)


def test_bayes_and_power_closed_forms():
    p, loss = st.bayes_normal(1.0, 1.0)
    assert p == pytest.approx(stats.norm.cdf(1.0))
    mc = np.random.default_rng(0).normal(1.0, 1.0, 400_000)
    assert loss == pytest.approx(np.maximum(-mc, 0).mean(), rel=0.02)
    pb, lb = st.bayes_conversion(600, 1000, 500, 1000, seed=1)
    assert pb > 0.99 and lb < 1e-4
    assert st.mde(1.0) == pytest.approx(1.959964 + 0.841621, rel=1e-6)
    assert st.achieved_power(st.mde(0.5), 0.5) == pytest.approx(0.8, abs=1e-6)
    # quadruple the customers to halve the detectable effect
    assert st.n_for_effect(1000, 1.0, st.mde(1.0) / 2) == 4000


def test_srm_detects_a_broken_split():
    chi2, p = st.srm_test({"control": 5000, "treatment": 5150}, {"control": 0.5, "treatment": 0.5})
    assert p > 0.1
    chi2, p = st.srm_test({"control": 5000, "treatment": 5600}, {"control": 0.5, "treatment": 0.5})
    assert p < 0.001
    chi2, p = st.srm_test({"control": 3000, "treatment": 7000}, {"control": 0.3, "treatment": 0.7})
    assert chi2 == pytest.approx(0.0)


def test_holm_and_bh_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, cumulative max
    np.testing.assert_allclose(st.holm(p), [0.03, 0.06, 0.06, 0.02])
    # BH: sorted p * 4 / rank, cumulative min from the top
    np.testing.assert_allclose(st.bh(p), [0.02, 0.04, 0.04, 0.02])
    assert np.isnan(st.bh([np.nan, 0.01])[0])
