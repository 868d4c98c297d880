"""Spark (Ibis' PySpark backend, local mode, Java 17) gives the same per-customer tables as DuckDB.

On the demo export (20,000 customers, cleaned as 10_ingest cleans it) the transaction-level
expressions are run on both engines: RFM facts per customer, churn features at two snapshots and
BG/NBD (x, t_x, T) histories. Then the runner renders the whole CI quarter with ``engine: spark``
(the cleaning of the export included) and every artifact must equal those of the DuckDB run.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers.frame.settings import defaults
from helpers.run.cli import main

pytestmark = pytest.mark.pipeline

AS_OF = pd.Timestamp("2026-09-30")


@pytest.fixture(scope="module")
def demo_orders_file(tmp_path_factory):
    from helpers.demo.generator import DemoSpec, generate_demo
    from helpers.frame.settings import CustomersColumns, OrdersColumns
    from helpers.ingest.rules import clean_customers, clean_orders
    d = generate_demo(DemoSpec())
    customers, _ = clean_customers(d.customers, CustomersColumns.minimal(), defaults().ingest, "c")
    orders, _ = clean_orders(d.orders, OrdersColumns.minimal(order_id="order_id", status="status", discount="discount",
                                                     category="category", channel="channel"),
                             defaults().ingest, AS_OF, "o", customers["customer_id"])
    path = tmp_path_factory.mktemp("spark") / "orders.parquet"
    orders.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def tables(demo_orders_file):
    from helpers.frame.engine import orders_table
    spark = orders_table(demo_orders_file, "spark")
    duck = orders_table(demo_orders_file, "duckdb")
    assert type(spark._find_backend()).__module__.startswith("ibis.backends.pyspark")
    return spark, duck


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same rows, same ids, same integers and dates; floats equal up to summation order."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b) > 1000
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-9)


def test_rfm_facts_per_customer_are_the_same_on_spark(tables):
    from helpers.segments.data import customer_summary
    spark, duck = tables
    for day in (AS_OF, pd.Timestamp("2026-06-30")):
        assert_same(customer_summary(spark, day), customer_summary(duck, day))


def test_churn_features_and_bgnbd_histories_are_the_same_on_spark(tables):
    from helpers.churn.data import purchase_history, snapshot_features
    spark, duck = tables
    for snap in (pd.Timestamp("2026-04-03"), pd.Timestamp("2026-07-02")):
        a, b = snapshot_features(spark, snap), snapshot_features(duck, snap)
        assert a["discount_share"].notna().mean() > 0.5 and a["category_breadth"].max() > 1
        assert_same(a, b)
        assert_same(purchase_history(spark, snap, 7.0), purchase_history(duck, snap, 7.0))
    from helpers.churn.data import payment_history
    assert_same(payment_history(spark, AS_OF, 30.4375), payment_history(duck, AS_OF, 30.4375))


def test_churn_snapshot_set_on_spark_equals_the_duckdb_references(tables):
    """The churn step's one-pass snapshot set (features, BG/NBD histories, labels) on Spark."""
    from helpers.churn.data import churn_labels, purchase_history, snapshot_features, snapshot_set
    spark, duck = tables
    snaps = [pd.Timestamp("2026-04-03"), pd.Timestamp("2026-07-02"), AS_OF]
    base = snapshot_set(spark, snaps, 365, {snaps[0]: 90, snaps[1]: 90})
    try:
        for snap in snaps:
            want = snapshot_features(duck, snap)
            assert_same(base.features(snap), want)
            assert_same(base.history(snap, 7.0), purchase_history(duck, snap, 7.0))
            if snap != AS_OF:
                pd.testing.assert_series_equal(base.labels(snap, 90, want.index, AS_OF),
                                               churn_labels(duck, snap, 90, want.index, AS_OF))
    finally:
        base.release()


def test_engine_side_aggregations_of_the_notebooks_are_the_same_on_spark(tables):
    import numpy as np

    from helpers.churn.data import churn_labels, cohort_retention, time_to_next_purchase
    from helpers.review.data import quarter_kpis
    from helpers.segments.data import customer_summary, period_revenue
    from helpers.segments.model import segment_of
    from helpers.segments.step import cluster_profiles
    spark, duck = tables
    snap = pd.Timestamp("2026-04-03")
    pop = pd.Index(customer_summary(duck, snap)["customer_id"])
    a, b = churn_labels(spark, snap, 90, pop, AS_OF), churn_labels(duck, snap, 90, pop, AS_OF)
    pd.testing.assert_series_equal(a, b)
    assert 0.2 < a.mean() < 0.9
    assert_same(time_to_next_purchase(spark, snap, AS_OF, pop), time_to_next_purchase(duck, snap, AS_OF, pop))
    cohorts = cohort_retention(duck, AS_OF, 8)
    assert len(cohorts) == 8 and cohorts["customers"].sum() > 100
    pd.testing.assert_frame_equal(cohort_retention(spark, AS_OF, 8), cohorts)
    # money totals by exact decimal addition: the same bits on both engines
    pd.testing.assert_series_equal(period_revenue(spark, pd.Timestamp("2026-07-01"), AS_OF),
                                   period_revenue(duck, pd.Timestamp("2026-07-01"), AS_OF), check_exact=True)
    assert quarter_kpis(spark, "2026Q3") == quarter_kpis(duck, "2026Q3")
    scored = segment_of(customer_summary(duck, AS_OF), defaults().rfm)
    labels = pd.Series(np.arange(len(scored)) % 3 + 1)
    pd.testing.assert_frame_equal(cluster_profiles(scored, labels, spark), cluster_profiles(scored, labels, duck))


