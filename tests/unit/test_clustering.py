"""Clustering: planted, well-separated groups are recovered and keep their numbers when shuffled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from helpers.frame.settings import defaults
from helpers.segments.model import cluster_customers
from helpers.segments.step import cluster_profiles, cluster_segment_crosstab, snake_data

SETTINGS = defaults().clustering.replace(k_min=2, k_max=6, n_init=5)


def planted(n_per=400, seed=0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = [  # (recency days, frequency, spend): valuable, regular, lapsed one-off
        (5, 25, 6000), (90, 4, 400), (700, 1, 40)]
    rows, truth = [], []
    for g, (r, f, m) in enumerate(groups):
        rows.append(pd.DataFrame({
            "recency": np.maximum(0, r * np.exp(rng.normal(0, 0.15, n_per))).round(),
            "frequency": np.maximum(1, f * np.exp(rng.normal(0, 0.15, n_per))).round(),
            "monetary": m * np.exp(rng.normal(0, 0.15, n_per)),
        }))
        truth += [g] * n_per
    df = pd.concat(rows, ignore_index=True)
    df["customer_id"] = [f"c{i:05d}" for i in range(len(df))]
    df["revenue"], df["orders"] = df["monetary"], df["frequency"]
    return df, np.array(truth)


def test_recovers_planted_groups_numbered_by_value():
    df, truth = planted()
    res = cluster_customers(df, SETTINGS, seed=7)
    assert res.k == 3
    assert adjusted_rand_score(truth, res.labels) >= 0.9
    # cluster 1 is the most valuable planted group, 3 the lapsed one-off buyers
    assert pd.Series(res.labels[truth == 0]).mode()[0] == 1
    assert pd.Series(res.labels[truth == 2]).mode()[0] == 3
    assert res.curve["k"].tolist() == [2, 3, 4, 5, 6]
    assert res.silhouette == pytest.approx(res.curve["silhouette"].max())


def test_numbering_survives_shuffling():
    df, _ = planted(seed=3)
    res = cluster_customers(df, SETTINGS, seed=11)
    shuffled = df.sample(frac=1.0, random_state=5)
    res2 = cluster_customers(shuffled, SETTINGS, seed=11)
    a = pd.Series(res.labels.to_numpy(), index=df["customer_id"])
    b = pd.Series(res2.labels.to_numpy(), index=shuffled["customer_id"])
    assert (a.sort_index() == b.sort_index()).all()


def test_too_few_distinct_customers_make_one_cluster():
    df = pd.DataFrame({"customer_id": ["a", "b"], "recency": [3, 3], "frequency": [1, 1], "monetary": [10.0, 10.0],
                       "revenue": [10.0, 10.0], "orders": [1, 1]})
    res = cluster_customers(df, SETTINGS, seed=1)
    assert res.k == 1 and res.labels.tolist() == [1, 1] and "too few" in res.note


def test_profiles_and_crosstab_in_business_terms():
    df, truth = planted(n_per=100)
    res = cluster_customers(df, SETTINGS, seed=7)
    orders = pd.DataFrame({"customer_id": df["customer_id"], "category": np.where(truth == 0, "electronics", "books"),
                           "amount": df["monetary"]})
    customers = pd.DataFrame({"customer_id": df["customer_id"], "region": np.where(truth == 2, "West", "East")})
    p = cluster_profiles(df, res.labels, orders, customers).set_index("cluster")
    assert p["customers"].sum() == len(df)
    assert p["share_of_revenue"].sum() == pytest.approx(1.0)
    assert p.loc[1, "top_category"] == "electronics" and p.loc[3, "top_region"] == "West"
    assert p.loc[1, "description"] == "recent, frequent, high spend"
    assert p.loc[3, "description"].startswith("lapsed, one-off")
    segs = pd.Series(pd.Categorical(np.where(truth == 0, "Champions", "Lost"), categories=["Champions", "Lost"]))
    ct = cluster_segment_crosstab(res.labels, segs)
    assert ct.to_numpy().sum() == len(df) and list(ct.columns) == ["Champions", "Lost"]
    sn = snake_data(res.features, res.labels)
    assert set(sn["feature"]) == {"recency", "frequency", "monetary"} and len(sn) == 9


def test_attribute_features(tmp_path):
    df, _ = planted(n_per=50)
    customers = pd.DataFrame({"customer_id": df["customer_id"], "city_tier": "Tier 1", "age": 30})
    res = cluster_customers(
        df, defaults().clustering.replace(k_min=2, k_max=4, attributes=["city_tier", "age"]), 1, customers
    )
    assert {"city_tier_Tier 1", "age"} <= set(res.features.columns)
    from helpers.frame.errors import InputDataError
    with pytest.raises(InputDataError, match="does not have"):
        cluster_customers(df, defaults().clustering.replace(attributes=["income"]), 1, customers)


def test_silhouette_curve_equals_sklearns_sampled_silhouette():
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    df, _ = planted(n_per=500, seed=3)
    st = defaults().clustering.replace(k_min=2, k_max=5, n_init=3, silhouette_sample=600)
    res = cluster_customers(df, st, seed=11)
    X = res.features.loc[df.sort_values("customer_id").index].to_numpy()
    for _, row in res.curve.iterrows():
        km = KMeans(n_clusters=int(row["k"]), n_init=3, random_state=11).fit(X)
        want = silhouette_score(X, km.labels_, sample_size=600, random_state=11)
        assert row["silhouette"] == pytest.approx(want, abs=1e-5)


def test_top_category_from_an_ibis_table_equals_the_frame(tmp_path):
    import ibis
    df, truth = planted(n_per=60)
    res = cluster_customers(df, SETTINGS, seed=7)
    orders = pd.DataFrame({"customer_id": df["customer_id"], "category": np.where(truth == 1, "garden", "toys"),
                           "amount": df["monetary"]})
    path = tmp_path / "o.parquet"
    orders.to_parquet(path, index=False)
    want = cluster_profiles(df, res.labels, orders)
    for source in (ibis.duckdb.connect().read_parquet(str(path)), str(path)):
        pd.testing.assert_frame_equal(cluster_profiles(df, res.labels, source), want)


def test_customers_too_alike_to_cluster_are_one_cluster_and_not_available():
    same = pd.DataFrame({"customer_id": [f"c{i}" for i in range(50)], "recency": 10, "frequency": 3,
                         "monetary": 150.0, "revenue": 150.0})
    res = cluster_customers(same, SETTINGS, 1)
    assert res.k == 1 and (res.labels == 1).all()
    assert res.not_available is not None and res.not_available.part == "rfm.clustering"
    assert "1 distinct profile" in res.not_available.missing
    two = pd.concat([same, same.assign(customer_id=lambda d: d["customer_id"] + "x", recency=300)])
    assert cluster_customers(two, SETTINGS, 1).not_available is not None     # two profiles: still too few
    three = pd.concat([two, same.assign(customer_id=lambda d: d["customer_id"] + "y", frequency=9, monetary=900.0)])
    assert cluster_customers(three, SETTINGS, 1).not_available is None


def test_final_fit_on_everyone_is_sklearns_kmeans_when_the_candidates_saw_everyone():
    """Up to FIT_SAMPLE customers the candidate fit of the chosen k is the final one: the labels are those of
    sklearn's KMeans(k, n_init, random_state=seed) on all customers (before renumbering by value)."""
    from sklearn.cluster import KMeans

    from helpers.segments.model import cluster_features
    df, _ = planted(n_per=300, seed=4)
    res = cluster_customers(df, SETTINGS, seed=5)
    X = cluster_features(df.sort_values("customer_id")).to_numpy()
    ref = KMeans(n_clusters=res.k, n_init=SETTINGS.n_init, random_state=5).fit(X).labels_
    assert adjusted_rand_score(ref, res.labels.to_numpy()) == 1.0


def test_beyond_the_fit_sample_everyone_is_fitted_from_the_samples_centres(monkeypatch):
    """More customers than the candidate sample: the final k-means on everyone starts from the sample's centres
    and is as good as n_init new starts on everyone (inertia within 0.1%), and recovers the planted groups."""
    from sklearn.cluster import KMeans

    from helpers.segments import model
    from helpers.segments.model import cluster_features
    monkeypatch.setattr(model, "FIT_SAMPLE", 300)
    df, truth = planted(n_per=700, seed=6)
    res = cluster_customers(df, SETTINGS, seed=8)
    assert res.k == 3
    assert adjusted_rand_score(truth, res.labels) >= 0.9
    X = cluster_features(df.sort_values("customer_id")).to_numpy()
    full = KMeans(n_clusters=3, n_init=SETTINGS.n_init, random_state=8).fit(X)
    labels = res.labels.to_numpy()   # df is sorted by customer id already
    inertia = sum(((X[labels == c] - X[labels == c].mean(axis=0)) ** 2).sum() for c in np.unique(labels))
    assert inertia <= full.inertia_ * 1.001
