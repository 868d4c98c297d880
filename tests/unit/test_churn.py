"""Churn labels and features: a hand-made table, and the leakage property (later orders never matter)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.churn.data import FEATURES, churn_labels, snapshot_features
from helpers.frame.settings import defaults

SNAP = pd.Timestamp("2026-06-30")


def hand() -> pd.DataFrame:
    rows = [  # customer, date, amount, category, channel, discount
        ("a", "2026-01-01", 100.0, "books", "app", 0.0),
        ("a", "2026-03-01", 50.0, "home", "web", 10.0),
        ("a", "2026-06-20", 30.0, "books", "app", 0.0),
        ("a", "2026-07-15", 99.0, "books", "app", 0.0),     # after the snapshot: label only
        ("b", "2026-05-01", 20.0, "beauty", "store", 0.0),
        ("c", "2025-01-01", 70.0, "home", "app", 0.0),      # inactive for more than a year: not in the population
    ]
    return pd.DataFrame(rows, columns=["customer_id", "order_ts", "amount", "category", "channel", "discount"]).assign(
        order_ts=lambda d: pd.to_datetime(d["order_ts"]))


def test_features_by_hand():
    f = snapshot_features(hand(), SNAP)
    assert list(f.index) == ["a", "b"]
    a = f.loc["a"]
    assert (a["recency_days"], a["tenure_days"], a["orders"], a["purchase_days"]) == (10, 180, 3, 3)
    assert a["spend"] == 180.0 and a["average_order_value"] == 60.0
    assert a["mean_gap_days"] == pytest.approx(170 / 2) and a["gap_ratio"] == pytest.approx(10 / 85)
    # last 90 days = (Apr 1, Jun 30]: 30; the 90 before = (Jan 1, Apr 1]: 50 (Jan 1 itself is 180 days back)
    assert (a["spend_last_90"], a["spend_prev_90"]) == (30.0, 50.0)
    assert a["spend_trend"] == pytest.approx((30 - 50) / 80)
    assert a["category_breadth"] == 2 and a["main_channel_share"] == pytest.approx(2 / 3)
    assert a["discount_share"] == pytest.approx(10 / 190)
    assert np.isnan(f.loc["b", "mean_gap_days"])       # one purchase: no usual gap
    assert set(FEATURES) <= set(f.columns)


def test_labels_by_hand():
    pop = snapshot_features(hand(), SNAP).index
    lab = churn_labels(hand(), SNAP, 30, pop)
    assert lab.to_dict() == {"a": 0, "b": 1}
    assert churn_labels(hand(), SNAP, 10, pop).to_dict() == {"a": 1, "b": 1}
    with pytest.raises(ValueError, match="use an earlier snapshot"):
        churn_labels(hand(), SNAP, 90, pop, observed_until=pd.Timestamp("2026-09-27"))
    assert churn_labels(hand(), SNAP, 90, pop, observed_until=pd.Timestamp("2026-09-28")).to_dict() == {"a": 0, "b": 1}


@st.composite
def histories(draw):
    n = draw(st.integers(1, 30))
    base = pd.Timestamp("2025-06-01")
    return pd.DataFrame({
        "customer_id": draw(st.lists(st.sampled_from(list("abcdef")), min_size=n, max_size=n)),
        "order_ts": [base + pd.Timedelta(days=d) for d in draw(st.lists(st.integers(0, 500), min_size=n, max_size=n))],
        "amount": draw(st.lists(st.floats(1, 1000), min_size=n, max_size=n)),
        "category": draw(st.lists(st.sampled_from(["x", "y"]), min_size=n, max_size=n)),
        "channel": draw(st.lists(st.sampled_from(["app", "web"]), min_size=n, max_size=n)),
        "discount": draw(st.lists(st.floats(0, 50), min_size=n, max_size=n)),
    })


@settings(max_examples=80, deadline=None)
@given(histories(), st.integers(0, 500), st.data())
def test_later_orders_never_change_the_features(orders, snap_day, data):
    snap = pd.Timestamp("2025-06-01") + pd.Timedelta(days=snap_day)
    before = snapshot_features(orders, snap)
    later = orders["order_ts"] >= snap.normalize() + pd.Timedelta(days=1)
    changed = orders.copy()
    # change every later order's amount and date (still later), and delete some of them
    changed.loc[later, "amount"] = changed.loc[later, "amount"] * 3 + 1
    changed.loc[later, "order_ts"] = changed.loc[later, "order_ts"] + pd.Timedelta(days=7)
    drop = data.draw(st.lists(st.booleans(), min_size=len(orders), max_size=len(orders)))
    changed = changed[~(later & np.array(drop, dtype=bool))]
    after = snapshot_features(changed, snap)
    pd.testing.assert_frame_equal(before, after)


def planted(n: int, seed: int) -> pd.DataFrame:
    """Customers whose churn depends on their discount share (the planted driver), plus noise."""
    from scipy.special import expit
    rng = np.random.default_rng(seed)
    rows = []
    for snap in (pd.Timestamp("2026-03-31"), pd.Timestamp("2026-06-30")):
        for i in range(n):
            cid = f"{snap.month}-{i}"
            k = rng.integers(2, 8)
            days = np.sort(rng.integers(1, 300, k))
            share = rng.beta(2, 4)
            for d in days:
                amt = rng.gamma(3, 40)
                rows.append((cid, snap - pd.Timedelta(days=int(d)), amt, amt * share / (1 - share)))
            if rng.random() > expit(-0.5 + 8 * (share - 0.33)):   # stays: buys again within the horizon
                rows.append((cid, snap + pd.Timedelta(days=int(rng.integers(1, 80))), 50.0, 0.0))
    return pd.DataFrame(rows, columns=["customer_id", "order_ts", "amount", "discount"])


def test_model_finds_the_planted_driver_on_a_later_snapshot():
    from helpers.churn.data import dataset
    from helpers.churn.model import drivers, fit_models, metrics, predict
    o = planted(2500, seed=3)
    train = o[o["customer_id"].str.startswith("3-")]
    test = o[o["customer_id"].str.startswith("6-")]
    Xtr, ytr = dataset(train, pd.Timestamp("2026-03-31"), 90)
    Xte, yte = dataset(test, pd.Timestamp("2026-06-30"), 90)
    models = fit_models(Xtr, ytr, seed=1)
    assert set(models) == {"gradient_boosting", "logistic", "blend"}
    m = metrics(predict(models, Xte), yte).set_index("model")
    assert m.loc["gradient_boosting", "roc_auc"] >= 0.75
    assert m.loc["logistic", "roc_auc"] >= 0.75
    # fitted by log loss, calibrated without a separate step: the mean prediction is within 3 points of
    # the observed rate on the later snapshot, and ten risk bands are within 5 points on average
    for name in ("gradient_boosting", "logistic", "blend"):
        assert abs(m.loc[name, "mean_predicted"] - yte.mean()) < 0.03, name
        assert m.loc[name, "calibration_error"] < 0.05, name
    for name in ("gradient_boosting", "logistic", "blend"):
        top3 = drivers(models[name], Xte, yte, seed=1)["feature"].head(3).tolist()
        assert "discount_share" in top3, (name, top3)


def test_labels_a_model_cannot_learn_from_are_recognised_by_kind():
    from helpers.churn.model import MIN_CLASS, MIN_CUSTOMERS, DataTooSmall, fit_models
    cases = [(pd.Series([0] * 30 + [1] * 30), "few"), (pd.Series([0] * 300), "one_class"),
             (pd.Series([1] * 300), "one_class"), (pd.Series([1] * (MIN_CLASS - 1) + [0] * 300), "minority"),
             (pd.Series([0] * (MIN_CLASS - 1) + [1] * 300), "minority")]
    for y, kind in cases:
        X = pd.DataFrame({"recency_days": np.arange(float(len(y)))})
        with pytest.raises(DataTooSmall) as e:
            fit_models(X, y, seed=1)
        assert e.value.kind == kind and e.value.n == len(y) and e.value.churned == int(y.sum())
    y = pd.Series([1] * MIN_CLASS + [0] * (MIN_CUSTOMERS - MIN_CLASS))     # the smallest data that trains
    assert set(fit_models(pd.DataFrame({"r": np.arange(float(len(y)))}), y, seed=1)) >= {"logistic"}


def test_attributes_become_features_and_unknown_levels_are_kept():
    from helpers.churn.data import dataset
    from helpers.churn.model import fit_models, predict
    o = hand()
    cust = pd.DataFrame({"customer_id": ["a", "b"], "region": ["north", None]})
    X, _ = dataset(o, SNAP, 30, customers=cust, attributes=["region"])
    assert X["region"].tolist() == ["north", "unknown"]
    with pytest.raises(KeyError, match="customers table lack"):
        dataset(o, SNAP, 30, customers=cust, attributes=["tier"])
    # a text attribute trains and predicts in both models (one-hot / native categories)
    rng = np.random.default_rng(0)
    n = 400
    Xa = pd.DataFrame({"recency_days": rng.integers(0, 300, n).astype(float),
                       "region": rng.choice(["north", "south"], n)})
    y = pd.Series(((Xa["region"] == "north") ^ (rng.random(n) < 0.2)).astype(int))
    p = predict(fit_models(Xa, y, seed=0), Xa.assign(region=["west"] + list(Xa["region"][1:])))
    assert p.notna().all().all() and p.shape == (n, 3)
    assert p.loc[Xa["region"] == "north", "logistic"].mean() > p.loc[Xa["region"] == "south", "logistic"].mean() + 0.3


# ---- evaluation tables -------------------------------------------------------------------------

def test_lift_capture_and_confusion_by_hand():
    from helpers.churn.model import confusion, lift_table
    y = np.array([1, 1, 0, 1, 0, 0, 0, 1, 0, 0])
    p = np.array([.9, .8, .7, .6, .5, .4, .3, .2, .1, .05])
    t = lift_table(y, p, groups=5)
    assert t["customers"].tolist() == [2] * 5
    assert t["churn_rate"].tolist() == [1.0, 0.5, 0.0, 0.5, 0.0]
    assert t["lift"].iloc[0] == pytest.approx(1.0 / 0.4)
    assert t["capture"].tolist() == [0.5, 0.75, 0.75, 1.0, 1.0]
    assert confusion(y, p >= 0.6) == {"tp": 3, "fp": 1, "fn": 1, "tn": 5}


def test_calibration_error_is_zero_for_perfect_bins_and_large_for_overconfident():
    from helpers.churn.model import calibration_curve, expected_calibration_error
    y = np.array([0] * 8 + [1] * 2 + [0] * 2 + [1] * 8)
    p = np.array([0.2] * 10 + [0.8] * 10)
    assert expected_calibration_error(y, p, bins=2) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.where(p > 0.5, 1.0, 0.0), bins=2) == pytest.approx(0.2)
    cc = calibration_curve(y, p, bins=2)
    assert cc["observed_rate"].tolist() == pytest.approx([0.2, 0.8])


def test_tiers_by_probability_and_by_share():
    from helpers.churn.model import assign_tiers, tier_thresholds
    p = (np.arange(100) + 0.5) / 100           # 0.005, 0.015, ..., 0.995
    assert tier_thresholds(p, "probability", 0.7, 0.4) == (0.7, 0.4)
    t = assign_tiers(p, "probability", 0.7, 0.4)
    assert (t == "high").sum() == 30 and (t == "medium").sum() == 30 and (t == "low").sum() == 40
    t = assign_tiers(p, "top_share", 0.1, 0.2)
    assert (t == "high").sum() == 10 and (t == "medium").sum() == 20
    assert set(p[t == "high"]) == set(p[-10:]) and tier_thresholds(p, "top_share", 0.1, 0.2) == (0.905, 0.705)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([0.1, 0.2, 0.5, 0.9]), min_size=0, max_size=400), st.floats(0.01, 0.5),
       st.floats(0.01, 0.45))
def test_top_share_tiers_are_lists_of_the_stated_size_even_with_ties(ps, high, medium):
    """Many customers share a probability (BG/NBD scores equal histories equally): the tiers still hold
    round(share x n) customers, the riskiest first, and the same input gives the same tiers."""
    from helpers.churn.model import assign_tiers
    p = np.array(ps, float)
    t = assign_tiers(p, "top_share", high, medium)
    n = len(p)
    assert (t == "high").sum() == int(np.floor(high * n + 0.5))
    assert (t == "high").sum() + (t == "medium").sum() == int(np.floor((high + medium) * n + 0.5))
    if (t == "high").any() and (t != "high").any():
        assert p[t == "high"].min() >= p[t != "high"].max()
    assert (assign_tiers(p, "top_share", high, medium) == t).all()


# ---- retention ---------------------------------------------------------------------------------

def test_kaplan_meier_matches_a_hand_computed_table():
    """Times 1, 2+, 3, 3, 4+, 5 (+ = censored): the product-limit estimate by hand.

    t=1: 6 at risk, 1 event -> S = 5/6; t=3: 4 at risk (2 removed: the event at 1, the censored 2),
    2 events -> S = 5/6 * 2/4 = 5/12; t=5: 1 at risk, 1 event -> S = 0.
    Greenwood at t=1: S^2 * 1/(6*5) -> se = (5/6) * sqrt(1/30).
    """
    from helpers.churn.model import kaplan_meier
    km = kaplan_meier([1, 2, 3, 3, 4, 5], [1, 0, 1, 1, 0, 1])
    assert km["time"].tolist() == [0, 1, 3, 5]
    assert km["at_risk"].tolist() == [6, 6, 4, 1]
    assert km["events"].tolist() == [0, 1, 2, 1]
    assert km["survival"].tolist() == pytest.approx([1, 5 / 6, 5 / 12, 0])
    s, se = 5 / 6, 5 / 6 * np.sqrt(1 / 30)
    z = 1.959963984540054
    se_ll = se / (s * abs(np.log(s)))
    assert km["ci_low"].iloc[1] == pytest.approx(s ** np.exp(z * se_ll))
    assert km["ci_high"].iloc[1] == pytest.approx(s ** np.exp(-z * se_ll))
    assert (km["ci_low"] <= km["survival"] + 1e-12).all() and (km["survival"] <= km["ci_high"] + 1e-12).all()


def test_logrank_separates_different_groups_and_not_equal_ones():
    from helpers.churn.model import logrank
    rng = np.random.default_rng(5)
    fast, slow = rng.exponential(10, 300), rng.exponential(30, 300)
    chi2, p, df = logrank(np.r_[fast, slow], np.ones(600), ["a"] * 300 + ["b"] * 300)
    assert p < 1e-6 and df == 1 and chi2 > 25
    same = rng.exponential(10, 600)
    assert logrank(same, np.ones(600), ["a"] * 300 + ["b"] * 300)[1] > 0.001


def test_time_to_next_purchase_is_censored_at_the_as_of_date():
    from helpers.churn.data import time_to_next_purchase
    o = hand()
    tt = time_to_next_purchase(o, pd.Timestamp("2026-06-30"), pd.Timestamp("2026-09-30"), pd.Index(["a", "b", "c"]))
    assert tt.loc["a"].tolist() == [15.0, 1]        # 2026-07-15 is day 15 after 2026-06-30
    assert tt.loc["b"].tolist() == [92.0, 0] and tt.loc["c"].tolist() == [92.0, 0]


def test_cohort_retention_by_hand():
    from helpers.churn.data import cohort_retention
    rows = [("a", "2026-01-05"), ("a", "2026-04-02"), ("b", "2026-02-01"), ("b", "2026-08-01"),
            ("c", "2026-04-10"), ("c", "2026-05-01"), ("d", "2026-05-05"), ("d", "2026-07-09")]
    o = pd.DataFrame(rows, columns=["customer_id", "order_ts"]).assign(order_ts=lambda d: pd.to_datetime(d["order_ts"]))
    t = cohort_retention(o, pd.Timestamp("2026-08-15"), cohorts=3)
    assert t.index.tolist() == ["2026Q1", "2026Q2", "2026Q3"][: len(t)]
    assert t.loc["2026Q1", "customers"] == 2 and t.loc["2026Q1", "Q+1"] == 0.5
    # Q3 is not complete on 2026-08-15: Q1's Q+2 and Q2's Q+1 are empty, never zero
    assert np.isnan(t.loc["2026Q1", "Q+2"]) and np.isnan(t.loc["2026Q2", "Q+1"])
    assert t.loc["2026Q2", "customers"] == 2 and t.loc["2026Q2", "Q+0"] == 1.0


def test_cohort_retention_counts_a_complete_quarter_without_buyers_as_zero(tmp_path):
    """A finished quarter in which none of a cohort bought is 0%, not "n/a" (which is kept for quarters
    not yet over); a DataFrame, an Ibis table and a Parquet file give the same table."""
    import ibis

    from helpers.churn.data import cohort_retention
    rows = [("a", "2025-10-05"), ("b", "2025-11-01"), ("a", "2026-04-02"), ("c", "2026-01-10"),
            ("c", "2026-01-20"), ("d", "2026-02-05"), ("d", "2026-07-09")]
    o = pd.DataFrame(rows, columns=["customer_id", "order_ts"]).assign(order_ts=lambda d: pd.to_datetime(d["order_ts"]))
    o.to_parquet(tmp_path / "o.parquet")
    t = cohort_retention(o, pd.Timestamp("2026-09-30"), cohorts=4)
    # 2025Q4 cohort (a, b): nobody in 2026Q1, a in 2026Q2, nobody in 2026Q3 (all three quarters complete)
    assert t.loc["2025Q4"].tolist() == [2, 1.0, 0.0, 0.5, 0.0]
    # 2026Q1 cohort (c, d; c's two orders count once): d again in 2026Q3
    assert t.loc["2026Q1", "customers"] == 2 and t.loc["2026Q1", ["Q+0", "Q+1", "Q+2"]].tolist() == [1.0, 0.0, 0.5]
    assert np.isnan(t.loc["2026Q1", "Q+3"])  # 2026Q4 has not started
    for other in (ibis.memtable(o), str(tmp_path / "o.parquet")):
        pd.testing.assert_frame_equal(cohort_retention(other, pd.Timestamp("2026-09-30"), cohorts=4), t)
    # no order up to the as-of date: an empty table with the same columns, not an error
    empty = cohort_retention(o, pd.Timestamp("2025-01-01"), cohorts=4)
    assert empty.empty and list(empty.columns) == list(t.columns)


# ---- contractual mode ----------------------------------------------------------------------------

def contract_customers(n: int = 1200, seed: int = 7) -> pd.DataFrame:
    """Month-to-month contracts churn far more (planted); region is noise."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["monthly", "annual", "two-year"], n, p=[0.5, 0.3, 0.2])
    rate = np.select([contract == "monthly", contract == "annual"], [0.45, 0.12], 0.04)
    return pd.DataFrame({"customer_id": [f"k{i}" for i in range(n)], "contract": contract,
                         "region": rng.choice(["east", "west"], n),
                         "signup_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
                         "churned": rng.random(n) < rate})


