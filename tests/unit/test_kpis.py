"""KPIs: a hand-made two-quarter table with every number worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.review.data import quarter_kpis
from helpers.review.step import kpi_table

ORDERS = pd.DataFrame(
    {
        "customer_id": ["A", "A", "B", "A", "A", "C", "C", "B"],
        "order_ts": pd.to_datetime(
            [
                "2026-05-01 00:00:00",
                "2026-06-01 00:00:00",
                "2026-06-15 00:00:00",  # Q2: A twice, B once
                "2026-07-01 09:00:00",
                "2026-07-01 18:00:00",  # Q3: A twice on one day
                "2026-08-01 00:00:00",
                "2026-09-30 23:00:00",
                "2026-09-10 00:00:00",
            ],
            format="ISO8601",
        ),  # C new in Q3, twice; B once
        "amount": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0],
    }
)


def test_quarter_kpis_by_hand():
    k = quarter_kpis(ORDERS, "2026Q3")
    assert k["active_customers"] == 3      # A, B, C
    assert k["new_customers"] == 1         # C
    assert k["returning_customers"] == 2
    assert k["orders"] == 5
    assert k["revenue"] == 300.0
    assert k["average_order_value"] == 60.0
    assert k["repeat_purchase_rate"] == pytest.approx(1 / 3)  # only C bought on two days; A's two orders share a day
    p = quarter_kpis(ORDERS, "2026Q2")
    assert (p["active_customers"], p["new_customers"], p["revenue"]) == (2, 2, 60.0)
    assert p["repeat_purchase_rate"] == pytest.approx(0.5)


def test_kpi_table_change():
    t = kpi_table(ORDERS, "2026Q3")
    assert t.loc["revenue", "change"] == 240.0
    assert t.loc["revenue", "change_pct"] == pytest.approx(4.0)
    assert t.loc["new_customers", "change_pct"] == pytest.approx(-0.5)


def test_empty_quarter_gives_zeros_and_nan():
    k = quarter_kpis(ORDERS, "2025Q1")
    assert k["active_customers"] == 0 and k["revenue"] == 0
    assert np.isnan(k["average_order_value"]) and np.isnan(k["repeat_purchase_rate"])
    t = kpi_table(ORDERS, "2026Q2")
    assert np.isnan(t.loc["revenue", "change_pct"])  # previous quarter had no revenue


def test_missing_column_is_named():
    with pytest.raises(KeyError, match="amount"):
        quarter_kpis(ORDERS.drop(columns="amount"), "2026Q3")


def test_parquet_file_gives_the_same_table_as_the_frame(tmp_path):
    # the review notebook hands DuckDB the clean orders' file instead of loading it into pandas
    path = tmp_path / "orders.parquet"
    ORDERS.to_parquet(path, index=False)
    for q in ("2026Q3", "2026Q2", "2025Q1"):
        pd.testing.assert_frame_equal(kpi_table(path, q), kpi_table(ORDERS, q))


def test_kpi_cards_show_a_change_that_rounds_to_nothing_as_no_change():
    import pandas as pd

    from helpers.page import kpi_cards_table
    kpis = pd.DataFrame({"kpi": ["Revenue", "Average order value", "Orders", "Repeat-purchase rate"],
                         "this_quarter": [1000.2, 50.0, 10, 0.9351], "previous_quarter": [1000.0, 51.0, 10, 0.9349],
                         "change": [0.2, -1.0, 0, 0.0002], "change_pct": [0.0002, -1 / 51, 0.0, 0.0002]},
                        index=["revenue", "average_order_value", "orders", "repeat_purchase_rate"])
    shown = kpi_cards_table(kpis, "CNY").data.set_index("KPI")["Change"]
    assert shown["Revenue"].startswith("■ ±CNY 0")
    assert shown["Average order value"].startswith("▼ \u2212CNY 1")
    assert shown["Orders"].startswith("■ 0")
    assert shown["Repeat-purchase rate"].startswith("■ ±0.0 pts")
