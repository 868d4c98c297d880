"""`segreview check` refuses each broken input with the message a run would give, running no notebook."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from helpers.run.cli import main


@pytest.fixture()
def no_notebooks(monkeypatch):
    """Fail the test if anything tries to execute a notebook or start a kernel."""
    import papermill

    from helpers.run import execute

    def refuse(*a, **k):
        raise AssertionError("segreview check executed a notebook")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)
    monkeypatch.setattr(execute.WarmKernel, "__init__", refuse)


def params(project, name: str, **data) -> str:
    base = {"quarter": "2026Q3", "company": "ACME"}
    p = project / "params" / f"{name}.yaml"
    p.write_text(yaml.safe_dump({**base, **data}, sort_keys=False), encoding="utf-8")
    return f"params/{name}.yaml"


def refused(capsys, argv, code=1) -> str:
    assert main(argv) == code
    out = capsys.readouterr()
    assert out.err.startswith("segreview: error: ")
    return out.err


def nothing_written(project) -> bool:
    return not (project / "reports").exists()


def test_check_passes_with_a_summary_per_source(project, no_notebooks, capsys):
    assert main(["check", "--params", "params/ci.yaml"]) == 0
    out = capsys.readouterr().out
    orders = pd.read_parquet(project / "data" / "ci" / "orders.parquet")
    customers = pd.read_parquet(project / "data" / "ci" / "customers.parquet")
    experiments = pd.read_parquet(project / "data" / "ci" / "experiments.parquet")
    assert "parameters   params/ci.yaml over params/base.yaml: valid; quarter 2026Q3 (2026-07-01 to 2026-09-30)" in out
    assert "notebooks    10_ingest, 20_rfm_clustering, 30_clv, 40_churn, 50_ab_evaluation, 60_quarterly_review" in out
    assert f"orders       data/ci/orders.parquet: {len(orders):,} rows read, " in out
    assert f"customers    data/ci/customers.parquet: {len(customers):,} rows read, {len(customers):,} kept" in out
    assert f"experiments  data/ci/experiments.parquet: {len(experiments):,} rows read" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("orders "))
    assert " completed orders in 2026Q3; orders from 2024-" in line and "after the as-of date" in line
    assert "ready: `segreview run --params params/ci.yaml` renders reports/2026Q3/" in out
    assert nothing_written(project)


def test_missing_file(project, no_notebooks, capsys):
    """The README's own-export example before the export is copied: data/acme/orders.csv is missing."""
    p = params(project, "acme", sources={"orders": {"path": "data/acme/orders.csv"}, "customers": None,
                                         "experiments": None})
    err = refused(capsys, ["check", "--params", p])
    assert f"orders (data/acme/orders.csv): file not found at {project / 'data' / 'acme' / 'orders.csv'}" in err
    assert nothing_written(project)


def test_unreadable_and_empty_files(project, no_notebooks, capsys):
    (project / "data" / "acme").mkdir()
    (project / "data" / "acme" / "orders.csv").write_bytes(b"customer_id,order_ts,amount\n\xff\xfe\x81\x00\xff,1,2\n")
    p = params(project, "acme", sources={"orders": {"path": "data/acme/orders.csv"}, "customers": None,
                                         "experiments": None})
    err = refused(capsys, ["check", "--params", p])
    assert "orders.csv: the file is neither UTF-8 nor GB18030 text" in err
    (project / "data" / "acme" / "orders.csv").write_bytes(b"")
    err = refused(capsys, ["check", "--params", p])
    assert "orders.csv: the file is empty (0 bytes)" in err
    (project / "data" / "acme" / "orders.txt").write_text("hello")
    (project / "data" / "acme" / "orders.dat").write_text("hello")
    p = params(project, "acme2", sources={"orders": {"path": "data/acme/orders.dat"}, "customers": None,
                                          "experiments": None})
    err = refused(capsys, ["check", "--params", p])
    assert "cannot tell the format from the extension '.dat'" in err


def test_mapped_column_missing_suggests_the_closest_name(project, no_notebooks, capsys):
    o = pd.read_parquet(project / "data" / "ci" / "orders.parquet").rename(columns={"customer_id": "customer_no"})
    (project / "data" / "acme").mkdir()
    o.to_csv(project / "data" / "acme" / "orders.csv", index=False)
    p = params(project, "acme", sources={"orders": {"path": "data/acme/orders.csv"}, "customers": None,
                                         "experiments": None})
    err = refused(capsys, ["check", "--params", p])
    assert "orders (data/acme/orders.csv): required column(s) missing:" in err
    assert "  - 'customer_id' for customer_id (did you mean 'customer_no'? map it in `columns:`)" in err
    assert "columns in the file: 'customer_no', " in err


