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
from helpers.frame.settings import DuckDBSettings, SparkSettings, defaults

__all__ = [
    "ORDER_COLUMNS",
    "spark_session",
    "connect",
    "orders_table",
    "as_table",
    "backend_name",
    "to_pandas",
    "money_sum",
    "duckdb_backend",
    "configure_duckdb",
    "duckdb_settings",
    "materialize",
    "release",
    "parquet_glob",
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
        return duckdb_backend()
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
    t = con.read_parquet(str(source) if engine == "spark" else parquet_glob(source))
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
        t = duckdb_backend().read_parquet(parquet_glob(orders))
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


def parquet_glob(path: str | Path) -> str:
    """What DuckDB reads for a Parquet artifact: the file, or every part file of a folder Spark wrote."""
    p = Path(path)
    return f"{p.as_posix()}/*.parquet" if p.is_dir() else str(p)


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


_DUCKDB: ibis.BaseBackend | None = None
_DUCKDB_PID: int | None = None


def duckdb_backend(memory_limit: str | None = None, threads: int | None = None) -> ibis.BaseBackend:
    """The process's one in-memory DuckDB connection (Ibis backend), created on first use.

    One connection per process instead of one per Parquet file: tables read through it can be
    joined with each other, and the connection cost (about 60 ms with Ibis) is paid once. Its
    time zone is UTC, so a time-zone-aware timestamp becomes the UTC wall time (as pandas'
    ``tz_localize(None)`` of a UTC column gives), and it spills to a temporary folder when a
    query needs more memory than ``memory_limit``.

    Parameters
    ----------
    memory_limit : str, optional
        DuckDB's ``memory_limit`` (e.g. ``"4GB"``), set on the shared connection when given;
        without it the limit set before holds (at first, DuckDB's own default: 80% of the
        machine's memory).
    threads : int, optional
        DuckDB's ``threads`` (worker threads), set when given.
    """
    global _DUCKDB, _DUCKDB_PID
    if _DUCKDB is None or _DUCKDB_PID != os.getpid():  # a forked child needs its own
        con = ibis.duckdb.connect()
        spill = Path(tempfile.gettempdir()) / f"segreview-duckdb-{os.getpid()}"
        con.raw_sql("SET TimeZone = 'UTC'")
        con.raw_sql(f"SET temp_directory = '{spill.as_posix()}'")
        # give freed memory back to the system: without the allocator's background threads a kernel
        # keeps what its largest query or table used (about 0.9 GB after a 1 GB table is dropped)
        con.raw_sql("SET allocator_background_threads = true")
        _DUCKDB, _DUCKDB_PID = con, os.getpid()
    if memory_limit is not None:
        _DUCKDB.raw_sql(f"SET memory_limit = '{_checked_size(memory_limit)}'")
    if threads is not None:
        if not (isinstance(threads, int) and threads >= 1):
            raise ParameterError(f"duckdb.threads {threads!r} must be a whole number of at least 1")
        _DUCKDB.raw_sql(f"SET threads = {int(threads)}")
    return _DUCKDB


def configure_duckdb(settings: DuckDBSettings) -> None:
    """Apply the ``duckdb:`` parameters to this process's DuckDB connection (every later use shares it).

    ``frame.begin`` calls it for every step that has the parameters, so each notebook kernel's
    DuckDB is bounded by ``duckdb.memory_limit`` and ``duckdb.threads``; a limit left at ``null``
    keeps DuckDB's own default.
    """
    duckdb_backend(settings.memory_limit, settings.threads)


def duckdb_settings() -> tuple[str, int]:
    """The memory limit and threads of this process's DuckDB connection, as DuckDB reports them."""
    con = duckdb_backend()
    limit = con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]
    threads = con.raw_sql("SELECT current_setting('threads')").fetchone()[0]
    return str(limit), int(threads)


def _checked_size(size: str) -> str:
    import re
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", size.strip()):
        raise ParameterError(f"memory limit {size!r} is not a size such as 4GB or 512MB")
    return size.strip()


_MATERIALIZED = 0


def materialize(expr: ibis.Table, backend: ibis.BaseBackend | None = None) -> ibis.Table:
    """Compute ``expr`` once on its engine and return a table that reads the result.

    DuckDB: a temporary table (spilled to disk past the memory limit); Spark: a temporary view
    cached by Spark (memory and disk). Used where several queries read the same intermediate
    result; free it with :func:`release`.
    """
    global _MATERIALIZED
    con = backend or expr._find_backend(use_default=True)
    _MATERIALIZED += 1
    name = f"segreview_tmp_{os.getpid()}_{_MATERIALIZED}"
    if con.name == "pyspark":
        # a view of the analyzed plan, not of the SQL text: Spark analyzes a text view again at each
        # use, with new ids for its CTEs (a table used twice in the query), so a cached text view
        # whose query has a CTE never matched its cache and every query recomputed it
        con._register_in_memory_tables(expr)
        con._session.sql(con.compile(expr)).createOrReplaceTempView(name)
        con._session.catalog.cacheTable(name)
        con._session.table(name).count()  # compute it now, once
        return con.table(name)
    return con.create_table(name, expr, temp=True)


def release(table: ibis.Table) -> None:
    """Drop a table made by :func:`materialize` (no-op for any other table)."""
    op = table.op()
    name = getattr(op, "name", "")
    if not str(name).startswith("segreview_tmp_"):
        return
    con = table._find_backend()
    if con.name == "pyspark":
        if con._session.catalog.tableExists(name):
            con._session.catalog.uncacheTable(name)
            con._session.catalog.dropTempView(name)
    else:  # raw SQL: Ibis 12's drop_table emits a statement DuckDB 2.0 rejects
        con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