def test_contractual_mode_cross_validates_on_attributes():
    from helpers.churn.step import mode_sentence, run
    cust = contract_customers()
    res = run(pd.DataFrame({"customer_id": [], "order_ts": pd.to_datetime([]), "amount": []}), cust,
              pd.Timestamp("2026-09-30"), defaults().churn, seed=3, currency="EUR")
    assert res.available and res.mode == "contractual"
    m = res.metrics.set_index("model")
    assert m.loc["logistic", "roc_auc"] > 0.7 and m.loc["gradient_boosting", "roc_auc"] > 0.7
    assert res.drivers["feature"].iloc[0] == "contract"
    assert "region" in res.features and "signup_tenure_days" in res.features
    # scored: every customer not churned, once
    assert sorted(res.scores["customer_id"]) == sorted(cust.loc[~cust["churned"], "customer_id"])
    assert "Contractual mode" in mode_sentence(res)


def test_contractual_mode_with_a_single_class_says_why():
    from helpers.churn.step import mode_sentence, run
    cust = contract_customers().assign(churned=False)
    res = run(pd.DataFrame({"customer_id": [], "order_ts": pd.to_datetime([]), "amount": []}), cust,
              pd.Timestamp("2026-09-30"), defaults().churn, seed=3, currency="EUR")
    assert not res.available and "none of the 1,200 labelled customers churned" in res.reason
    assert res.not_available.part == "churn" and mode_sentence(res) == ""


