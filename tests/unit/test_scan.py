"""Reading exports into the engine (``scan_orders``): same tables, checks and messages as ``read_source``."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from helpers.frame.errors import InputDataError
from helpers.frame.settings import SourceSpec
from helpers.ingest.clean_engine import ROW
from helpers.ingest.scan import scan_orders, streams
from helpers.ingest.sources import read_source

COLS = ["customer_id", "order_ts", "amount", "order_id"]


@pytest.fixture()
def orders() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["A", "B", None, "C"], "order_ts": ["2026-07-01", "2026-07-02", "x", ""],
                         "amount": ["1", "¥2,000", "3", "4"], "order_id": ["1", "2", "3", "4"],
                         "email": ["a@b.cn"] * 4})


def scanned(spec: SourceSpec, columns=COLS, **kw) -> tuple[pd.DataFrame, object]:
    r = scan_orders(spec, columns, "orders", **kw)
    try:
        df = r.table.order_by(ROW).to_pyarrow().to_pandas()
    finally:
        r.close()
    return df, r


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb", "gb18030"])
def test_same_lines_in_file_order_as_read_source(tmp_path, orders, fmt):
    if fmt == "csv":
        path = tmp_path / "o.csv"
        orders.to_csv(path, index=False)
        spec = SourceSpec(path=str(path))
    elif fmt == "gb18030":
        path = tmp_path / "o.csv"
        orders.assign(amount=["一", "二", "3", "4"]).to_csv(path, index=False, encoding="gb18030")
        spec = SourceSpec(path=str(path))
    elif fmt == "parquet":
        path = tmp_path / "o.parquet"
        orders.to_parquet(path, index=False)
        spec = SourceSpec(path=str(path))
    else:
        path = tmp_path / "o.duckdb"
        con = duckdb.connect(str(path))
        con.register("src", orders)
        con.execute("CREATE TABLE orders AS SELECT * FROM src")
        con.close()
        spec = SourceSpec(path=str(path), table="orders")
    ref = read_source(spec, COLS, "orders")
    df, r = scanned(spec)
    assert r.streamed == (fmt != "gb18030") == streams(spec)
    assert r.rows == ref.rows == 4 and r.sha256 == ref.sha256 and r.missing_optional == []
    assert df[ROW].tolist() == [0, 1, 2, 3]
    assert "email" not in df.columns            # only the mapped columns are read
    got = df[COLS].astype(object).where(df[COLS].notna(), None)
    want = ref.frame[COLS].astype(object).where(ref.frame[COLS].notna(), None)
    assert got.to_dict("list") == want.to_dict("list")


def test_missing_columns_same_message_as_read_source(tmp_path, orders):
    path = tmp_path / "o.csv"
    orders.rename(columns={"amount": "Amount "}).to_csv(path, index=False)
    spec = SourceSpec(path=str(path))
    with pytest.raises(InputDataError) as ref:
        read_source(spec, COLS, "orders")
    with pytest.raises(InputDataError) as got:
        scan_orders(spec, COLS, "orders")
    assert str(got.value) == str(ref.value) and "did you mean" in str(got.value)


def test_optional_columns_missing_are_listed(tmp_path, orders):
    path = tmp_path / "o.parquet"
    orders.to_parquet(path, index=False)
    r = scan_orders(SourceSpec(path=str(path)), [*COLS, "channel"], "orders", optional=["channel", "order_id"])
    assert r.missing_optional == ["channel"] and "channel" not in r.table.columns


def test_missing_empty_and_broken_files_are_refused(tmp_path):
    with pytest.raises(InputDataError, match="file not found"):
        scan_orders(SourceSpec(path=str(tmp_path / "nope.csv")), COLS, "orders")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputDataError, match="empty"):
        scan_orders(SourceSpec(path=str(tmp_path / "empty.csv")), COLS, "orders")
    (tmp_path / "head.csv").write_text("customer_id,order_ts,amount,order_id\n")
    with pytest.raises(InputDataError, match="no rows"):
        scan_orders(SourceSpec(path=str(tmp_path / "head.csv")), COLS, "orders")


def test_csv_progress_is_reported(tmp_path, monkeypatch):
    prog = tmp_path / "progress.txt"
    monkeypatch.setenv("SEGREVIEW_PROGRESS", str(prog))
    path = tmp_path / "o.csv"
    pd.DataFrame({"customer_id": ["A"] * 1000, "order_ts": ["2026-07-01"] * 1000, "amount": ["1"] * 1000,
                  "order_id": [str(i) for i in range(1000)]}).to_csv(path, index=False)
    r = scan_orders(SourceSpec(path=str(path)), COLS, "orders")
    r.close()
    lines = prog.read_text().splitlines()
    assert any("into the engine" in ln for ln in lines) and any("1,000 lines read" in ln for ln in lines)
    from helpers.frame.engine import duckdb_backend
    assert duckdb_backend().con.query_progress() is not None   # what the progress thread polls
