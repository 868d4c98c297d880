"""Churn labels and features: a hand-made table, and the leakage property (later orders never matter)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.churn import FEATURES, churn_labels, snapshot_features

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
    from helpers.churn import dataset, drivers, fit_models, metrics
    o = planted(2500, seed=3)
    train = o[o["customer_id"].str.startswith("3-")]
    test = o[o["customer_id"].str.startswith("6-")]
    Xtr, ytr = dataset(train, pd.Timestamp("2026-03-31"), 90)
    Xte, yte = dataset(test, pd.Timestamp("2026-06-30"), 90)
    models = fit_models(Xtr, ytr, seed=1)
    m = metrics(models, Xte, yte).set_index("model")
    assert m.loc["gradient boosting", "roc_auc"] >= 0.75
    assert m.loc["logistic regression", "roc_auc"] >= 0.75
    top3 = drivers(models["gradient boosting"], Xte, yte, seed=1)["feature"].head(3).tolist()
    assert "discount_share" in top3


def test_single_class_training_snapshot_is_a_clear_error():
    from helpers.churn import fit_models
    X = pd.DataFrame({"recency_days": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="nobody churned"):
        fit_models(X, pd.Series([0, 0, 0]), seed=1)