def test_too_little_history_is_reported_not_raised():
    from helpers.churn.step import run

    res = run(
        hand(), None, pd.Timestamp("2025-05-01"), defaults().churn.replace(horizon_days=90), seed=1, currency="EUR"
    )
    assert not res.available and "the orders start on 2025-01-01" in res.reason
    assert "at least 181 days of orders" in res.reason


def test_bgnbd_history_from_ibis_equals_the_clv_calibration_summary():
    from helpers.churn.data import purchase_history
    from helpers.value.data import calibration_summary
    o = planted(300, seed=2)
    snap = pd.Timestamp("2026-04-15")
    got = purchase_history(o, snap, 7.0).sort_index()
    want = calibration_summary(o, snap, unit_days=7.0).set_index("customer_id").sort_index()
    want.index = want.index.astype(str)
    assert got.index.tolist() == want.index.tolist()
    np.testing.assert_allclose(got[["x", "t_x", "T"]].to_numpy(float), want[["x", "t_x", "T"]].to_numpy(float))


def test_bgnbd_fitted_on_a_seeded_sample_scores_everyone_like_the_full_fit(monkeypatch):
    from helpers.churn import data as churn_data
    from helpers.churn import step as churn_step
    from helpers.churn.model import bgnbd_churn
    from helpers.demo.simulate import simulate_bgnbd
    rng = np.random.default_rng(4)
    sim = simulate_bgnbd(20_000, r=0.8, alpha=6.0, a=0.9, b=3.0, T=rng.uniform(13, 104, 20_000), seed=4)
    sim.index = pd.Index([f"c{i}" for i in range(len(sim))])
    monkeypatch.setattr(churn_data, "purchase_history", lambda t, snap, unit: sim[["x", "t_x", "T"]])
    snap = pd.Timestamp("2026-06-30")

    def no_purchase(fit_sample, seed):
        params = churn_step._fit_bgnbd(None, snap, seed, fit_sample).params
        return bgnbd_churn(params, sim["x"], sim["t_x"], sim["T"], 90 / 7)["no_purchase"]

    full, part = no_purchase(10**9, 1), no_purchase(5_000, 1)
    pd.testing.assert_series_equal(part, no_purchase(5_000, 1))        # same seed, same scores
    assert not part.equals(no_purchase(5_000, 2))                      # the sample really depends on the seed
    assert (part - full).abs().max() < 0.05                            # a 5,000-customer fit scores like 20,000
    assert part.corr(full, method="spearman") > 0.99


