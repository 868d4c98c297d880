"""Which base a parameters file merges over, and the messages that name the files used."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpers.frame.errors import ParameterError
from helpers.frame.settings import defaults, load_config, parameter_files
from helpers.run.plan import describe_files

ORDERS = {"orders": {"path": "data/x.parquet"}, "customers": None, "experiments": None}


def write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_a_file_outside_params_merges_over_the_projects_base(root_env):
    f = write(root_env / "clients" / "acme" / "2026Q2.yaml", {"quarter": "2026Q2", "company": "ACME"})
    cfg = load_config(f)
    assert (cfg.quarter, cfg.company) == ("2026Q2", "ACME")
    assert cfg.clv == defaults().clv and cfg.rfm == defaults().rfm       # everything else from base.yaml
    assert parameter_files(f) == [(root_env / "params" / "base.yaml").resolve(), f]
    assert describe_files(parameter_files(f), root_env) == "clients/acme/2026Q2.yaml over params/base.yaml"


def test_a_file_outside_the_project_merges_over_the_project_segreview_runs_in(root_env, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    f = write(elsewhere / "acme.yaml", {"quarter": "2025Q4", "currency": "EUR"})
    cfg = load_config(f)
    assert (cfg.quarter, cfg.currency, cfg.seed) == ("2025Q4", "EUR", defaults().seed)
    assert parameter_files(f)[0] == (root_env / "params" / "base.yaml").resolve()


def test_no_base_anywhere_is_refused_naming_the_file_looked_for(root_env, tmp_path_factory, monkeypatch):
    elsewhere = tmp_path_factory.mktemp("not-a-project")
    f = write(elsewhere / "acme.yaml", {"quarter": "2025Q4"})
    monkeypatch.delenv("SEGREVIEW_ROOT")
    monkeypatch.chdir(elsewhere)
    with pytest.raises(ParameterError) as e:
        load_config(f)
    msg = str(e.value)
    assert "acme.yaml has no base to merge over" in msg
    assert str(elsewhere / "params" / "base.yaml") in msg and "does not exist" in msg
    assert "SEGREVIEW_ROOT" in msg and "extends:" in msg
    monkeypatch.chdir(root_env)            # from inside the project the same file merges over its base
    assert load_config(f).quarter == "2025Q4"


def test_extends_names_another_base_which_may_extend_the_projects(root_env):
    preset = write(root_env / "params" / "presets" / "fast.yaml",
                   {"clv": {"n_draws": 50}, "company": "Preset Co.", "currency": "USD"})
    f = write(root_env / "params" / "2026Q1.yaml",
              {"extends": "params/presets/fast.yaml", "quarter": "2026Q1", "currency": "EUR"})
    cfg = load_config(f)
    assert cfg.clv.n_draws == 50 and cfg.clv.horizon_months == defaults().clv.horizon_months
    assert (cfg.company, cfg.currency) == ("Preset Co.", "EUR")        # the file wins over its base
    assert parameter_files(f) == [(root_env / "params" / "base.yaml").resolve(), preset.resolve(), f]
    assert describe_files(parameter_files(f), root_env) == (
        "params/2026Q1.yaml over params/presets/fast.yaml over params/base.yaml")


def test_extends_relative_to_the_file(root_env):
    shared = write(root_env / "clients" / "shared.yaml", {"company": "Shared Co."})
    f = write(root_env / "clients" / "q.yaml", {"extends": "./shared.yaml", "quarter": "2026Q1"})
    assert load_config(f).company == "Shared Co."
    assert parameter_files(f)[1] == shared.resolve()


def test_a_missing_base_is_refused_with_its_name(root_env):
    f = write(root_env / "params" / "q.yaml", {"extends": "params/presets/gone.yaml", "quarter": "2026Q1"})
    with pytest.raises(ParameterError) as e:
        load_config(f)
    assert "`extends: params/presets/gone.yaml`" in str(e.value)
    assert str(root_env / "params" / "presets" / "gone.yaml") in str(e.value) and "does not exist" in str(e.value)
    f2 = write(root_env / "params" / "q2.yaml", {"extends": 3})
    with pytest.raises(ParameterError, match="must name a parameters file"):
        load_config(f2)


def test_extends_null_means_the_file_holds_every_parameter(root_env):
    f = write(root_env / "params" / "alone.yaml", {"extends": None, "quarter": "2026Q1", "sources": ORDERS})
    assert parameter_files(f) == [f]
    with pytest.raises(ParameterError) as e:
        load_config(f)
    msg = str(e.value)
    assert f"invalid parameters in {f}:" in msg and "merged over" not in msg
    assert "required key 'company' is missing" in msg and "required key 'clv' is missing" in msg


def test_a_circle_of_extends_is_refused(root_env):
    write(root_env / "params" / "a.yaml", {"extends": "params/b.yaml"})
    write(root_env / "params" / "b.yaml", {"extends": "params/a.yaml"})
    with pytest.raises(ParameterError, match="goes round in a circle"):
        load_config(root_env / "params" / "a.yaml")


def test_the_validation_message_names_every_file_merged(root_env):
    write(root_env / "params" / "presets" / "p.yaml", {"clv": {"n_draws": 50}})
    f = write(root_env / "params" / "bad.yaml", {"extends": "params/presets/p.yaml", "seed": "forty-two"})
    with pytest.raises(ParameterError) as e:
        load_config(f)
    first = str(e.value).splitlines()[0]
    assert first == (f"invalid parameters in {f} (merged over {(root_env / 'params/presets/p.yaml').resolve()} "
                     f"over {(root_env / 'params/base.yaml').resolve()}):")
