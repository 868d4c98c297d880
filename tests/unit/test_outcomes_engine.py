"""Experiment outcomes on the engine against the pandas reference (``experiments.data.outcomes``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.experiments.data import outcomes
from helpers.experiments.outcomes_engine import outcomes_engine
from helpers.frame.engine import orders_table

AS_OF = pd.Timestamp("2026-09-30")


def assert_same(ref, got) -> None:
    (a, ea), (b, eb) = ref, got
    assert ea == eb
    assert list(a.columns) == list(b.columns) and a.attrs == b.attrs
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=0, check_dtype=False)
    assert b["orders"].dtype == "int64"


def test_window_edges_multi_variant_and_no_discount(tmp_path):
    at = pd.Timestamp("2026-07-01 12:00")
    e = pd.DataFrame({"experiment_id": ["E", "E", "E", "F"], "customer_id": ["a", "b", "c", "a"],
                      "variant": ["control", "treatment", "control", "treatment"],
                      "assigned_at": [at, at, at, at + pd.Timedelta(days=3)],
                      "multi_variant": [False, False, True, False], "coupon_cost": [1.0, 2.0, 3.0, 4.0]})
    o = pd.DataFrame({"customer_id": ["a", "a", "a", "a", "b", "c", "a"],
                      "order_ts": [at, at + pd.Timedelta(days=14), at - pd.Timedelta(days=14),
                                   at + pd.Timedelta(days=14, microseconds=1), at - pd.Timedelta(seconds=1),
                                   at + pd.Timedelta(days=1), at + pd.Timedelta(days=2)],
                      "amount": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 5.25]})
    path = tmp_path / "o.parquet"
    o.to_parquet(path, index=False)
    ref = outcomes(e, o, 14)
    got = outcomes_engine(e, path, 14)
    assert_same(ref, got)
    assert got[0]["orders"].tolist() == [2, 0, 2] and got[1] == {"E": 1}
    assert np.isnan(got[0]["discount"]).all() and got[0].attrs["supplied_metrics"] == ["coupon_cost"]


@pytest.fixture(scope="module")
def ci_clean(ci_data, tmp_path_factory):
    from helpers.frame.settings import CustomersColumns, ExperimentsColumns, defaults
    from helpers.ingest.rules import clean_customers, clean_experiments, clean_orders
    s = defaults().ingest
    c, _ = clean_customers(pd.read_parquet(ci_data / "customers.parquet"), CustomersColumns.minimal(), s, "c")
    o, _ = clean_orders(pd.read_parquet(ci_data / "orders.parquet"), defaults().columns.orders, s, AS_OF, "o",
                        c["customer_id"])
    e, _ = clean_experiments(pd.read_parquet(ci_data / "experiments.parquet"), ExperimentsColumns.minimal(), s,
                             AS_OF, "e")
    path = tmp_path_factory.mktemp("ab") / "orders.parquet"
    o.to_parquet(path, index=False)
    return e, o, path


def test_ci_experiments_same_outcomes(ci_clean):
    e, o, path = ci_clean
    for window in (7, 28):
        ref = outcomes(e, o, window)
        for source in (path, orders_table(path)):
            got = outcomes_engine(e, source, window)
            assert_same(ref, got)
        assert got[0]["orders"].sum() > 50 and got[0]["pre_revenue"].sum() > 0
        assert got[0]["discount"].notna().all()