def test_attribute_dropped_at_cleaning_is_refused_with_the_columns_there_are():
    from helpers.churn.step import run
    from helpers.frame.errors import ParameterError
    o = planted(200, seed=1)
    cust = pd.DataFrame({"customer_id": o["customer_id"].unique(), "region": "north"})
    with pytest.raises(ParameterError, match=r"churn.attributes names \['tier'\].*\['region'\]"):
        run(o, cust, pd.Timestamp("2026-09-30"), defaults().churn.replace(attributes=["tier"]), seed=1, currency="EUR")


def test_fit_sample_is_stratified_seeded_and_a_no_op_when_small():
    from helpers.churn.model import fit_sample
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=5000)}, index=[f"c{i}" for i in range(5000)])
    y = pd.Series(rng.random(5000) < 0.3, index=X.index)
    Xs, ys = fit_sample(X, y, seed=1, max_rows=1000)
    assert len(Xs) == 1000 and Xs.index.equals(ys.index)
    assert abs(ys.mean() - y.mean()) < 0.002                       # churn share kept
    assert fit_sample(X, y, seed=1, max_rows=1000)[0].index.equals(Xs.index)
    assert not fit_sample(X, y, seed=2, max_rows=1000)[0].index.equals(Xs.index)
    assert list(Xs.index) == [i for i in X.index if i in set(Xs.index)]   # original order kept
    Xa, ya = fit_sample(X, y, seed=1, max_rows=5000)
    assert Xa is X and ya is y