def test_quarter_rendered_on_spark_equals_the_duckdb_run(project, ci_rendered):
    """The whole review through the runner with ``engine: spark`` (cleaning included); every artifact of
    the DuckDB run of the same quarter (the shared CI run of params/ci.yaml, ``ci_rendered``) is the reference."""
    base = yaml.safe_load((project / "params" / "ci.yaml").read_text())
    assert "engine" not in base   # the shared run is the default engine, DuckDB
    p = {**base, "engine": "spark", "reports_dir": "reports/spark",
         "spark": {"master": "local[2]", "driver_memory": "1g"}}
    (project / "params" / "spark.yaml").write_text(yaml.safe_dump(p))
    assert main(["run", "--params", "params/spark.yaml"]) == 0
    a = project / "reports" / "spark" / "2026Q3" / "artifacts"
    b = ci_rendered / "reports" / "2026Q3" / "artifacts"
    assert json.loads((b.parent / "run.json").read_text())["parameters"]["engine"] == "duckdb"
    # Spark wrote the clean orders (a folder of part files), DuckDB one file: the same rows, bit for bit
    assert (a / "orders.parquet").is_dir() and (b / "orders.parquet").is_file()
    names = sorted(x.name for x in b.iterdir())
    assert names == sorted(x.name for x in a.iterdir())
    assert {"orders.parquet", "customers.parquet", "quality.parquet", "segment_scores.parquet", "value_scores.parquet",
            "churn_scores.parquet", "customer_scores.parquet", "segments_export.csv", "ingest.json", "rfm.json",
            "clv.json", "churn.json", "ab.json", "review.json"} <= set(names)
    for name in names:
        if name.endswith(".json"):
            ja, jb = (json.loads((d / name).read_text()) for d in (a, b))
            if name == "rfm.json":  # the notebook's per-customer facts were computed by Spark, not by DuckDB behind it
                assert (ja.pop("engine"), jb.pop("engine")) == ("pyspark", "duckdb")
            assert_json_close(ja, jb, name)
            continue
        if name.endswith(".csv"):
            ta, tb = (pd.read_csv(d / name, dtype=str, keep_default_na=False) for d in (a, b))
            num = [c for c in tb.columns if pd.to_numeric(tb[c], errors="coerce").notna().all() and len(tb)]
            ta = ta.assign(**{c: pd.to_numeric(ta[c]) for c in num})
            tb = tb.assign(**{c: pd.to_numeric(tb[c]) for c in num})
        else:
            ta, tb = pd.read_parquet(a / name), pd.read_parquet(b / name)
        assert len(tb) > 0, name
        if name == "orders.parquet":
            pd.testing.assert_frame_equal(ta, tb, check_exact=True)
            continue
        fl = [c for c in tb.columns if pd.api.types.is_float_dtype(tb[c])]
        pd.testing.assert_frame_equal(ta.drop(columns=fl), tb.drop(columns=fl), obj=name)
        np.testing.assert_allclose(ta[fl].to_numpy(float), tb[fl].to_numpy(float), rtol=1e-9, atol=1e-6,
                                   err_msg=name)
    run = json.loads((a.parent / "run.json").read_text())
    assert run["parameters"]["engine"] == "spark"
    # Spark's log lines never reach a page, and no Java process outlives the run
    for page in a.parent.glob("*.html"):
        text = page.read_text()
        assert "log4j" not in text and "WARN " not in text and "SparkSession" not in text
    java = subprocess.run(["pgrep", "-f", "org.apache.spark.deploy.SparkSubmit"], capture_output=True, text=True)
    ours = os.getpid()   # this test process's own session (the fixtures above) is not the run's
    # only this run's Spark: a JVM started by the run's kernels inherits their environment, which names
    # this test's project folder (other suites on a shared machine, from this checkout's venv or
    # another, run their own Spark sessions at the same time, with their own folders)
    marker = f"SEGREVIEW_ROOT={project}".encode()

    def environ(pid: str) -> list[bytes]:
        try:
            if int(Path(f"/proc/{pid}/stat").read_text().split()[3]) == ours:
                return []
            return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except (OSError, ValueError):   # ended meanwhile
            return []
    assert os.environ["SEGREVIEW_ROOT"] == str(project)   # what the run's kernels were started with
    left = [p for p in java.stdout.split() if marker in environ(p)]
    assert left == []


def assert_json_close(x, y, where: str) -> None:
    """Equal JSON trees; floats equal up to summation order."""
    if isinstance(x, dict):
        assert isinstance(y, dict) and sorted(x) == sorted(y), where
        for k in x:
            assert_json_close(x[k], y[k], f"{where}.{k}")
    elif isinstance(x, list):
        assert isinstance(y, list) and len(x) == len(y), where
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            assert_json_close(u, v, f"{where}[{i}]")
    elif isinstance(x, float) or isinstance(y, float):
        assert x == pytest.approx(y, rel=1e-9, abs=1e-9, nan_ok=True), where
    else:
        assert x == y, where
