"""Where the transaction-level Ibis expressions run: DuckDB in process (default) or Spark.

design.md §6: per-customer aggregation, the calibration/holdout summaries and the churn features are
written once as Ibis expressions. ``engine: duckdb`` runs them in the notebook's own process;
``engine: spark`` runs the same expressions on Ibis' PySpark backend: a local Spark (``local[2]``,
Java 17 on the machine) or a cluster (``spark.master``, e.g. ``yarn`` or ``spark://host:7077``, or
Spark Connect with ``spark.remote: sc://host:15002``). Customer-level modelling stays in pandas.

With a cluster, the run folder's ``artifacts/orders.parquet`` must be on storage the executors read
(see the README); in local mode it always is.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import ibis
import pandas as pd

from helpers.frame.errors import ParameterError
from helpers.frame.settings import SparkSettings, defaults

__all__ = [
    "ORDER_COLUMNS",
    "spark_session",
    "connect",
    "orders_table",
    "as_table",
    "backend_name",
    "to_pandas",
    "money_sum",
]


ORDER_COLUMNS = ("customer_id", "order_ts", "amount", "category", "channel", "discount")


def spark_session(settings: SparkSettings):
    """A SparkSession for ``settings`` (reused if this process already has one).

    Raises
    ------
    ParameterError
        pyspark is not installed, or Java is missing for a local/cluster-client session.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ParameterError("engine: spark needs pyspark (pip install 'segreview[spark]'; "
                             "`make` installs it with the dev tools)") from None
    if settings.remote is None and not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise ParameterError("engine: spark runs a Java process: install Java 17 (Debian: openjdk-17-jre-headless) "
                             "or set JAVA_HOME, or point spark.remote at a Spark Connect server")
    b = SparkSession.builder.appName(settings.app_name)
    if settings.remote is None:
        # Spark's own log lines (start-up banner, WARNs) go to the run's console, never into a
        # report; errors still show. SPARK_LOCAL_IP quiets the "hostname resolves to loopback" warning.
        if settings.master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        b = b.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{_log4j_file()}")
    b = b.remote(settings.remote) if settings.remote else b.master(settings.master)
    conf = {"spark.sql.session.timeZone": "UTC", "spark.ui.showConsoleProgress": "false",
            "spark.ui.enabled": "false", "spark.sql.shuffle.partitions": str(settings.shuffle_partitions)}
    if settings.remote is None:
        conf["spark.driver.memory"] = settings.driver_memory
    conf.update(settings.config)
    for k, v in conf.items():
        b = b.config(k, v)
    session = b.getOrCreate()
    if settings.remote is None:
        session.sparkContext.setLogLevel("ERROR")
    return session


_LOG4J = """status = error
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark %p %c{1}: %m%n
"""


def _log4j_file() -> Path:
    """A log4j2 configuration that lets only Spark's errors through (written once per machine user)."""
    p = Path(tempfile.gettempdir()) / f"segreview-log4j2-{os.getuid() if hasattr(os, 'getuid') else 0}.properties"
    if not p.exists() or p.read_text() != _LOG4J:
        p.write_text(_LOG4J)
    return p


def connect(engine: str = "duckdb", spark: SparkSettings | None = None) -> ibis.BaseBackend:
    """An Ibis backend for ``engine`` (``"duckdb"``: a fresh in-memory database; ``"spark"``: PySpark).

    Parameters
    ----------
    engine : {"duckdb", "spark"}
    spark : SparkSettings, optional
        Session settings when ``engine == "spark"`` (defaults: local mode on every core).
    """
    if engine == "duckdb":
        return ibis.duckdb.connect()
    if engine == "spark":
        return ibis.pyspark.connect(spark_session(spark or defaults().spark))
    raise ParameterError(f"engine {engine!r} is not known; use duckdb or spark")


def orders_table(source: str | Path | pd.DataFrame, engine: str = "duckdb",
                 spark: SparkSettings | None = None) -> ibis.Table:
    """The clean orders as an Ibis table on ``engine`` (the columns the transaction-level steps use).

    Parameters
    ----------
    source : path of the clean orders Parquet file (``artifacts/orders.parquet``), or a DataFrame
        A DataFrame is only accepted on DuckDB (Spark reads the file, which executors can reach).
    engine, spark
        See :func:`connect`.
    """
    if isinstance(source, pd.DataFrame):
        if engine != "duckdb":
            raise ValueError("on Spark the orders are read from their Parquet file; pass its path")
        missing = [c for c in ("customer_id", "order_ts", "amount") if c not in source.columns]
        if missing:
            raise KeyError(f"orders lack required column(s) {missing}; have {list(source.columns)}")
        # ibis.memtable: Ibis 12's create_table(DataFrame) emits SQL that DuckDB 2.0 rejects
        return ibis.memtable(source[[c for c in ORDER_COLUMNS if c in source.columns]])
    con = connect(engine, spark)
    t = con.read_parquet(str(source))
    missing = [c for c in ("customer_id", "order_ts", "amount") if c not in t.columns]
    if missing:
        raise KeyError(f"orders ({source}) lack required column(s) {missing}; have {list(t.columns)}")
    return t.select(*[c for c in ORDER_COLUMNS if c in t.columns])


def as_table(
    orders: pd.DataFrame | str | Path | ibis.Table,
    required: tuple[str, ...] = ("customer_id", "order_ts", "amount"),
    what: str = "orders",
) -> ibis.Table:
    """Orders as an Ibis table: a table as it is, a Parquet path on DuckDB, a DataFrame as a memtable.

    Raises
    ------
    KeyError
        A required column is missing (named, with the columns there are).
    """
    if isinstance(orders, ibis.Table):
        t = orders
    elif isinstance(orders, str | Path):
        t = ibis.duckdb.connect().read_parquet(str(orders))
    else:
        if len(orders) == 0:  # an empty frame's object columns would become Ibis' null type
            known = {"customer_id": "str", "order_ts": "datetime64[us]", "amount": "float64"}
            orders = orders.astype({c: t for c, t in known.items() if c in orders.columns})
        # ibis.memtable: Ibis 12's create_table(DataFrame) emits SQL that DuckDB 2.0 rejects
        t = ibis.memtable(orders)
    missing = [c for c in required if c not in t.columns]
    if missing:
        raise KeyError(f"{what} lack required column(s) {missing}; have {list(t.columns)}")
    return t


def backend_name(t: ibis.Table) -> str:
    """The name of the Ibis backend a table lives on (``duckdb``, ``pyspark``, ``postgres``)."""
    return t.get_backend().name


def to_pandas(expr: ibis.Table) -> pd.DataFrame:
    """One Arrow -> pandas conversion (Ibis' ``to_pandas`` converts column by column, then again by schema)."""
    return expr.to_pyarrow().to_pandas()


def money_sum(col: ibis.Column) -> ibis.Scalar:
    """Sum of a money column that is the same on every run: exact decimal addition (to 1e-6), then float.

    A float sum on a parallel engine depends on the order threads meet the rows, so the last bits
    of a total could differ between two runs of the same quarter.
    """
    return col.cast("decimal(38, 6)").sum().cast("float64")