def test_effects_in_words_state_the_ratio_and_call_flat_effects_flat():
    from helpers.churn.step import effects_in_words

    pdp = pd.DataFrame({
        "feature": ["gap_ratio"] * 3 + ["orders"] * 3,
        "value": [0.5, 2.0, 4.0, 1.0, 10.0, 37.0],
        "p": [0.20, 0.40, 0.60, 0.61, 0.60, 0.58],
    })
    steep, flat = effects_in_words(pdp, "EUR")
    assert "60% at 4.0x the usual gap against 20% at 0.5x the usual gap" in steep
    assert "3.0x as likely" in steep
    # 61% against 58%: a ratio of 1.05 is not an effect worth a multiplier, and one order is singular
    assert "at 1 order," in flat and "1 orders" not in flat
    assert "as likely" not in flat and "hardly moves the risk" in flat


def test_churn_step_without_orders_is_not_available():
    """An empty order log (DataFrame or engine table) gives "not available" with a reason, not a crash."""
    import ibis

    from helpers.churn.step import run
    o = pd.DataFrame({"customer_id": pd.Series([], dtype=str), "order_ts": pd.Series([], dtype="datetime64[us]"),
                      "amount": pd.Series([], dtype=float)})
    for x in (o, ibis.memtable(o)):
        res = run(x, None, pd.Timestamp("2026-09-30"), defaults().churn, 1, "CNY")
        assert not res.available and "no orders" in res.reason


