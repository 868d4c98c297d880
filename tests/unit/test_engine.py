"""Engine choice: DuckDB by default, Spark refused with a plain message when it cannot start."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from helpers.frame import engine
from helpers.frame.errors import ParameterError
from helpers.frame.settings import defaults


def test_spark_without_java_says_what_to_install(monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(engine.shutil, "which", lambda name: None)
    with pytest.raises(ParameterError, match="Java 17"):
        engine.spark_session(defaults().spark)


def test_spark_remote_must_be_a_spark_connect_url():
    with pytest.raises(ValidationError, match="sc://"):
        defaults().spark.replace(remote="http://spark:7077")
    assert defaults().spark.replace(remote="sc://spark:15002").remote == "sc://spark:15002"


def test_unknown_engine_and_frames_on_spark_are_refused(tmp_path):
    with pytest.raises(ParameterError, match="not known"):
        engine.connect("polars")
    o = pd.DataFrame({"customer_id": ["a"], "order_ts": pd.to_datetime(["2026-01-01"]), "amount": [1.0]})
    with pytest.raises(ValueError, match="Parquet file"):
        engine.orders_table(o, "spark")
    with pytest.raises(KeyError, match="amount"):
        engine.orders_table(o.drop(columns="amount"))
    o.to_parquet(tmp_path / "o.parquet")
    t = engine.orders_table(tmp_path / "o.parquet")
    assert t.columns == ("customer_id", "order_ts", "amount") and t.count().execute() == 1


def test_empty_frames_without_types_aggregate_to_nothing():
    from helpers.review.data import quarter_kpis
    from helpers.segments.data import period_revenue
    empty = pd.DataFrame(columns=["customer_id", "order_ts", "amount"])
    k = quarter_kpis(empty, "2026Q3")
    assert k["active_customers"] == 0 and k["revenue"] == 0 and np.isnan(k["average_order_value"])
    assert period_revenue(empty, pd.Timestamp("2026-07-01"), pd.Timestamp("2026-09-30")).empty
