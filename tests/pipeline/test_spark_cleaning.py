"""Spark runs the cleaning rules and the CLV / A/B aggregations with the same results as DuckDB.

On the CI export (``ci_data``), the raw orders are read into each engine (``scan_orders``) and
cleaned there (``clean_orders_engine``): the findings must be identical and the clean orders the same
rows bit for bit; then, on the clean orders each engine wrote, CLV's per-customer summaries, the
weekly tracking counts and the experiments' outcomes must agree (money sums are exact decimals, so
they agree to the bit as well). The DuckDB run is itself checked against the pandas reference in
``tests/unit/test_clean_engine.py``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.frame.settings import CustomersColumns, ExperimentsColumns, SourceSpec, defaults

pytestmark = pytest.mark.pipeline

AS_OF = pd.Timestamp("2026-09-30")


@pytest.fixture(scope="module")
def cleaned(ci_data, tmp_path_factory):
    from helpers.ingest.clean_engine import clean_orders_engine
    from helpers.ingest.rules import clean_customers
    from helpers.ingest.scan import scan_orders
    s = defaults().ingest
    cols = defaults().columns.orders
    names = [v for v in cols.model_dump().values() if v]
    customers, _ = clean_customers(pd.read_parquet(ci_data / "customers.parquet"), CustomersColumns.minimal(), s,
                                   "c")
    out = tmp_path_factory.mktemp("spark_cleaning")
    results = {}
    for engine in ("duckdb", "spark"):
        sc = scan_orders(SourceSpec(path=str(ci_data / "orders.parquet")), names, "orders", engine=engine)
        try:
            results[engine] = clean_orders_engine(sc.table, cols, s, AS_OF, sc.path.name,
                                                  out / f"orders_{engine}.parquet", customers["customer_id"])
        finally:
            sc.close()
        assert sc.table._find_backend().name == ("pyspark" if engine == "spark" else "duckdb")
    return results


def test_cleaning_on_spark_gives_the_same_findings_and_orders(cleaned):
    duck, spark = cleaned["duckdb"], cleaned["spark"]
    assert len(duck.findings) >= 8
    assert [vars(f) for f in spark.findings] == [vars(f) for f in duck.findings]
    a, b = pd.read_parquet(spark.path), pd.read_parquet(duck.path)
    assert len(a) == duck.rows > 1000
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=True)
    assert (spark.rows, spark.customers, spark.first_order, spark.last_order, spark.revenue) == \
        (duck.rows, duck.customers, duck.first_order, duck.last_order, duck.revenue)


def test_clv_summaries_tracking_and_outcomes_on_spark(cleaned, ci_data):
    from helpers.experiments.outcomes_engine import outcomes_engine
    from helpers.frame.engine import orders_table
    from helpers.ingest.rules import clean_experiments
    from helpers.value import data as clv_data
    spark = orders_table(cleaned["spark"].path, "spark")
    duck = orders_table(cleaned["duckdb"].path, "duckdb")
    cal_end = AS_OF - pd.Timedelta(days=182)
    for obs in (AS_OF, None):
        a = clv_data.calibration_summary_engine(spark, cal_end if obs is not None else AS_OF, obs)
        b = clv_data.calibration_summary_engine(duck, cal_end if obs is not None else AS_OF, obs)
        assert len(a) > 500
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    weeks = pd.date_range(cal_end - pd.Timedelta(days=350), AS_OF, freq="7D")
    pd.testing.assert_series_equal(clv_data.repeat_purchase_days(spark, cal_end, AS_OF),
                                   clv_data.repeat_purchase_days(duck, cal_end, AS_OF))
    assert (clv_data.weekly_repeat_purchases(spark, cal_end, AS_OF, weeks)
            == clv_data.weekly_repeat_purchases(duck, cal_end, AS_OF, weeks)).all()
    e, _ = clean_experiments(pd.read_parquet(ci_data / "experiments.parquet"), ExperimentsColumns.minimal(),
                             defaults().ingest, AS_OF, "e")
    (x, ex), (y, ey) = outcomes_engine(e, spark, 28), outcomes_engine(e, duck, 28)
    assert ex == ey and x["orders"].sum() > 50
    pd.testing.assert_frame_equal(x, y, check_exact=True)
