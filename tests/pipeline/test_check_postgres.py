"""`segreview check` against a real PostgreSQL (pgserver): it connects, lists the tables and their
columns and reads the rows as a run does, and refuses each broken database source with the run's message.

The server and its tables are those of ``test_postgres.py`` (the CI tables under awkward names in
schema "Sales", a login role that must give its password).
"""

from __future__ import annotations

import pytest
import yaml
from test_postgres import PASSWORD, TABLES

from helpers.run.cli import main

pytestmark = pytest.mark.pipeline


@pytest.fixture()
def login(monkeypatch, project):
    """The role's user and password in the project's .env file, not in the environment."""
    monkeypatch.delenv("PGUSER", raising=False)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    (project / ".env").write_text(f"PGUSER=segreview\nPGPASSWORD={PASSWORD}\n")
    return project / ".env"


def pg_params(project, url: str, tables: dict[str, str], **extra) -> str:
    sources = {k: {"url": url, "table": t, "db_schema": "Sales"} for k, t in tables.items()}
    sources.update({k: None for k in ("customers", "experiments") if k not in tables})
    p = project / "params" / "pg.yaml"
    p.write_text(yaml.safe_dump({"quarter": "2026Q3", "sources": sources, **extra}))
    return "params/pg.yaml"


def test_check_reads_every_table_of_the_database(project, crm, login, capsys):
    import pandas as pd
    assert main(["check", "--params", pg_params(project, crm["url"], TABLES)]) == 0
    out = capsys.readouterr()
    n = len(pd.read_parquet(project / "data" / "ci" / "orders.parquet"))
    assert "orders       postgresql:///postgres?host=" in out.out
    assert f"table Sales.Orders 2026: {n:,} rows read" in out.out
    assert "table Sales.CRM Customers: " in out.out and "table Sales.experiment_assignments: " in out.out
    assert PASSWORD not in out.out + out.err
    assert not (project / "reports").exists()


def test_database_refusals(project, crm, login, capsys, monkeypatch):
    def refused(params: str) -> str:
        assert main(["check", "--params", params]) == 1
        out = capsys.readouterr()
        assert PASSWORD not in out.out + out.err
        return out.err

    err = refused(pg_params(project, crm["url"], {"orders": "Orders 2025"}))
    assert "orders (postgresql:///postgres" in err and "table Sales.Orders 2025): no table 'Orders 2025'" in err
    assert "'Orders 2026'" in err
    err = refused(pg_params(project, crm["url"], {"orders": "Orders 2026"},
                            columns={"orders": {"customer_id": "customer id"}}))
    assert "  - 'customer id' for customer id (did you mean 'customer_id'? map it in `columns:`)" in err
    port = int(crm["url"].rsplit("port=", 1)[1])
    err = refused(pg_params(project, crm["url"].replace(f"port={port}", f"port={port + 1}"), {"orders": "Orders 2026"}))
    assert "cannot connect" in err and "PGUSER / PGPASSWORD" in err
    monkeypatch.setenv("PGPASSWORD", "wrong-password")        # the environment wins over .env
    err = refused(pg_params(project, crm["url"], {"orders": "Orders 2026"}))
    assert "cannot connect" in err and "password authentication failed" in err and "wrong-password" not in err