def test_duckdb_table_and_columns(project, no_notebooks, capsys):
    import duckdb
    o = pd.read_parquet(project / "data" / "ci" / "orders.parquet")
    db = project / "data" / "crm.duckdb"
    with duckdb.connect(str(db)) as con:
        con.register("o", o.rename(columns={"amount": "amount_cny"}))
        con.execute('CREATE TABLE "Orders" AS SELECT * FROM o')
    p = params(project, "duck", sources={"orders": {"path": "data/crm.duckdb", "table": "orders_2026"},
                                         "customers": None, "experiments": None})
    err = refused(capsys, ["check", "--params", p])
    assert "orders (data/crm.duckdb:orders_2026): no table 'orders_2026'; tables: ['Orders']" in err
    p = params(project, "duck", sources={"orders": {"path": "data/crm.duckdb", "table": "Orders"},
                                         "customers": None, "experiments": None})
    err = refused(capsys, ["check", "--params", p])
    assert "  - 'amount' for amount (did you mean 'amount_cny'? map it in `columns:`)" in err
    p = params(project, "duck", sources={"orders": {"path": "data/crm.duckdb", "table": "Orders"},
                                         "customers": None, "experiments": None},
               columns={"orders": {"amount": "amount_cny"}})
    assert main(["check", "--params", p]) == 0
    assert f"orders       data/crm.duckdb: {len(o):,} rows read" in capsys.readouterr().out


@pytest.mark.parametrize("quarter, message", [
    ("2030Q1", "no completed order falls in the quarter under review 2030Q1 (2030-01-01 to 2030-03-31)"),
    ("2019Q4", "no completed orders on or before 2019-12-31 remain"),
])
def test_a_quarter_without_orders(project, no_notebooks, capsys, quarter, message):
    err = refused(capsys, ["check", "--params", "params/ci.yaml", "--quarter", quarter])
    assert message in err
    assert nothing_written(project)


def test_bad_quarter_option_and_missing_base_are_parameter_errors(project, no_notebooks, capsys):
    err = refused(capsys, ["check", "--params", "params/ci.yaml", "--quarter", "2026-Q3"], code=2)
    assert "--quarter 2026-Q3" in err and "is not a quarter" in err
    p = params(project, "ext", extends="params/presets/gone.yaml")
    err = refused(capsys, ["check", "--params", p], code=2)
    assert "`extends: params/presets/gone.yaml`" in err and "does not exist" in err


def test_a_notebook_whose_parameters_cell_drifted(project, no_notebooks, capsys):
    nb = project / "notebooks" / "30_clv.py"
    nb.write_text(nb.read_text().replace("run_dir = \"\"", "run_dir = \"\"\nhorizon = None"))
    err = refused(capsys, ["check", "--params", "params/ci.yaml"])
    assert "notebook 30_clv: its parameters cell does not match" in err and "unexpected ['horizon']" in err


def test_an_existing_quarter_is_mentioned_not_refused(project, no_notebooks, capsys):
    (project / "reports" / "2026Q3").mkdir(parents=True)
    assert main(["check", "--params", "params/ci.yaml"]) == 0
    assert "exists: `segreview run` replaces it only with --force" in capsys.readouterr().out


def test_github_actions_gets_an_error_annotation(project, no_notebooks, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    p = params(project, "acme", sources={"orders": {"path": "data/acme/orders.csv"}, "customers": None,
                                         "experiments": None})
    assert main(["check", "--params", p]) == 1
    notes = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("::")]
    assert len(notes) == 1 and notes[0].startswith("::error title=segreview::orders (data/acme/orders.csv): file not")
    p = params(project, "typo", currrency="EUR")
    assert main(["check", "--params", p]) == 2
    notes = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("::")]
    assert len(notes) == 1 and "%0A  - unknown key 'currrency'; did you mean 'currency'?" in notes[0]


def test_check_leaves_no_clean_orders_behind_and_reads_none_into_pandas(project, no_notebooks, capsys, monkeypatch,
                                                                         tmp_path_factory):
    """The engine writes the clean orders while checking: into a temporary folder that the check removes (each
    `segreview check` left a copy of the clean order log in the temporary folder), and the quarter's orders are
    counted on the engine, never read into pandas."""
    import tempfile

    from helpers.ingest import step as ingest_step
    scratch = tmp_path_factory.mktemp("tmp")
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(ingest_step.IngestResult, "orders",
                        property(lambda self: (_ for _ in ()).throw(AssertionError("orders read into pandas"))))
    assert main(["check", "--params", "params/ci.yaml"]) == 0
    out = capsys.readouterr().out
    orders = pd.read_parquet(project / "data" / "ci" / "orders.parquet")
    n = int(((orders["order_ts"] >= "2026-07-01") & (orders["order_ts"] < "2026-10-01")
             & (orders["status"] == "completed")).sum())
    line = next(ln for ln in out.splitlines() if ln.startswith("orders "))
    assert " completed orders in 2026Q3" in line
    shown = int(line.split(" completed orders in 2026Q3")[0].rsplit(" ", 1)[-1].replace(",", ""))
    assert 0 < shown <= n
    assert list(scratch.iterdir()) == []
