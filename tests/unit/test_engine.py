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


def test_duckdb_limits_reach_the_process_connection_and_are_validated():
    """``duckdb.memory_limit`` / ``duckdb.threads`` (params) set the process's one DuckDB; bad values are refused."""
    before = engine.duckdb_settings()
    try:
        engine.configure_duckdb(defaults().duckdb.replace(memory_limit="512MB", threads=1))
        limit, threads = engine.duckdb_settings()
        assert threads == 1 and limit in ("488.2 MiB", "512.0 MiB", "488.2MiB")  # DuckDB reports MiB
        engine.configure_duckdb(defaults().duckdb.replace(memory_limit=None, threads=None))
        assert engine.duckdb_settings() == (limit, threads)  # null: the limits already set stay
    finally:
        _reset_duckdb()
    assert engine.duckdb_settings()[1] == before[1]
    for bad in ({"memory_limit": "lots"}, {"memory_limit": "4 parsecs"}, {"threads": 0}):
        with pytest.raises(ValidationError):
            defaults().duckdb.replace(**bad)
    with pytest.raises(ParameterError, match="not a size"):
        engine.duckdb_backend("4 parsecs")
    assert defaults().duckdb.memory_limit == "4GB"  # base.yaml's default: two kernels stay under 24 GB


def test_begin_sets_the_kernels_duckdb_limits(repo, monkeypatch):
    """A notebook's ``frame.begin`` applies its ``duckdb`` parameters to the kernel's connection."""
    from helpers import frame
    from helpers.frame.registry import STEP_MODELS
    monkeypatch.setenv("SEGREVIEW_ROOT", str(repo))
    ns = {k: None for k in STEP_MODELS["30_clv"].model_fields}
    ns.update(run_dir="", quarter="2026Q3", duckdb={"memory_limit": "700MB", "threads": 1})
    try:
        frame.begin("30_clv", ns)
        limit, threads = engine.duckdb_settings()
        assert threads == 1 and limit.startswith("667")  # 700 MB = 667.5 MiB
    finally:
        _reset_duckdb()


def _reset_duckdb() -> None:
    con = engine.duckdb_backend()
    con.raw_sql("RESET memory_limit")
    con.raw_sql("RESET threads")



def test_freed_duckdb_memory_goes_back_to_the_system():
    """A table of ~1 GB built and dropped on the process's connection: its memory is returned (the
    allocator's background threads), not kept by the process until it ends. In a fresh process, as
    a notebook's kernel is (the test process has run hundreds of other queries)."""
    import json
    import subprocess
    import sys
    code = """
import json, time, psutil
from helpers.frame import engine
con = engine.duckdb_backend()
me = psutil.Process()
before = me.memory_info().rss
con.raw_sql("CREATE TEMP TABLE freed_test AS SELECT range AS a, range * 2 AS b, range::VARCHAR AS c "
            "FROM range(25000000)")
grown = me.memory_info().rss
con.raw_sql("DROP TABLE freed_test")
deadline = time.time() + 20
while me.memory_info().rss - before > (grown - before) / 3 and time.time() < deadline:
    time.sleep(0.2)
setting = con.raw_sql("SELECT current_setting('allocator_background_threads')").fetchone()[0]
print(json.dumps({"before": before, "grown": grown, "after": me.memory_info().rss, "setting": setting}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["setting"] is True
    assert r["grown"] - r["before"] > 400 * 2**20
    # at least two thirds of it returned (83-157 MB of ~740 MB kept, by the machine's load; 960 MB kept
    # without the allocator's background threads)
    assert r["after"] - r["before"] < (r["grown"] - r["before"]) / 3, r
