"""CLV step: the purchase-day summaries, the tracking curve and scoring, against plain references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.frame.settings import defaults
from helpers.value import data as clv_data
from helpers.value import model as clv
from helpers.value import noncontractual as cs


def _reference_summary(orders: pd.DataFrame, cal_end: pd.Timestamp, obs_end: pd.Timestamp | None,
                       unit: float) -> pd.DataFrame:
    """The textbook construction with pandas groupby (what calibration_summary must equal)."""
    end = cal_end.normalize() + pd.Timedelta(days=1)
    daily = (orders.assign(day=orders["order_ts"].dt.normalize())
             .groupby(["customer_id", "day"], sort=True)["amount"].sum().reset_index())
    cal = daily[daily["day"] < end]
    g = cal.groupby("customer_id")
    n = g.size()
    out = pd.DataFrame({"x": n - 1, "t_x": (g["day"].max() - g["day"].min()).dt.days / unit,
                        "T": (end - pd.Timedelta(days=1) - g["day"].min()).dt.days / unit,
                        "m_x": ((g["amount"].sum() - g["amount"].first()) / (n - 1)).where(n > 1)})
    if obs_end is not None:
        oend = obs_end.normalize() + pd.Timedelta(days=1)
        hold = daily[(daily["day"] >= end) & (daily["day"] < oend)].groupby("customer_id")
        out["x_holdout"] = hold.size().reindex(out.index, fill_value=0)
        out["holdout_spend"] = hold["amount"].sum().reindex(out.index, fill_value=0.0)
    return out


orders_strategy = st.lists(
    st.tuples(st.integers(0, 7), st.integers(0, 120), st.integers(0, 23), st.floats(0.5, 500)),
    min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(rows=orders_strategy, cut=st.integers(1, 100), unit=st.sampled_from([1.0, 7.0]))
def test_summary_equals_the_groupby_construction(rows, cut, unit):
    base = pd.Timestamp("2025-01-01")
    o = pd.DataFrame({"customer_id": [f"c{c}" for c, *_ in rows],
                      "order_ts": [base + pd.Timedelta(days=d, hours=h) for _, d, h, _ in rows],
                      "amount": [a for *_, a in rows]})
    cal_end, obs_end = base + pd.Timedelta(days=cut), base + pd.Timedelta(days=110)
    want = _reference_summary(o, cal_end, obs_end, unit)
    if want.empty:
        with pytest.raises(clv.CLVFitError):
            clv_data.calibration_summary(o, cal_end, obs_end, unit)
        return
    got = clv_data.calibration_summary(o, cal_end, obs_end, unit).set_index("customer_id")
    # from purchase days built once for a later end (what the notebook passes around)
    days = clv_data.purchase_days(o, base + pd.Timedelta(days=200))
    again = clv_data.calibration_summary(days, cal_end, obs_end, unit).set_index("customer_id")
    for g in (got, again):
        assert list(g.index) == list(want.index)
        pd.testing.assert_frame_equal(g[want.columns], want, check_dtype=False, check_names=False, rtol=1e-12)
        assert (g["first_purchase"] == o.groupby("customer_id")["order_ts"].min().dt.normalize()
                .reindex(g.index)).all()


def test_purchase_days_ending_too_early_are_refused():
    o = pd.DataFrame({"customer_id": ["a", "a"], "order_ts": pd.to_datetime(["2025-01-01", "2025-02-01"]),
                      "amount": [1.0, 2.0]})
    days = clv_data.purchase_days(o, pd.Timestamp("2025-01-15"))
    with pytest.raises(ValueError, match="before the end of the period"):
        clv_data.calibration_summary(days, pd.Timestamp("2025-01-10"), pd.Timestamp("2025-03-01"))


def test_pareto_fit_over_distinct_pairs_has_the_plain_likelihood():
    from helpers.demo.simulate import simulate_paretonbd
    s = simulate_paretonbd(3000, r=0.6, alpha=8.0, s=0.7, beta=12.0, T=52.0, seed=5)
    f = clv.fit_paretonbd(s["x"], s["t_x"], s["T"])
    p = f.params
    plain = clv.paretonbd_loglik(p["r"], p["alpha"], p["s"], p["beta"], s["x"], s["t_x"], s["T"]).sum()
    assert f.loglik == pytest.approx(plain, rel=1e-10)


def _tiny_log():
    # a: first 2025-01-01, repeats 01-03 (twice that day) and 01-20 (holdout); b: first 01-05, no repeat;
    # c: first seen in the holdout (not a calibration customer)
    return pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "b", "c", "c"],
        "order_ts": pd.to_datetime(["2025-01-01 00:00", "2025-01-03 09:00", "2025-01-03 18:00", "2025-01-20 00:00",
                                    "2025-01-05 00:00", "2025-01-16 00:00", "2025-01-25 00:00"]),
        "amount": [10.0, 5.0, 5.0, 8.0, 7.0, 3.0, 4.0]})


def test_tracking_counts_repeat_days_by_hand_and_sums_the_unconditional_mean():
    o = _tiny_log()
    settings_ = defaults().clv.replace(holdout_days=28)
    fit = clv.FitResult("BG/NBD", {"r": 0.5, "alpha": 2.0, "a": 0.8, "b": 2.5}, {}, np.zeros(4), np.eye(4),
                        0.0, 2, 2, True)
    cal_end, hold_end = pd.Timestamp("2025-01-14"), pd.Timestamp("2025-01-28")
    s = clv_data.calibration_summary(o, cal_end, hold_end)
    bt = cs.Backtest(cal_end, hold_end, s, {"bgnbd": fit}, {}, None, pd.DataFrame(), pd.DataFrame(), {}, "bgnbd")
    for source in (o, clv_data.purchase_days(o, hold_end + pd.Timedelta(days=1))):
        tr = cs.tracking(source, bt, settings_)
        # weeks end 01-08, 01-15, 01-22 (from the first purchase day, 2025-01-01)
        assert list(tr["week_end"].dt.strftime("%m-%d")) == ["01-08", "01-15", "01-22"]
        assert tr["actual"].tolist() == [1.0, 1.0, 2.0]  # a's 01-03 (one day), then a's 01-20; c never counts
        for i, w in enumerate(tr["week_end"]):
            want = sum(clv.expected_purchases("BG/NBD", fit.params, max((w - f).days, 0) / 7, 0, 0, 0)
                       for f in pd.to_datetime(["2025-01-01", "2025-01-05"]))
            assert tr["BG/NBD"].iloc[i] == pytest.approx(float(want), rel=1e-12)


def test_scores_are_the_same_run_after_run_and_unknown_customers_get_no_group():
    from helpers.demo.simulate import simulate_bgnbd, simulate_gammagamma
    s = simulate_bgnbd(4000, r=0.5, alpha=4.0, a=0.8, b=2.5, T=40.0, seed=3)
    s = s.assign(customer_id=[f"c{i}" for i in range(len(s))],
                 m_x=simulate_gammagamma(s["x"].to_numpy(), p=6.0, q=4.0, gamma=15.0, seed=4))
    fit = clv.fit_bgnbd(s["x"], s["t_x"], s["T"])
    gg = clv.fit_gammagamma(s["x"], s["m_x"])
    seg = pd.Series(np.where(np.arange(3000) % 2 == 0, "even", "odd"), index=[f"c{i}" for i in range(3000)])
    st_ = defaults().clv.replace(n_draws=40)
    one = cs.score(s, fit, gg, st_, seed=9, groupings={"rfm_segment": seg}, chunk=700)
    two = cs.score(s, fit, gg, st_, seed=9, groupings={"rfm_segment": seg}, chunk=1500)
    pd.testing.assert_frame_equal(one.scores, two.scores, rtol=1e-12)
    by = one.totals["by_rfm_segment"].set_index("rfm_segment")
    assert by.loc["(none)", "customers"] == 1000 and by["customers"].sum() == 4000
    assert by["clv_total"].sum() == pytest.approx(one.totals["clv_total"], rel=1e-9)
    assert (one.scores["clv_low"] <= one.scores["clv"] + 1e-9).all()


# ---------------------------------------------------------------- model choice (issue 17, points 3b and 3c)

def test_choice_takes_the_smallest_squared_error():
    rng = np.random.default_rng(0)
    actual = rng.poisson(1.0, 5000).astype(float)
    good = actual + rng.normal(0, 0.3, 5000)
    bad = actual + rng.normal(0, 1.0, 5000)
    ch = cs.choose_model({"mbgnbd": bad, "paretonbd": good}, np.full(5000, 1.0), actual, "auto")
    assert ch.chosen == "paretonbd" and ch.how == "auto" and ch.beats_baseline
    t = ch.table.set_index("model")
    assert t.loc["paretonbd", "rmse"] == pytest.approx(np.sqrt(((good - actual) ** 2).mean()))
    assert not t.loc["mbgnbd", "within_2se"] and t.loc[cs.NAIVE, "rmse"] > t.loc["paretonbd", "rmse"]


def test_choice_prefers_a_model_without_the_one_time_buyer_assumption_when_it_fits_as_well():
    rng = np.random.default_rng(1)
    actual = rng.poisson(1.0, 5000).astype(float)
    noise = rng.normal(0, 0.5, 5000)
    a, b = actual + noise, actual + noise + rng.normal(0, 0.01, 5000)   # as good, within noise
    bg, mbg = sorted([a, b], key=lambda p: ((p - actual) ** 2).mean())  # BG/NBD the (slightly) better one
    ch = cs.choose_model({"bgnbd": bg, "mbgnbd": mbg}, actual * 0 + 1, actual, "auto")
    assert ch.chosen == "mbgnbd" and ch.how == "auto_one_time"
    assert "does not assume" in ch.reason
    # clearly worse: BG/NBD stays
    worse = actual + noise * 2
    assert cs.choose_model({"bgnbd": bg, "mbgnbd": worse}, actual * 0 + 1, actual, "auto").chosen == "bgnbd"


def test_choice_by_setting_and_a_baseline_that_wins_is_reported():
    actual = np.array([0.0, 1.0, 2.0, 3.0])
    pred = {"bgnbd": np.array([3.0, 0.0, 0.0, 0.0]), "paretonbd": np.array([1.0, 1.0, 1.0, 1.0])}
    ch = cs.choose_model(pred, actual.copy(), actual, "bgnbd")
    assert ch.chosen == "bgnbd" and ch.how == "setting" and not ch.beats_baseline
    assert cs.choose_model(pred, actual + 5, actual, "mbgnbd").reason.startswith(
        "clv.model names MBG/NBD, which could not be fitted")


def test_one_time_buyer_check_by_hand():
    s = pd.DataFrame({"x": [0, 0, 0, 0, 2], "t_x": [0.0, 0, 0, 0, 5], "T": [10.0, 10, 30, 30, 30],
                      "x_holdout": [1, 0, 0, 0, 3], "holdout_length": 26.0})
    mbg = clv.FitResult("MBG/NBD", {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6}, {}, np.zeros(4), np.eye(4), 0, 5, 5,
                        True)
    bg = clv.FitResult("BG/NBD", {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6}, {}, np.zeros(4), np.eye(4), 0, 5, 5,
                       True)
    t = cs.one_time_buyers(s, {"bgnbd": bg, "mbgnbd": mbg}).set_index("model")
    assert (t["customers"] == 4).all() and (t["actual_buyers_share"] == 0.25).all()
    assert t.loc["BG/NBD", "mean_p_alive"] == 1.0
    T = np.array([10.0, 10, 30, 30])
    zero = np.zeros(4)
    assert t.loc["MBG/NBD", "mean_p_alive"] == pytest.approx(clv.p_alive("MBG/NBD", mbg.params, zero, zero, T).mean())
    assert t.loc["MBG/NBD", "predicted_buyers_share"] == pytest.approx(
        1 - clv.p_no_purchase("MBG/NBD", mbg.params, 26.0, zero, zero, T).mean())
    assert cs.one_time_buyers(s[s["x"] > 0], {"bgnbd": bg}) is None


def test_backtest_fits_three_models_and_chooses_on_simulated_mbgnbd_customers():
    from helpers.demo.simulate import simulate_gammagamma, simulate_mbgnbd
    # an order log from an MBG/NBD process: 6,000 customers, first purchases over a year, then 2 years
    rng = np.random.default_rng(4)
    n = 6000
    first = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    sim = simulate_mbgnbd(n, r=0.8, alpha=5.0, a=1.2, b=2.0, T=200.0, seed=6)
    spend = simulate_gammagamma(np.maximum(sim["x"].to_numpy(), 1), 6.0, 4.0, 60.0, seed=7)
    rows = []
    for i in range(n):  # the first purchase, then x repeat purchases spread uniformly up to t_x (last at t_x)
        rows.append((i, first[i], spend[i]))
        x, tx = int(sim["x"].iat[i]), float(sim["t_x"].iat[i])
        for t in np.sort(np.r_[rng.uniform(0, tx, max(x - 1, 0)), tx])[:x]:
            rows.append((i, first[i] + pd.Timedelta(days=float(t) * 7), spend[i]))
    o = pd.DataFrame(rows, columns=["customer_id", "order_ts", "amount"]).assign(
        customer_id=lambda d: "c" + d["customer_id"].astype(str))
    as_of = pd.Timestamp("2025-09-30")
    o = o[o["order_ts"] <= as_of]
    bt = cs.backtest(o, as_of, defaults().clv)
    assert set(bt.fits) == {"bgnbd", "mbgnbd", "paretonbd"}
    assert bt.chosen in ("mbgnbd", "paretonbd")          # BG/NBD's one-time-buyer assumption is false here
    one = bt.one_time.set_index("model")
    err = (one["predicted_buyers_share"] - one["actual_buyers_share"]).abs()
    assert err["MBG/NBD"] < err["BG/NBD"] and err["MBG/NBD"] < 0.03


def test_row_quantiles_are_numpys():
    v = np.random.default_rng(2).gamma(2.0, 3.0, (500, 200))
    for qs in ((0.05, 0.95), (0.25, 0.5, 0.75), (0.0, 1.0)):
        got = cs.row_quantiles(v, qs)
        np.testing.assert_allclose(np.vstack(got), np.quantile(v, qs, axis=1), rtol=0, atol=1e-12)
    assert cs.row_quantiles(v[:, :1], (0.05, 0.95))[1].tolist() == v[:, 0].tolist()


def test_the_p_alive_heatmap_says_why_row_0_is_one_under_bg_nbd():
    """BG/NBD counts one-time buyers as alive: the heatmap's row 0 reads 1.00 however long ago they bought, so the
    figure says it is the assumption; other models' figures carry no such note."""
    import matplotlib.pyplot as plt

    from helpers.value import figures as vf
    m = pd.DataFrame([[1.0, 1.0], [0.9, 0.4]], index=["0", "1"], columns=["0-4", "104+"])
    fig = vf.p_alive_matrix_chart(m, one_time_alive=True)
    notes = [t.get_text() for t in fig.texts]
    assert len(notes) == 1 and notes[0].startswith("Row 0 is 1.00 by the model's assumption")
    assert vf.p_alive_matrix_chart(m).texts == []
    plt.close("all")