def test_batched_drivers_and_partial_dependence_equal_one_call_per_copy():
    """The fast paths score every shuffled copy (and every grid point) in one prediction call; the slow,
    obvious version (one call per copy, the same permutations) gives the same numbers."""
    from sklearn.metrics import roc_auc_score

    from helpers.churn.model import as_categories, drivers, fit_models, partial_dependence
    rng = np.random.default_rng(3)
    n = 1500
    X = pd.DataFrame({"recency_days": rng.integers(0, 300, n).astype(float), "spend": rng.gamma(2, 50, n),
                      "plan": rng.choice(["basic", "plus", "pro"], n)})
    y = pd.Series((rng.random(n) < 0.2 + 0.5 * (X["recency_days"] > 150) - 0.1 * (X["plan"] == "pro")).astype(int))
    (X,) = as_categories(X)
    m = fit_models(X, y, seed=1, only="blend")["blend"]
    got = drivers(m, X, y, seed=5, n_repeats=2, max_rows=n).set_index("feature")
    r = np.random.default_rng(5)
    base = roc_auc_score(y, m.predict_proba(X)[:, 1])
    drops = {c: [] for c in X.columns}
    for _ in range(2):
        for c in X.columns:
            Xp = X.copy()
            Xp[c] = X[c].iloc[r.permutation(n)].to_numpy()
            drops[c].append(base - roc_auc_score(y, m.predict_proba(Xp)[:, 1]))
    for c in X.columns:
        assert got.loc[c, "importance"] == pytest.approx(np.mean(drops[c]), abs=1e-12)
        assert got.loc[c, "std"] == pytest.approx(np.std(drops[c]), abs=1e-12)
    assert got.index[0] == "recency_days"
    pdp = partial_dependence(m, X, ["recency_days", "plan"], seed=5, grid=5, max_rows=n)
    for f, v, p in pdp.itertuples(index=False):
        Xv = X.copy()
        Xv[f] = pd.Categorical([v] * n, dtype=X[f].dtype) if f == "plan" else v
        assert p == pytest.approx(m.predict_proba(Xv)[:, 1].mean(), abs=1e-12)
    assert pdp["feature"].tolist().count("plan") == 3


