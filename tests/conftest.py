"""Shared fixtures: a throw-away project root (params, notebooks, small demo data) per session."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]
CI_CUSTOMERS = 1500


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def ci_data(tmp_path_factory) -> Path:
    """The CI demo sample (1,500 customers) generated once per test session."""
    from helpers.demo.generator import DemoSpec, write_demo
    out = tmp_path_factory.mktemp("ci_data")
    write_demo(out, replace(DemoSpec(), n_customers=CI_CUSTOMERS))
    return out


def make_project(root: Path, ci_data: Path) -> Path:
    """Lay out a project root: the repo's params and notebooks, data/ci and CDNOW, no reports."""
    root.mkdir(parents=True)
    shutil.copytree(REPO / "params", root / "params")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    (root / "data").mkdir()
    shutil.copytree(ci_data, root / "data" / "ci")
    (root / "data" / "external").mkdir()
    shutil.copy(REPO / "data" / "external" / "CDNOW_master.txt", root / "data" / "external")
    return root


@pytest.fixture()
def project(tmp_path, ci_data, monkeypatch) -> Path:
    """A fresh project root in a temporary folder (for tests that run or change a quarter)."""
    root = make_project(tmp_path / "proj", ci_data)
    monkeypatch.setenv("SEGREVIEW_ROOT", str(root))
    monkeypatch.chdir(root)
    return root


@pytest.fixture(scope="session")
def ci_rendered(tmp_path_factory, ci_data) -> Path:
    """One rendered CI quarter shared by the read-only end-to-end tests (of every module, once per session
    or test worker): tests that change a quarter render their own in ``project``."""
    from helpers.run.cli import main
    root = make_project(tmp_path_factory.mktemp("shared") / "proj", ci_data)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEGREVIEW_ROOT", str(root))
        mp.chdir(root)
        assert main(["run", "--params", "params/ci.yaml"]) == 0
    return root


@pytest.fixture(scope="session")
def crm(tmp_path_factory, ci_data):
    """A running PostgreSQL with the CI tables in schema "Sales", and a login role with a password (one server
    for the session: test_postgres.py and test_check_postgres.py only read it)."""
    import pandas as pd
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


@pytest.fixture()
def root_env(tmp_path, monkeypatch) -> Path:
    """An empty project root (params/base.yaml from the repo) for unit tests that write files."""
    (tmp_path / "params").mkdir()
    shutil.copy(REPO / "params" / "base.yaml", tmp_path / "params" / "base.yaml")
    monkeypatch.setenv("SEGREVIEW_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def pytest_configure(config):
    os.environ.setdefault("MPLBACKEND", "Agg")



@pytest.fixture(scope="session", autouse=True)
def _kernels_kept_between_runs():
    """The session renders about thirty quarters in this process: their kernels are kept from one run to
    the next (reset for each notebook, as a backfill does between quarters) instead of each run starting
    six and importing the libraries again (about 5 s of CPU per kernel); closed when the session ends."""
    from helpers.run.execute import keep_kernels_between_runs
    keep_kernels_between_runs(True)
    yield
    keep_kernels_between_runs(False)


@pytest.fixture()
def no_kept_kernels(monkeypatch):
    """For a test that counts the kernels a run leaves: the run gets an empty shelf that is off (it takes no
    kept kernel and keeps none of its own), as with the session's shelf turned off; the session's kept kernels
    are set aside meanwhile (alive, children of this process from before the run), not closed, so that the
    runs after this test do not start theirs again."""
    from helpers.run import runner
    from helpers.run.execute import KernelShelf
    monkeypatch.setattr(runner, "SHELF", KernelShelf())
    yield


@pytest.fixture(autouse=True)
def _english_by_default():
    """Every test starts in English, whatever an earlier test of the session rendered (an in-process run of a
    Chinese quarter sets the page language for the process); tests that want another language set it."""
    from helpers.locale import set_language
    set_language("en")
    yield
    set_language("en")
