"""A real PostgreSQL server (pgserver: PostgreSQL binaries from PyPI) as the CRM database.

The CI demo tables are loaded into it under awkward names (spaces, capitals, a schema), the
pipeline reads them from a URL without credentials (user and password from a ``.env`` file),
and the transaction-level artifacts must equal those of the same tables read from Parquet.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers.frame.errors import InputDataError
from helpers.run.cli import main

pytestmark = pytest.mark.pipeline

PASSWORD = "s3cret-Pa55-never-logged"
TABLES = {"orders": "Orders 2026", "customers": "CRM Customers", "experiments": "experiment_assignments"}
STEPS = ["10_ingest", "20_rfm_clustering"]


def _pg_type(s: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(s):
        return "timestamp"
    if pd.api.types.is_integer_dtype(s):
        return "bigint"
    if pd.api.types.is_float_dtype(s):
        return "double precision"
    return "text"


def load_table(conn, schema: str, name: str, df: pd.DataFrame) -> None:
    """CREATE TABLE and COPY, identifiers quoted by psycopg.sql (names with spaces and capitals)."""
    from psycopg import sql
    cols = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(_pg_type(df[c]))) for c in df.columns)
    conn.execute(sql.SQL("CREATE TABLE {}.{} ({})").format(sql.Identifier(schema), sql.Identifier(name), cols))
    copy = sql.SQL("COPY {}.{} ({}) FROM STDIN").format(sql.Identifier(schema), sql.Identifier(name),
                                                         sql.SQL(", ").join(map(sql.Identifier, df.columns)))
    rows = df.astype(object).where(df.notna(), None)
    with conn.cursor().copy(copy) as cp:
        for r in rows.itertuples(index=False, name=None):
            cp.write_row([v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in r])


def write_params(project: Path, name: str, sources: dict) -> Path:
    p = project / "params" / f"{name}.yaml"
    p.write_text(yaml.safe_dump({"quarter": "2026Q3", "company": "CI Sample Co.", "steps": STEPS,
                                 "reports_dir": f"reports-{name}", "sources": sources}))
    return p


def test_pipeline_from_postgres_equals_parquet(project, crm, ci_rendered, monkeypatch, capsys):
    """The steps that read the tables, from the database; the reference is the shared CI quarter (the same
    tables read from Parquet by params/ci.yaml: same quarter, company and parameters, all steps)."""
    monkeypatch.delenv("PGUSER", raising=False)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    (project / ".env").write_text(f"# database login for the CRM\nPGUSER=segreview\nPGPASSWORD=\"{PASSWORD}\"\n")
    pg = {k: {"url": crm["url"], "table": t, "db_schema": "Sales"} for k, t in TABLES.items()}
    files = {k: {"path": f"data/ci/{k}.parquet"} for k in TABLES}
    ci = yaml.safe_load((ci_rendered / "params" / "ci.yaml").read_text())
    assert ci["sources"] == files and ci["quarter"] == "2026Q3" and ci["company"] == "CI Sample Co."
    assert main(["run", "--params", str(write_params(project, "pg", pg))]) == 0
    printed = capsys.readouterr()
    a, b = project / "reports-pg" / "2026Q3", ci_rendered / "reports" / "2026Q3"
    for art in ("orders.parquet", "customers.parquet", "experiments.parquet", "segment_scores.parquet",
                "quality.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(a / "artifacts" / art), pd.read_parquet(b / "artifacts" / art),
                                      check_dtype=False, obj=art)
    ja, jb = (json.loads((d / "artifacts" / "rfm.json").read_text()) for d in (a, b))
    assert ja == jb
    ia = json.loads((a / "artifacts" / "ingest.json").read_text())
    assert ia["sources"]["orders"]["path"].endswith('table Sales.Orders 2026')
    assert ia["sources"]["orders"]["rows_read"] == len(pd.read_parquet(project / "data" / "ci" / "orders.parquet"))
    # the password is nowhere: not in what was printed, not in any file of the rendered quarter
    assert PASSWORD not in printed.out + printed.err
    for f in a.rglob("*"):
        if f.is_file():
            text = pd.read_parquet(f).to_csv() if f.suffix == ".parquet" else f.read_text(errors="replace")
            assert PASSWORD not in text and "segreview:" not in text, f.name


def test_postgres_errors_are_plain_and_name_the_source(project, crm, monkeypatch):
    from helpers.frame.settings import SourceSpec
    from helpers.ingest.sources import read_source
    monkeypatch.setenv("PGUSER", "segreview")
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    with pytest.raises(InputDataError, match=r"no table 'Orders 2025'.*Orders 2026"):
        read_source(SourceSpec(url=crm["url"], table="Orders 2025", db_schema="Sales"), ["customer_id"], "orders")
    with pytest.raises(InputDataError, match=r"'customer id' for customer id \(did you mean 'customer_id'"):
        read_source(SourceSpec(url=crm["url"], table="Orders 2026", db_schema="Sales"), ["customer id"], "orders")
    # a column name that would be SQL if pasted is only ever a quoted identifier
    with pytest.raises(InputDataError, match="required column"):
        read_source(SourceSpec(url=crm["url"], table="Orders 2026", db_schema="Sales"),
                    ['amount"; DROP TABLE "Sales"."Orders 2026"; --'], "orders")
    assert len(read_source(SourceSpec(url=crm["url"], table="Orders 2026", db_schema="Sales"),
                           ["customer_id"], "orders").frame) > 1000
    monkeypatch.setenv("PGPASSWORD", "wrong-password")
    with pytest.raises(InputDataError, match="cannot connect.*password authentication failed") as e:
        read_source(SourceSpec(url=crm["url"], table="Orders 2026", db_schema="Sales"), ["customer_id"], "orders")
    assert "wrong-password" not in str(e.value)
    monkeypatch.setenv("PGUSER", "nobody")
    with pytest.raises(InputDataError, match="cannot connect"):
        read_source(SourceSpec(url=crm["url"], table="Orders 2026", db_schema="Sales"), ["customer_id"], "orders")


def test_password_in_a_url_is_refused():
    from pydantic import ValidationError

    from helpers.frame.settings import SourceSpec
    with pytest.raises(ValidationError, match="PGPASSWORD"):
        SourceSpec(url="postgresql://crm:hunter2@db.example.com:5432/crm", table="orders")
    with pytest.raises(ValidationError, match="PGPASSWORD"):
        SourceSpec(url="postgresql://db.example.com/crm?password=hunter2", table="orders")
    with pytest.raises(ValidationError, match="exactly one"):
        SourceSpec(path="data/x.parquet", url="postgresql://db/crm", table="orders")
    with pytest.raises(ValidationError, match="needs `table:`"):
        SourceSpec(url="postgresql://db/crm")
    s = SourceSpec(url="postgresql://analyst@db.example.com:5432/crm", table="orders")
    assert s.where == "postgresql://db.example.com:5432/crm table orders"
