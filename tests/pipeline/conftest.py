"""Fixtures of the pipeline tests shared between their modules."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def crm(tmp_path_factory, ci_data):
    """A running PostgreSQL with the CI tables in schema "Sales", and a login role with a password (one server
    for the session: test_postgres.py and test_check_postgres.py only read it)."""
    from test_postgres import PASSWORD, TABLES, load_table
    pgserver = pytest.importorskip("pgserver", reason="pgserver is installed by `make test` (dev extra)")
    import psycopg
    data = tmp_path_factory.mktemp("pgdata")
    srv = pgserver.get_server(data, cleanup_mode="stop")
    info = srv.get_postmaster_info()
    with psycopg.connect(srv.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE segreview LOGIN PASSWORD '{PASSWORD}'")
        conn.execute('CREATE SCHEMA "Sales" AUTHORIZATION segreview')
        conn.execute("GRANT USAGE ON SCHEMA \"Sales\" TO segreview")
        for what, name in TABLES.items():
            load_table(conn, "Sales", name, pd.read_parquet(ci_data / f"{what}.parquet"))
        conn.execute('GRANT SELECT ON ALL TABLES IN SCHEMA "Sales" TO segreview')
        # pgserver trusts every local login; make this role prove its password
        hba = Path(data) / "pg_hba.conf"
        hba.write_text("local all segreview scram-sha-256\n" + hba.read_text())
        conn.execute("SELECT pg_reload_conf()")
    yield {"url": f"postgresql:///postgres?host={info.socket_dir}&port={info.port}", "server": srv}
    srv.cleanup()
