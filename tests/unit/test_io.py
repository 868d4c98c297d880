"""The reader: every format through one function; clear errors for missing files, columns, rows."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from helpers.frame.errors import InputDataError
from helpers.frame.settings import SourceSpec
from helpers.ingest.sources import detect_encoding, read_source, require_columns

COLS = ["customer_id", "order_ts", "amount"]
DF = pd.DataFrame({"customer_id": ["007", "008"], "order_ts": ["2026-01-02", "2026-02-03"],
                   "amount": ["10.5", "20"], "email": ["a@b.cn", "c@d.cn"]})


def test_csv_reads_everything_as_text(root_env):
    DF.to_csv(root_env / "o.csv", index=False)
    r = read_source(SourceSpec(path="o.csv"), COLS, "orders")
    assert list(r.frame.columns) == COLS
    assert r.frame["customer_id"].tolist() == ["007", "008"]  # leading zeros kept
    assert r.rows == 2 and len(r.sha256) == 64
    assert "email" in r.columns_in_source and "email" not in r.frame


def test_parquet_selects_only_mapped_columns(root_env):
    DF.to_parquet(root_env / "o.parquet")
    r = read_source(SourceSpec(path="o.parquet"), COLS, "orders", drop=["email"])
    assert list(r.frame.columns) == COLS


def test_excel_second_sheet(root_env):
    with pd.ExcelWriter(root_env / "o.xlsx") as w:
        pd.DataFrame({"note": ["exported by CRM"]}).to_excel(w, sheet_name="About", index=False)
        DF.to_excel(w, sheet_name="Orders", index=False)
    with pytest.raises(InputDataError, match="required column"):
        read_source(SourceSpec(path="o.xlsx"), COLS, "orders")
    r = read_source(SourceSpec(path="o.xlsx", sheet="Orders"), COLS, "orders")
    assert len(r.frame) == 2


def test_duckdb_file_and_table(root_env):
    con = duckdb.connect(str(root_env / "crm.duckdb"))
    con.register("df", DF)
    con.execute('CREATE TABLE "order lines" AS SELECT * FROM df')
    con.close()
    r = read_source(SourceSpec(path="crm.duckdb", table="order lines"), COLS, "orders")
    assert r.frame["amount"].tolist() == ["10.5", "20"]
    with pytest.raises(InputDataError, match="no table"):
        read_source(SourceSpec(path="crm.duckdb", table="nope"), COLS, "orders")


def test_gb18030_and_bom(root_env):
    text = "customer_id,order_ts,amount,城市\n001,2026-01-02,¥1200,上海\n"
    (root_env / "gbk.csv").write_bytes(text.encode("gb18030"))
    (root_env / "bom.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert detect_encoding(root_env / "gbk.csv") == "gb18030"
    for f in ("gbk.csv", "bom.csv"):
        r = read_source(SourceSpec(path=f), [*COLS, "城市"], "orders")
        assert r.frame["城市"].tolist() == ["上海"]
        assert r.frame["customer_id"].tolist() == ["001"]


def test_whitespace_separated_like_cdnow(root_env):
    (root_env / "c.txt").write_text(" customer_id  date n  dollar_value\n 00001 19970101  1   11.77\n")
    r = read_source(SourceSpec(path="c.txt", delimiter="whitespace"), ["customer_id", "date", "dollar_value"], "orders")
    assert r.frame.iloc[0].tolist() == ["00001", "19970101", "11.77"]


def test_missing_file_empty_file_header_only(root_env):
    with pytest.raises(InputDataError, match="file not found"):
        read_source(SourceSpec(path="missing.csv"), COLS, "orders")
    (root_env / "empty.csv").write_text("")
    with pytest.raises(InputDataError, match="empty"):
        read_source(SourceSpec(path="empty.csv"), COLS, "orders")
    (root_env / "header.csv").write_text("customer_id,order_ts,amount\n")
    with pytest.raises(InputDataError, match="no rows"):
        read_source(SourceSpec(path="header.csv"), COLS, "orders")


def test_unknown_extension(root_env):
    (root_env / "o.json").write_text("{}")
    with pytest.raises(InputDataError, match="format"):
        read_source(SourceSpec(path="o.json"), COLS, "orders")


def test_missing_column_suggests_closest():
    with pytest.raises(InputDataError) as e:
        require_columns(
            ["Customer ID", "order_date", "amount"],
            {"order_ts": "order_ts", "customer_id": "customer_id"},
            "orders (o.csv)",
        )
    msg = str(e.value)
    assert "orders (o.csv)" in msg and "'order_ts' for order_ts" in msg
    assert "did you mean 'order_date'" in msg
