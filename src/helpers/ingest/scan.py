"""Read an order export into the engine without holding it in Python: the raw table of the cleaning rules.

:func:`scan_orders` is :func:`helpers.ingest.sources.read_source` for the engine: the same sources,
the same column checks and messages (:func:`~helpers.ingest.sources.require_columns`), the same
``ReadResult``-like record (path, SHA-256, rows, columns, missing optional columns), but the table
stays in the engine as an Ibis table with the mapped columns and :data:`~helpers.ingest.clean_engine.ROW`,
each line's position in the file, which the cleaning rules need for "first line wins" and for the
examples they show.

* **Parquet**: DuckDB reads the file where it is (``file_row_number``); on Spark, Spark reads it and
  numbers the lines by partition.
* **CSV (UTF-8, one-character delimiter)**: DuckDB reads it as text (``all_varchar``, as
  ``read_source`` does) and streams it once into a Parquet file in a temporary folder, in file order
  (DuckDB keeps insertion order), which then serves every pass of the rules. Nothing is held in
  Python; the progress of the copy is reported with :func:`helpers.frame.progress.stage` as it goes.
* **DuckDB files**: the table is read in its insertion order.
* **Not streamed** (the pandas path of ``read_source``, then handed to the engine): GB18030 / GBK
  text and whitespace-separated files (pandas' parser decodes them), Excel workbooks (at most about a
  million rows by construction) and PostgreSQL tables. Their memory grows with the file.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import ibis

from helpers.frame.engine import duckdb_backend
from helpers.frame.errors import InputDataError
from helpers.frame.progress import stage
from helpers.frame.settings import SourceSpec, project_root
from helpers.ingest.clean_engine import ROW, raw_table
from helpers.ingest.sources import detect_encoding, detect_format, file_sha256, read_source, require_columns

__all__ = ["ScanResult", "scan_orders", "streams"]


@dataclass
class ScanResult:
    """An export read into the engine: the table and what the run record needs."""

    table: ibis.Table
    path: Path
    sha256: str
    rows: int
    columns_in_source: list[str]
    missing_optional: list[str]
    streamed: bool
    staging: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def close(self) -> None:
        """Remove the staging copy of a CSV (if any)."""
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None


def streams(spec: SourceSpec) -> bool:
    """Whether :func:`scan_orders` reads ``spec`` without pandas (module docstring)."""
    if spec.url is not None:
        return False
    fmt = detect_format(spec)
    if fmt in ("parquet", "duckdb"):
        return True
    if fmt != "csv" or spec.delimiter == "whitespace":
        return False
    path = (project_root() / spec.path).resolve()
    if not path.is_file():
        return True  # scan_orders says the file is missing
    enc = detect_encoding(path) if spec.encoding == "auto" else spec.encoding.lower()
    return enc in ("utf-8", "utf8", "utf-8-sig")


def _progress(con, label: str, every: float = 5.0):
    """A context that reports DuckDB's progress on the running query every ``every`` seconds."""
    stop = threading.Event()
    raw = con.con

    def loop() -> None:
        while not stop.wait(every):
            with contextlib.suppress(Exception):  # progress must never break reading
                pct = raw.query_progress()
                if pct is not None and pct >= 0:
                    stage(f"{label}: {pct:.0f}%")

    th = threading.Thread(target=loop, name="segreview-scan-progress", daemon=True)

    @contextlib.contextmanager
    def ctx():
        th.start()
        try:
            yield
        finally:
            stop.set()
            th.join(timeout=2)
    return ctx()


def _select(t: ibis.Table, columns: list[str] | None, required: list[str] | None, drop: set[str],
            optional: set[str], label: str) -> tuple[ibis.Table, list[str], list[str]]:
    available = [str(c).strip() for c in t.columns if c != ROW]
    if required is not None:
        require_columns(available, {c: c for c in required}, label)
    wanted = columns if columns is not None else available
    keep = [c for c in wanted if c in available and c not in drop]
    missing_optional = [c for c in (columns or []) if c in optional and c not in available]
    renamed = {str(c).strip(): c for c in t.columns}
    return t.select(ROW, *[t[renamed[c]].name(c) for c in keep]), available, missing_optional