# --- the one-pass snapshot set (issue 21) against the per-snapshot references ---------------------------------

def _same_as_references(orders: pd.DataFrame, snaps: list[pd.Timestamp], horizon: int, active_days: int = 365):
    """Every snapshot's features, history and labels from :func:`snapshot_set` equal the references exactly."""
    from helpers.churn.data import purchase_history, snapshot_set
    windows = {s: horizon for s in snaps[:-1]}
    base = snapshot_set(orders, snaps, active_days, windows)
    try:
        for s in snaps:
            want = snapshot_features(orders, s, active_days)
            got = base.features(s)
            pd.testing.assert_frame_equal(got, want, check_exact=True)
            pd.testing.assert_frame_equal(base.history(s, 7.0), purchase_history(orders, s, 7.0), check_exact=True)
            if s in windows:
                pd.testing.assert_series_equal(base.labels(s, horizon, want.index),
                                               churn_labels(orders, s, horizon, want.index), check_exact=True)
    finally:
        base.release()


def test_snapshot_set_equals_the_references_bit_for_bit_on_planted_and_hand_data():
    _same_as_references(hand(), [pd.Timestamp("2026-03-31"), SNAP], 30)
    _same_as_references(hand().drop(columns=["category", "channel", "discount"]),
                        [pd.Timestamp("2026-03-31"), SNAP], 30)
    o = planted(300, seed=3)
    _same_as_references(o, [pd.Timestamp("2026-01-15"), pd.Timestamp("2026-04-15"), pd.Timestamp("2026-07-14")], 90)


def test_snapshot_set_on_the_ci_export_equals_the_references(ci_data, tmp_path):
    """The CI demo export (completed orders of real dates, read from Parquet on DuckDB as the step does)."""
    from helpers.frame.engine import orders_table
    raw = pd.read_parquet(ci_data / "orders.parquet")
    ok = ((raw["status"] == "completed") & (raw["order_ts"] >= "2020-01-01") & (raw["amount"] > 0)
          & raw["customer_id"].notna())      # as cleaning leaves them
    path = tmp_path / "orders.parquet"
    raw[ok].drop(columns=["status"]).to_parquet(path)
    t = orders_table(path)
    as_of = pd.Timestamp("2026-09-30")
    _same_as_references(t, [as_of - pd.Timedelta(days=180), as_of - pd.Timedelta(days=90), as_of], 90)


@settings(max_examples=60, deadline=None)
@given(histories(), st.lists(st.integers(0, 500), min_size=1, max_size=3, unique=True), st.integers(1, 120),
       st.integers(1, 400), st.sampled_from([(), ("category",), ("channel",), ("discount",),
                                             ("category", "channel", "discount")]))
