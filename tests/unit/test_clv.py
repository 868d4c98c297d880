"""CLV models: published CDNOW estimates, closed forms, recovery of simulated parameters, failures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from helpers.demo.simulate import simulate_bgnbd, simulate_gammagamma, simulate_paretonbd
from helpers.value import data as clv_data
from helpers.value import model as clv


@pytest.fixture(scope="module")
def cdnow_sample(repo):
    d = pd.read_csv(repo / "data" / "external" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                    names=["master_id", "customer_id", "date", "cds", "amount"], dtype=str)
    o = pd.DataFrame({"customer_id": d["customer_id"], "order_ts": pd.to_datetime(d["date"], format="%Y%m%d"),
                      "amount": d["amount"].astype(float)})
    return clv_data.calibration_summary(o, pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30"))


def test_cdnow_summary_matches_the_paper(cdnow_sample):
    s = cdnow_sample
    assert len(s) == 2357 and (s["x"] > 0).sum() == 946
    assert s["x"].sum() == 2457                      # repeat purchase days in the 39-week calibration
    assert s["T"].max() == pytest.approx(38.857, abs=1e-3)   # a customer first seen on 1 January
    assert (s["t_x"] <= s["T"]).all()


def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow_sample):
    s = cdnow_sample
    f = clv.fit_bgnbd(s["x"], s["t_x"], s["T"])
    expected = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for k, v in expected.items():
        assert f.params[k] == pytest.approx(v, abs=1.5e-3), k
    assert f.loglik == pytest.approx(-9582.4, abs=0.1)
    assert f.n == 2357 and f.n_unique < f.n                 # fitted over unique histories
    assert all(0 < f.se[k] < f.params[k] for k in expected)


def test_paretonbd_reproduces_published_estimates(cdnow_sample):
    s = cdnow_sample
    f = clv.fit_paretonbd(s["x"], s["t_x"], s["T"])
    expected = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    for k, v in expected.items():
        assert f.params[k] == pytest.approx(v, rel=2e-3), k
    assert f.loglik == pytest.approx(-9595.0, abs=0.1)


def test_gammagamma_reproduces_fader_hardie_lee_2005b(cdnow_sample):
    s = cdnow_sample
    f = clv.fit_gammagamma(s["x"], s["m_x"])
    for k, v in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert f.params[k] == pytest.approx(v, abs=6e-3), k
    assert f.n == 946


BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def test_p_alive_closed_form_by_hand():
    # x=2, t_x=30.43, T=38.86: odds = a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)
    odds = 0.793 / (2.426 + 1) * ((4.414 + 38.86) / (4.414 + 30.43)) ** 2.243
    got = clv.p_alive("BG/NBD", BG, np.array([2, 0]), np.array([30.43, 0.0]), np.array([38.86, 38.86]))
    assert got[0] == pytest.approx(1 / (1 + odds), rel=1e-12)
    assert got[1] == 1.0                                   # never repeated: alive by assumption


def test_expected_purchases_euler_form_equals_textbook_form():
    r, al, a, b = BG.values()
    for x, tx, T, t in [(0, 0.0, 0.0, 39.0), (2, 30.43, 38.86, 39.0), (7, 35.0, 38.86, 52.0), (1, 2.0, 20.0, 10.0)]:
        # FHL 2005 eq. 10 as printed
        pa = 1.0 if x == 0 else 1 / (1 + a / (b + x - 1) * ((al + T) / (al + tx)) ** (r + x))
        textbook = (a + b + x - 1) / (a - 1) * (1 - ((al + T) / (al + T + t)) ** (r + x)
                                                * hyp2f1(r + x, b + x, a + b + x - 1, t / (al + T + t))) * pa
        got = clv.expected_purchases("BG/NBD", BG, t, np.array([x]), np.array([tx]), np.array([T]))[0]
        assert got == pytest.approx(textbook, rel=1e-9)


def test_expected_purchases_of_a_new_customer_is_the_unconditional_mean():
    # x = t_x = T = 0: E[X(t)] = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]
    r, al, a, b = BG.values()
    t = 39.0
    uncond = (a + b - 1) / (a - 1) * (1 - (al / (al + t)) ** r * hyp2f1(r, b, a + b - 1, t / (al + t)))
    got = clv.expected_purchases("BG/NBD", BG, t, np.array([0]), np.array([0.0]), np.array([0.0]))[0]
    assert got == pytest.approx(uncond, rel=1e-9)


def test_stable_for_heavy_buyers_and_long_histories():
    x = np.array([500, 2000])
    t_x = np.array([990.0, 999.0])
    T = np.array([1000.0, 1000.0])
    for model, params in (("BG/NBD", BG), ("Pareto/NBD", {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669})):
        e = clv.expected_purchases(model, params, 52.0, x, t_x, T)
        pa = clv.p_alive(model, params, x, t_x, T)
        assert np.isfinite(e).all() and np.isfinite(pa).all() and (pa > 0.5).all()
        assert e[1] > e[0] > 0
    ll = clv.paretonbd_loglik(0.553, 10.578, 0.606, 11.669, x, t_x, T)
    assert np.isfinite(ll).all()


def test_gammagamma_expected_spend_closed_form():
    p, q, g = 6.25, 3.74, 15.44
    got = clv.expected_spend({"p": p, "q": q, "gamma": g}, np.array([3, 0]), np.array([40.0, np.nan]))
    assert got[0] == pytest.approx((g + 40 * 3) * p / (p * 3 + q - 1))
    assert got[1] == pytest.approx(p * g / (q - 1))


def test_fast_discounted_transactions_equal_the_month_by_month_sum():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 12, 300).astype(float)
    T = rng.integers(1, 150, 300).astype(float)
    t_x = np.where(x > 0, rng.uniform(0, 1, 300) * T, 0.0)
    for model, params in (("BG/NBD", BG), ("Pareto/NBD", {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669})):
        slow = clv.discounted_clv(model, params, np.ones(300), x, t_x, T, 12, 0.1)
        fast = clv.discounted_expected_transactions(model, params, x, t_x, T, 12, 0.1)
        np.testing.assert_allclose(fast, slow, rtol=1e-10)


def test_discounted_clv_equals_undiscounted_without_discount():
    x, tx, T = np.array([2]), np.array([30.0]), np.array([38.0])
    spend = np.array([50.0])
    undiscounted = clv.expected_purchases("BG/NBD", BG, 12 * 365.25 / 12 / 7, x, tx, T) * 50
    assert clv.discounted_clv("BG/NBD", BG, spend, x, tx, T, 12, 0.0)[0] == pytest.approx(undiscounted[0])
    assert clv.discounted_clv("BG/NBD", BG, spend, x, tx, T, 12, 0.1)[0] < undiscounted[0]


def test_recovers_simulated_parameters_within_three_standard_errors():
    truth = {"r": 0.6, "alpha": 6.0, "a": 0.8, "b": 3.0}
    rng = np.random.default_rng(5)
    sim = simulate_bgnbd(30_000, **truth, T=rng.uniform(26, 104, 30_000), seed=11)
    f = clv.fit_bgnbd(sim["x"], sim["t_x"], sim["T"])
    for k, v in truth.items():
        assert abs(f.params[k] - v) < 3 * f.se[k], (k, f.params[k], f.se[k])
    m = simulate_gammagamma(sim["x"].to_numpy(), 5.0, 4.0, 60.0, seed=3)
    g = clv.fit_gammagamma(sim["x"], m)
    for k, v in {"p": 5.0, "q": 4.0, "gamma": 60.0}.items():
        assert abs(g.params[k] - v) < 3 * g.se[k], (k, g.params[k], g.se[k])


def test_recovers_simulated_paretonbd_parameters_within_three_standard_errors():
    truth = {"r": 0.7, "alpha": 8.0, "s": 0.8, "beta": 15.0}
    rng = np.random.default_rng(9)
    sim = simulate_paretonbd(30_000, **truth, T=rng.uniform(26, 104, 30_000), seed=4)
    f = clv.fit_paretonbd(sim["x"], sim["t_x"], sim["T"])
    for k, v in truth.items():
        assert abs(f.params[k] - v) < 3 * f.se[k], (k, f.params[k], f.se[k])


def test_predicted_holdout_purchases_match_simulation():
    truth = {"r": 0.6, "alpha": 6.0, "a": 0.8, "b": 3.0}
    sim = simulate_bgnbd(40_000, **truth, T=52.0, seed=2, horizon=26.0)
    pred = clv.expected_purchases("BG/NBD", truth, 26.0, sim["x"], sim["t_x"], sim["T"])
    assert pred.sum() == pytest.approx(sim["x_future"].sum(), rel=0.03)
    # and by calibration frequency for light buyers
    for k in (0, 1, 2):
        sel = sim["x"] == k
        assert pred[sel].mean() == pytest.approx(sim.loc[sel, "x_future"].mean(), rel=0.08, abs=0.01)


def test_no_repeat_buyers_is_a_clear_error():
    with pytest.raises(clv.CLVFitError, match="bought more than once"):
        clv.fit_bgnbd([0, 0, 0], [0, 0, 0], [10, 20, 30])
    with pytest.raises(clv.CLVFitError, match="repeat buyers"):
        clv.fit_gammagamma([0, 0], [np.nan, np.nan])


def test_parameter_draws_center_on_the_estimate(cdnow_sample):
    s = cdnow_sample
    f = clv.fit_bgnbd(s["x"], s["t_x"], s["T"])
    d = f.draws(4000, seed=1)
    assert d.shape == (4000, 4)
    med = np.median(d, axis=0)
    np.testing.assert_allclose(med, list(f.params.values()), rtol=0.03)
    assert math.isclose(np.log(d[:, 0]).std(), math.sqrt(f.cov_log[0, 0]), rel_tol=0.1)


def test_parameter_intervals_cover_the_truth_at_their_nominal_rate():
    # 60 independent simulated data sets: the 95% interval of each BG/NBD parameter should contain
    # the truth about 95% of the time; with 60 trials, fewer than 49 hits (82%) would be a
    # 1-in-1000 event for a correct interval, so the bound cannot pass by luck for a broken one.
    truth = {"r": 0.6, "alpha": 6.0, "a": 0.8, "b": 3.0}
    hits = {k: 0 for k in truth}
    trials = 60
    for i in range(trials):
        rng = np.random.default_rng(100 + i)
        sim = simulate_bgnbd(4000, **truth, T=rng.uniform(26, 104, 4000), seed=1000 + i)
        f = clv.fit_bgnbd(sim["x"], sim["t_x"], sim["T"])
        t = f.table().set_index("parameter")
        for k, v in truth.items():
            hits[k] += int(t.loc[k, "ci_low"] <= v <= t.loc[k, "ci_high"])
    for k, h in hits.items():
        assert h >= 49, f"{k}: the 95% interval covered the truth in only {h} of {trials} simulations"


def test_analytic_gradients_match_numerical_ones(cdnow_sample):
    from statsmodels.tools.numdiff import approx_fprime
    s = cdnow_sample
    for f in (clv.fit_bgnbd(s["x"], s["t_x"], s["T"]), clv.fit_gammagamma(s["x"], s["m_x"])):
        for shift in (0.0, 0.3, -0.4):     # at the optimum and away from it
            th = f.log_params + shift
            num = approx_fprime(th, f.extra["nll"], centered=True)
            np.testing.assert_allclose(f.extra["grad"](th), num, rtol=1e-4, atol=1e-3)


# ---------------------------------------------------------------- MBG/NBD (issue 17, point 3a)

# lifetimes 0.11.3 ModifiedBetaGeoFitter on the same CDNOW sample (purchase days to 1997-09-30, weeks), computed once
# with `/tmp/value-lifetimes/bin/python benchmarks/reference_mbgnbd_lifetimes.py` in a throw-away virtual environment
# (python3 -m venv /tmp/value-lifetimes && /tmp/value-lifetimes/bin/pip install lifetimes==0.11.3):
LIFETIMES_MBG = {
    "params": {"r": 0.5248429031495964, "alpha": 6.183081764399258, "a": 0.8913595172712049, "b": 1.6140029311982784},
    "log_likelihood": -9582.135715553766,
    "probes": [(0, 0.0, 38.86), (0, 0.0, 20.0), (2, 30.43, 38.86), (7, 35.0, 38.86), (1, 2.0, 30.0)],
    "p_alive": [0.38971518607268946, 0.45914648277209125, 0.7061256993159635, 0.8312106578771387, 0.23311166449299137],
    "expected_39": [0.15395427693317557, 0.28853672889751697, 1.2626692202500687, 4.227616168521388,
                    0.30961739448419484],
    "unconditional_39": 1.1822798470838023,
}


def test_mbgnbd_agrees_with_lifetimes_on_the_cdnow_sample(cdnow_sample):
    s = cdnow_sample
    f = clv.fit_mbgnbd(s["x"], s["t_x"], s["T"])
    for k, v in LIFETIMES_MBG["params"].items():
        assert f.params[k] == pytest.approx(v, rel=1e-4), k
    assert f.loglik == pytest.approx(LIFETIMES_MBG["log_likelihood"], abs=1e-3)
    assert f.n_unique < f.n == 2357
    # the likelihood summed over unique histories is the plain per-customer one
    p = f.params
    plain = clv.mbgnbd_loglik(p["r"], p["alpha"], p["a"], p["b"], s["x"], s["t_x"], s["T"]).sum()
    assert f.loglik == pytest.approx(plain, rel=1e-12)
    # conditional predictions at lifetimes' own estimates
    ref = LIFETIMES_MBG["params"]
    x, tx, T = (np.array(v, float) for v in zip(*LIFETIMES_MBG["probes"], strict=True))
    np.testing.assert_allclose(clv.p_alive("MBG/NBD", ref, x, tx, T), LIFETIMES_MBG["p_alive"], rtol=1e-9)
    np.testing.assert_allclose(clv.expected_purchases("MBG/NBD", ref, 39.0, x, tx, T), LIFETIMES_MBG["expected_39"],
                               rtol=1e-9)
    zero = np.zeros(1)
    assert clv.expected_purchases("MBG/NBD", ref, 39.0, zero, zero, zero)[0] == pytest.approx(
        LIFETIMES_MBG["unconditional_39"], rel=1e-9)


def test_mbgnbd_one_time_buyers_can_be_gone_bgnbd_ones_cannot():
    p = LIFETIMES_MBG["params"]
    T = np.array([1.0, 10.0, 50.0, 100.0])
    zero = np.zeros(4)
    pa = clv.p_alive("MBG/NBD", p, zero, zero, T)
    # closed form: 1 / (1 + a/b ((alpha + T)/alpha)^r), falling with the time since the only purchase
    np.testing.assert_allclose(pa, 1 / (1 + p["a"] / p["b"] * ((p["alpha"] + T) / p["alpha"]) ** p["r"]), rtol=1e-12)
    assert (np.diff(pa) < 0).all() and pa[0] < 1
    assert (clv.p_alive("BG/NBD", BG, zero, zero, T) == 1).all()


def test_recovers_simulated_mbgnbd_parameters_within_three_standard_errors():
    from helpers.demo.simulate import simulate_mbgnbd
    truth = {"r": 0.6, "alpha": 6.0, "a": 0.8, "b": 3.0}
    rng = np.random.default_rng(21)
    sim = simulate_mbgnbd(40_000, **truth, T=rng.uniform(26, 104, 40_000), seed=22)
    f = clv.fit_mbgnbd(sim["x"], sim["t_x"], sim["T"])
    for k, v in truth.items():
        assert abs(f.params[k] - v) < 3 * f.se[k], (k, f.params[k], f.se[k])
    # and BG/NBD fitted to the same MBG/NBD data is worse: it cannot let one-time buyers drop out
    b = clv.fit_bgnbd(sim["x"], sim["t_x"], sim["T"])
    assert f.loglik > b.loglik + 10


def test_mbgnbd_predictions_match_its_simulation():
    from helpers.demo.simulate import simulate_mbgnbd
    truth = {"r": 0.6, "alpha": 6.0, "a": 0.8, "b": 3.0}
    sim = simulate_mbgnbd(60_000, **truth, T=np.random.default_rng(1).uniform(26, 104, 60_000), seed=3, horizon=26.0)
    x, tx, T = sim["x"], sim["t_x"], sim["T"]
    assert clv.expected_purchases("MBG/NBD", truth, 26.0, x, tx, T).sum() == pytest.approx(sim["x_future"].sum(),
                                                                                           rel=0.02)
    pa = clv.p_alive("MBG/NBD", truth, x, tx, T)
    assert pa.mean() == pytest.approx(sim["alive_at_T"].mean(), abs=0.01)
    one = (x == 0).to_numpy()
    assert pa[one].mean() == pytest.approx(sim.loc[one, "alive_at_T"].mean(), abs=0.015)
    none = clv.p_no_purchase("MBG/NBD", truth, 26.0, x, tx, T)
    assert none.mean() == pytest.approx((sim["x_future"] == 0).mean(), abs=0.01)


def test_mbgnbd_analytic_gradient_matches_numerical(cdnow_sample):
    from statsmodels.tools.numdiff import approx_fprime
    s = cdnow_sample
    f = clv.fit_mbgnbd(s["x"], s["t_x"], s["T"])
    for shift in (0.0, 0.3, -0.4):
        th = f.log_params + shift
        np.testing.assert_allclose(f.extra["grad"](th), approx_fprime(th, f.extra["nll"], centered=True),
                                   rtol=1e-4, atol=1e-3)


def test_mbgnbd_expected_purchases_euler_form_equals_textbook_form():
    p = LIFETIMES_MBG["params"]
    r, al, a, b = p.values()
    for x, tx, T, t in [(0, 0.0, 10.0, 39.0), (2, 30.43, 38.86, 39.0), (9, 35.0, 38.86, 52.0)]:
        pa = 1 / (1 + a / (b + x) * ((al + T) / (al + tx)) ** (r + x))
        textbook = (a + b + x) / (a - 1) * (1 - ((al + T) / (al + T + t)) ** (r + x)
                                            * hyp2f1(r + x, b + x + 1, a + b + x, t / (al + T + t))) * pa
        got = clv.expected_purchases("MBG/NBD", p, t, np.array([x]), np.array([tx]), np.array([T]))[0]
        assert got == pytest.approx(textbook, rel=1e-9)


@pytest.mark.parametrize("model,params", [("BG/NBD", BG), ("MBG/NBD", LIFETIMES_MBG["params"]),
                                          ("Pareto/NBD", {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669})])
def test_p_no_purchase_is_a_probability_that_falls_with_the_window(model, params):
    x = np.array([0, 0, 3, 10])
    tx = np.array([0.0, 0.0, 20.0, 37.0])
    T = np.array([5.0, 38.0, 38.0, 38.0])
    prev = np.ones(4)
    for t in (0.0, 5.0, 26.0, 104.0):
        p = clv.p_no_purchase(model, params, t, x, tx, T)
        assert ((p >= 0) & (p <= prev + 1e-12)).all()
        prev = p
    # at t = 0 nobody can have bought; over a very long window only the dead stay silent
    np.testing.assert_allclose(clv.p_no_purchase(model, params, 0.0, x, tx, T), 1.0)
    assert (clv.p_no_purchase(model, params, 1e6, x, tx, T) >= 1 - clv.p_alive(model, params, x, tx, T) - 1e-6).all()


def test_pareto_p_no_purchase_matches_its_simulation():
    truth = {"r": 0.7, "alpha": 8.0, "s": 0.8, "beta": 15.0}
    sim = simulate_paretonbd(60_000, **truth, T=np.random.default_rng(1).uniform(26, 104, 60_000), seed=3, horizon=26)
    p = clv.p_no_purchase("Pareto/NBD", truth, 26.0, sim["x"], sim["t_x"], sim["T"])
    assert p.mean() == pytest.approx((sim["x_future"] == 0).mean(), abs=0.006)
    one = (sim["x"] == 0).to_numpy()
    assert p[one].mean() == pytest.approx((sim.loc[one, "x_future"] == 0).mean(), abs=0.006)
    assert clv.p_alive("Pareto/NBD", truth, sim["x"], sim["t_x"], sim["T"]).mean() == pytest.approx(
        sim["alive_at_T"].mean(), abs=0.01)


def test_spend_too_heavy_tailed_is_its_own_error():
    rng = np.random.default_rng(4)
    x = rng.integers(1, 6, 3000)
    m = 10.0 * (rng.pareto(0.7, 3000) + 1.0)   # mean spend not defined
    with pytest.raises(clv.SpendNotIdentified, match="q ="):
        clv.fit_gammagamma(x, m)
    with pytest.raises(ValueError, match="unknown purchase model"):
        clv.p_alive("BGNBD", BG, x, x * 0.0, x + 1.0)


@pytest.mark.parametrize("model,params", [("BG/NBD", BG), ("MBG/NBD", LIFETIMES_MBG["params"]),
                                          ("Pareto/NBD", {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669})])
def test_indexed_p_alive_and_transactions_equal_the_plain_ones(model, params):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 9, 2000).astype(float)
    T = rng.integers(1, 60, 2000).astype(float)
    t_x = np.where(x > 0, np.round(rng.uniform(0, 1, 2000) * T), 0.0)
    h = clv.history_index(x, t_x, T)
    np.testing.assert_allclose(clv.p_alive_indexed(model, params, h), clv.p_alive(model, params, x, t_x, T),
                               rtol=1e-13)
    slow = clv.discounted_clv(model, params, np.ones(2000), x, t_x, T, 12, 0.1)
    np.testing.assert_allclose(clv.discounted_expected_transactions(model, params, x, t_x, T, 12, 0.1, index=h), slow,
                               rtol=1e-10)