def _spark_parquet(path: Path, spark) -> ibis.Table:
    """A Parquet file on Spark with its line numbers: per-partition counts turn Spark's increasing ids
    (partition << 33 + position) into positions 0, 1, 2, ... in file order."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    from helpers.frame.engine import connect, spark_session
    from helpers.frame.settings import defaults
    spark = spark or defaults().spark
    session = spark_session(spark)
    df = session.read.parquet(str(path)).withColumn("_mid", F.monotonically_increasing_id()) \
        .withColumn("_pid", F.spark_partition_id())
    counts = df.groupBy("_pid").agg(F.count("*").alias("_n"), F.min("_mid").alias("_first"))
    w = Window.orderBy("_pid").rowsBetween(Window.unboundedPreceding, -1)
    offsets = counts.withColumn("_offset", F.coalesce(F.sum("_n").over(w), F.lit(0)))  # one row per partition
    df = df.join(F.broadcast(offsets.select("_pid", "_offset", "_first")), "_pid") \
        .withColumn(ROW, (F.col("_offset") + F.col("_mid") - F.col("_first")).cast("long")) \
        .drop("_pid", "_mid", "_offset", "_first", "_n")
    con = connect("spark", spark)
    name = f"segreview_scan_{abs(hash(str(path))) % 10**9}"
    df.createOrReplaceTempView(name)
    # numbered once: the rules read the raw lines several times (examples come from them)
    session.catalog.cacheTable(name)
    return con.table(name)


def scan_orders(spec: SourceSpec, columns: list[str] | None, what: str = "orders", drop: list[str] | None = None,
                optional: list[str] | None = None, engine: str = "duckdb", spark=None) -> ScanResult:
    """Read one input table into the engine (see the module docstring).

    Parameters
    ----------
    spec, columns, what, drop, optional
        As for :func:`helpers.ingest.sources.read_source`.
    engine : {"duckdb", "spark"}
    spark : SparkSettings, optional

    Returns
    -------
    ScanResult
        ``table`` has :data:`ROW` and the kept columns under their source names. Call
        ``close()`` when done to remove a CSV's staging copy.

    Raises
    ------
    InputDataError
        As ``read_source``: missing file, unknown format, unreadable content, missing mapped
        columns, no rows.
    """
    label = f"{what} ({spec.where})"
    drop_set = set(drop or [])
    optional_set = set(optional or [])
    required = None if columns is None else [c for c in columns if c not in optional_set]
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    if not streams(spec) or (engine == "spark" and detect_format(spec) != "parquet"):
        stage(f"reading {what} with pandas ({spec.where}: this format is not streamed)")
        rr = read_source(spec, columns, what, drop=drop, optional=optional)
        t = raw_table(rr.frame)
        if engine == "spark":
            from helpers.frame.engine import connect
            con = connect("spark", spark)
            t = con.create_view(f"segreview_raw_{what}", t, overwrite=True)
        seconds["read"] = time.perf_counter() - t0
        return ScanResult(t, rr.path, rr.sha256, rr.rows, rr.columns_in_source, rr.missing_optional, False,
                          seconds=seconds)
    path = (project_root() / spec.path).resolve()
    if not path.is_file():
        raise InputDataError(f"{label}: file not found at {path}")
    fmt = detect_format(spec)
    staging = None
    if engine == "spark":
        t = _spark_parquet(path, spark)
    elif fmt == "parquet":
        t = duckdb_backend().read_parquet(str(path), file_row_number=True).rename({ROW: "file_row_number"})
    elif fmt == "duckdb":
        t = _duckdb_file(path, spec, label)
    else:
        t, staging = _stage_csv(path, spec, label, what)
        seconds["stage_csv"] = time.perf_counter() - t0
    try:
        sel, available, missing_optional = _select(t, columns, required, drop_set, optional_set, label)
        rows = int(sel.count().execute())
        if rows == 0:
            raise InputDataError(f"{label}: the table has a header but no rows")
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    stage(f"{what}: {rows:,} lines read into the engine; fingerprinting the file")
    digest = file_sha256(path)
    seconds["total"] = time.perf_counter() - t0
    return ScanResult(sel, path, digest, rows, available, missing_optional, True, staging, seconds)


def _duckdb_file(path: Path, spec: SourceSpec, label: str) -> ibis.Table:
    if not spec.table:
        raise InputDataError(f"{label}: a DuckDB source needs `table:`")
    con = duckdb_backend()
    alias = f"segreview_src_{abs(hash(str(path))) % 10**9}"
    attached = {r[0] for r in con.raw_sql("SELECT database_name FROM duckdb_databases()").fetchall()}
    if alias not in attached:
        con.raw_sql(f"ATTACH '{path.as_posix()}' AS {alias} (READ_ONLY)")
    tables = sorted(r[0] for r in con.raw_sql(
        f"SELECT table_name FROM information_schema.tables WHERE table_catalog = '{alias}'").fetchall())
    if spec.table not in tables:
        raise InputDataError(f"{label}: no table {spec.table!r}; tables: {tables}")
    # a DuckDB table's rowid follows insertion order (a view: Ibis 12's con.sql() fails on DuckDB 2.0)
    view = f"{alias}_{abs(hash(spec.table)) % 10**6}"
    quoted = spec.table.replace('"', '""')
    con.raw_sql(f'CREATE OR REPLACE TEMP VIEW {view} AS SELECT rowid AS "{ROW}", * FROM {alias}."{quoted}"')
    return con.table(view)


def _stage_csv(path: Path, spec: SourceSpec, label: str, what: str) -> tuple[ibis.Table, Path]:
    """Stream a UTF-8 CSV through DuckDB into a Parquet staging file (text columns, file order)."""
    if path.stat().st_size == 0:
        raise InputDataError(f"{path}: the file is empty (0 bytes)")
    con = duckdb_backend()
    staging = Path(tempfile.mkdtemp(prefix="segreview-scan-"))
    out = staging / f"{what}.parquet"
    opts = ["all_varchar = true", f"header = {'true' if spec.header else 'false'}"]
    if spec.delimiter:
        opts.append("delim = " + _sql_text(spec.delimiter))
    if spec.names:
        opts.append("names = [" + ", ".join(_sql_text(n) for n in spec.names) + "]")
    sql = (f"COPY (SELECT * FROM read_csv({_sql_text(path.as_posix())}, {', '.join(opts)})) "
           f"TO {_sql_text(out.as_posix())} (FORMAT parquet, ROW_GROUP_SIZE 1000000)")
    size = path.stat().st_size
    stage(f"reading {what} ({size / 2**20:,.0f} MiB of CSV) into the engine")
    try:
        with _progress(duckdb_backend(), f"reading {path.name}"):
            con.raw_sql("SET preserve_insertion_order = true")
            con.raw_sql(sql)
    except duckdb.Error as e:  # DuckDB's sniffer / parser messages are precise but terse
        shutil.rmtree(staging, ignore_errors=True)
        raise InputDataError(f"{path}: could not be read as CSV: {str(e).splitlines()[0]}") from None
    t = con.read_parquet(str(out), file_row_number=True).rename({ROW: "file_row_number"})
    return t, staging


def _sql_text(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"