def test_snapshot_set_equals_the_references_on_any_order_log(orders, days, horizon, active, drop):
    snaps = sorted(pd.Timestamp("2025-06-01") + pd.Timedelta(days=d) for d in days)
    o = orders.drop(columns=list(drop))
    if "category" in o:
        o["category"] = o["category"].astype(object)
        o.loc[o.index[::4], "category"] = None      # a missing category is no category (nor a channel: see below)
    if "channel" in o:
        o["channel"] = o["channel"].astype(object)
        o.loc[o.index[1::5], "channel"] = None      # the reference counts missing channels as one channel
    _same_as_references(o, snaps, horizon, active)


@settings(max_examples=60, deadline=None)
@given(histories(), st.integers(0, 500), st.data())
def test_snapshot_set_never_reads_an_order_after_its_snapshot(orders, snap_day, data):
    from helpers.churn.data import snapshot_set
    snap = pd.Timestamp("2025-06-01") + pd.Timedelta(days=snap_day)
    later = orders["order_ts"] >= snap.normalize() + pd.Timedelta(days=1)
    changed = orders.copy()
    changed.loc[later, "amount"] = changed.loc[later, "amount"] * 3 + 1
    changed.loc[later, "category"] = "z"
    changed.loc[later, "order_ts"] = changed.loc[later, "order_ts"] + pd.Timedelta(days=7)
    drop = data.draw(st.lists(st.booleans(), min_size=len(orders), max_size=len(orders)))
    changed = changed[~(later & np.array(drop, dtype=bool))]
    # a later snapshot in the same set must not leak into the earlier one's features or history
    snaps = [snap, snap + pd.Timedelta(days=60)]
    a, b = snapshot_set(orders, snaps), snapshot_set(changed, snaps)
    pd.testing.assert_frame_equal(a.features(snap), b.features(snap))
    pd.testing.assert_frame_equal(a.history(snap, 7.0), b.history(snap, 7.0))
    a.release(), b.release()


def test_snapshot_set_refuses_unknown_snapshots_and_windows_it_did_not_read():
    from helpers.churn.data import snapshot_set
    base = snapshot_set(hand(), [SNAP], 365, {SNAP: 30})
    with pytest.raises(KeyError, match="is not one of"):
        base.features(pd.Timestamp("2026-05-01"))
    with pytest.raises(KeyError, match="no 10-day outcome window"):
        base.labels(SNAP, 10, base.features(SNAP).index)
    with pytest.raises(ValueError, match="use an earlier snapshot"):
        base.labels(SNAP, 30, base.features(SNAP).index, observed_until=pd.Timestamp("2026-07-15"))
    base.release()
    with pytest.raises(ValueError, match="need their snapshot"):
        snapshot_set(hand(), [SNAP], 365, {pd.Timestamp("2026-01-01"): 30})


@settings(max_examples=40, deadline=None)
@given(histories(), st.integers(0, 400), st.integers(1, 200), st.lists(st.sampled_from(list("abcdefgh")), max_size=8))
def test_time_to_next_purchase_equals_a_plain_pandas_reindex(orders, origin_day, follow, population):
    """The Arrow lookup against the slow, obvious version (pandas reindex on the ids)."""
    from helpers.churn.data import time_to_next_purchase
    origin = pd.Timestamp("2025-06-01") + pd.Timedelta(days=origin_day)
    until = origin + pd.Timedelta(days=follow)
    pop = pd.Index(list(dict.fromkeys(population)), dtype=str)
    got = time_to_next_purchase(orders, origin, until, pop)
    start, stop = origin.normalize() + pd.Timedelta(days=1), until.normalize() + pd.Timedelta(days=1)
    w = orders[(orders["order_ts"] >= start) & (orders["order_ts"] < stop)]
    first = w.groupby("customer_id")["order_ts"].min().reindex(pop)
    days = ((first.dt.normalize() - start).dt.days + 1).to_numpy(float)
    event = ~np.isnan(days)
    want = pd.DataFrame({"duration": np.where(event, days, (stop - start).days).astype(float),
                         "event": event.astype(int)}, index=pop)
    pd.testing.assert_frame_equal(got, want)


def test_logrank_on_codes_equals_statsmodels_on_the_labels():
    from statsmodels.duration.survfunc import survdiff

    from helpers.churn.model import logrank
    rng = np.random.default_rng(3)
    g = rng.choice(["稳定客户", "at risk", "lost", "Champions"], 5000)
    t = rng.integers(1, 365, 5000).astype(float)
    e = (rng.random(5000) < 0.4).astype(int)
    chi2, p = survdiff(t, e, g.astype(object))
    assert logrank(t, e, g) == (float(chi2), float(p), 3)
