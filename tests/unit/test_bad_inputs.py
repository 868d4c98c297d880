"""The bad-input catalogue (README "When something goes wrong"): each case gives a clear message
naming the file, the column, how many rows and an example, or a documented fix.

Cases covered elsewhere are listed in the README table with their tests; this file holds the
cases that cross modules (a whole ingestion from parameters, or one step's helper on odd data).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers.frame import settings as params
from helpers.frame.errors import InputDataError
from helpers.frame.settings import (
    OrdersColumns,
    defaults,
)
from helpers.ingest import step as ingest
from helpers.ingest.rules import clean_orders
from helpers.segments.data import customer_summary
from helpers.segments.model import cluster_customers, segment_of
from helpers.value import data as clv_data
from helpers.value import model as clv

AS_OF = pd.Timestamp("2026-09-30")


def run_ingest_with(root, orders: pd.DataFrame, quarter="2026Q3", **over):
    (root / "data").mkdir(exist_ok=True)
    orders.to_csv(root / "data" / "o.csv", index=False)
    cfg = {"quarter": quarter, "sources": {"orders": {"path": "data/o.csv"}, "customers": None, "experiments": None},
           "columns": {"orders": {"order_id": None, "quantity": None, "category": None, "channel": None,
                                  "status": None, "discount": None}}, "pii_columns": [], **over}
    (root / "params" / "t.yaml").write_text(yaml.safe_dump(cfg))
    c = params.load_config(root / "params" / "t.yaml")
    return ingest.run_ingest(params.IngestParams.model_validate(params.step_parameters(c, "10_ingest", root / "run")),
                             root / "clean" / "orders.parquet")


def test_quarter_with_no_orders(root_env):
    o = pd.DataFrame({"customer_id": ["a", "b"], "order_ts": ["2026-01-05", "2026-02-07"], "amount": ["10", "20"]})
    with pytest.raises(InputDataError) as e:
        run_ingest_with(root_env, o)
    msg = str(e.value)
    assert "o.csv" in msg and "2026Q3" in msg and "2026-01-05" in msg and "quarter" in msg


def test_as_of_date_before_the_first_order(root_env):
    o = pd.DataFrame({"customer_id": ["a", "b"], "order_ts": ["2027-01-05", "2027-02-07"], "amount": ["10", "20"]})
    with pytest.raises(InputDataError) as e:
        run_ingest_with(root_env, o)
    msg = str(e.value)
    assert "no completed orders on or before 2026-09-30" in msg and "2 lines read" in msg
    assert "date after the as-of date" in msg


def test_mixed_date_formats_are_parsed_and_reported(root_env):
    o = pd.DataFrame({"customer_id": ["a", "b", "c"], "order_ts": ["2026-07-05", "July 6, 2026", "2026/07/07"],
                      "amount": ["¥1,200", "30", "12.5"]})
    r = run_ingest_with(root_env, o)
    assert len(r.orders) == 3 and r.orders["amount"].tolist() == [1200.0, 30.0, 12.5]
    checks = {f.check for f in r.findings}
    assert any("mixed formats" in c for c in checks)
    assert any("currency symbol" in c for c in checks)


def test_single_customer_scores_segments_and_clusters():
    o = pd.DataFrame(
        {
            "customer_id": ["only"] * 3,
            "order_ts": pd.to_datetime(["2026-07-01", "2026-08-01", "2026-09-01"]),
            "amount": [10.0, 20.0, 30.0],
        }
    )
    scored = segment_of(customer_summary(o, AS_OF), defaults().rfm)
    assert len(scored) == 1 and scored["rfm_segment"].notna().all()
    res = cluster_customers(scored, defaults().clustering, seed=1)
    assert res.k == 1 and "too few" in res.note


def test_fewer_customers_than_clusters():
    o = pd.DataFrame(
        {
            "customer_id": list("abcd"),
            "order_ts": pd.to_datetime(["2026-01-01", "2026-05-01", "2026-08-01", "2026-09-20"]),
            "amount": [5.0, 50.0, 500.0, 5000.0],
        }
    )
    scored = segment_of(customer_summary(o, AS_OF), defaults().rfm)
    res = cluster_customers(scored, defaults().clustering.replace(k_min=5, k_max=8), seed=1)
    assert res.k <= 3 and res.labels.nunique() == res.k


def test_no_repeat_buyers_stop_clv_with_a_clear_message():
    o = pd.DataFrame(
        {
            "customer_id": list("abc"),
            "order_ts": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]),
            "amount": [1.0, 2.0, 3.0],
        }
    )
    s = clv_data.calibration_summary(o, AS_OF)
    with pytest.raises(clv.CLVFitError, match="none of the 3 customers bought more than once"):
        clv.fit_bgnbd(s["x"], s["t_x"], s["T"])


def test_negative_and_zero_amounts_without_order_ids():
    df = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "order_ts": ["2026-07-01", "2026-07-09", "2026-07-02", "2026-07-03"],
            "amount": [100.0, -30.0, 0.0, -5.0],
        }
    )
    out, f = clean_orders(df, OrdersColumns.minimal(), defaults().ingest.replace(max_dropped_share=1.0), AS_OF, "x.csv")
    assert out["amount"].tolist() == [70.0]
    c = {x.check: x.rows for x in f}
    assert c["zero amount"] == 1 and c["refunded order or refund with no purchase to net against"] == 1


def test_amounts_that_are_booleans_or_garbage_are_counted():
    df = pd.DataFrame({"customer_id": ["a", "b", "c"], "order_ts": ["2026-07-01"] * 3, "amount": ["abc", "12", "--"]})
    out, f = clean_orders(df, OrdersColumns.minimal(), defaults().ingest.replace(max_dropped_share=1.0), AS_OF, "x.csv")
    bad = next(x for x in f if x.check == "amount is not a number")
    assert bad.rows == 2 and "abc" in bad.examples and len(out) == 1


def test_numeric_customer_ids_keep_a_stable_text_form(root_env):
    o = pd.DataFrame(
        {"customer_id": [7, 7, 12], "order_ts": ["2026-07-01", "2026-08-01", "2026-09-01"], "amount": [1, 2, 3]}
    )
    r = run_ingest_with(root_env, o)
    assert sorted(r.orders["customer_id"].unique()) == ["12", "7"]
    assert np.isclose(r.summary["revenue"], 6.0)


def test_export_without_the_optional_columns_uses_what_it_has(root_env):
    # the defaults map order_id, status, category, ... ; a three-column export must still ingest
    o = pd.DataFrame({"customer_id": ["a", "b"], "order_ts": ["2026-07-01", "2026-08-01"], "amount": [10, 20]})
    o.to_csv(root_env / "o.csv", index=False)
    pd.DataFrame({"customer_id": ["a", "b"], "region": ["East", "West"]}).to_csv(root_env / "c.csv", index=False)
    (root_env / "params" / "t.yaml").write_text(
        yaml.safe_dump(
            {
                "quarter": "2026Q3",
                "sources": {"orders": {"path": "o.csv"}, "customers": {"path": "c.csv"}, "experiments": None},
            }
        )
    )
    c = params.load_config(root_env / "params" / "t.yaml")
    r = ingest.run_ingest(params.IngestParams.model_validate(params.step_parameters(c, "10_ingest", root_env / "run")),
                          root_env / "clean" / "orders.parquet")
    assert len(r.orders) == 2 and list(r.orders.columns) == ["customer_id", "order_ts", "amount"]
    skipped = {(f.table, f.column) for f in r.findings if f.action == "skipped"}
    assert ("orders", "status") in skipped and ("orders", "discount") in skipped
    assert ("customers", "signup_date") in skipped and ("customers", "city_tier") in skipped
    assert list(r.customers.columns) == ["customer_id", "region"]


def test_a_missing_required_column_is_still_refused(root_env):
    o = pd.DataFrame({"customer_id": ["a"], "order_date": ["2026-07-01"], "amount": [10]})
    with pytest.raises(InputDataError) as e:
        run_ingest_with(root_env, o)
    assert "'order_ts' for order_ts" in str(e.value) and "order_date" in str(e.value)
    assert "status" not in str(e.value)
