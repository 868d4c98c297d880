"""Parameters: merging, strict validation, messages that name the key, the file and the choices."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from helpers.frame.errors import ParameterError
from helpers.frame.registry import STEP_MODELS
from helpers.frame.settings import (
    IngestParams,
    from_namespace,
    load_config,
    previous_quarter,
    quarter_bounds,
    step_parameters,
)


def write(root, name, data):
    p = root / "params" / name
    p.write_text(yaml.safe_dump(data))
    return p


def test_base_and_demo_merge(repo, monkeypatch):
    monkeypatch.setenv("SEGREVIEW_ROOT", str(repo))
    cfg = load_config(repo / "params" / "demo.yaml")
    assert cfg.quarter == "2026Q3"
    assert cfg.sources.orders.path == "data/demo/orders.parquet"
    assert cfg.columns.orders.amount == "amount"
    assert cfg.pii_columns == ["name", "email", "phone"]


def test_every_shipped_params_file_validates(repo, monkeypatch):
    monkeypatch.setenv("SEGREVIEW_ROOT", str(repo))
    for p in sorted((repo / "params").glob("*.yaml")):
        load_config(p)


def test_override_is_deep(root_env):
    p = write(root_env, "q.yaml", {"quarter": "2025Q4", "ingest": {"outlier_factor": 10}})
    cfg = load_config(p)
    assert cfg.ingest.outlier_factor == 10
    assert cfg.ingest.examples == 3  # untouched sibling keeps its default


def test_misspelled_key_is_refused_with_suggestion(root_env):
    p = write(root_env, "q.yaml", {"quarter": "2025Q4", "curency": "EUR"})
    with pytest.raises(ParameterError) as e:
        load_config(p)
    msg = str(e.value)
    assert "curency" in msg and "'currency'" in msg and "q.yaml" in msg
    assert "allowed keys" in msg


def test_misspelled_nested_key_lists_allowed_keys(root_env):
    p = write(root_env, "q.yaml", {"quarter": "2025Q4", "ingest": {"outlier_factr": 3}})
    with pytest.raises(ParameterError) as e:
        load_config(p)
    assert "ingest.outlier_factr" in str(e.value)
    assert "outlier_factor" in str(e.value)


def test_wrong_type_is_refused(root_env):
    p = write(root_env, "q.yaml", {"quarter": "2025Q4", "seed": "forty-two"})
    with pytest.raises(ParameterError, match="seed"):
        load_config(p)


@pytest.mark.parametrize("q", ["2025Q5", "2025-Q1", "Q3 2025", "2025q1", ""])
def test_not_a_quarter(root_env, q):
    p = write(root_env, "q.yaml", {"quarter": q})
    with pytest.raises(ParameterError, match="quarter"):
        load_config(p)


def test_path_outside_project_is_refused(root_env):
    p = write(root_env, "q.yaml", {"quarter": "2025Q4", "sources": {"orders": {"path": "../../etc/passwd"}}})
    with pytest.raises(ParameterError, match="outside the project"):
        load_config(p)


def test_unknown_step_is_refused(root_env):
    p = write(root_env, "q.yaml", {"quarter": "2025Q4", "steps": ["10_ingest", "99_magic"]})
    with pytest.raises(ParameterError, match="99_magic"):
        load_config(p)


def test_missing_file_and_bad_yaml(root_env):
    with pytest.raises(ParameterError, match="does not exist"):
        load_config(root_env / "params" / "nope.yaml")
    bad = root_env / "params" / "bad.yaml"
    bad.write_text("quarter: [unclosed\n")
    with pytest.raises(ParameterError, match="not valid YAML"):
        load_config(bad)


@pytest.mark.parametrize("q,start,end,prev", [
    ("2026Q3", "2026-07-01", "2026-09-30", "2026Q2"),
    ("2026Q1", "2026-01-01", "2026-03-31", "2025Q4"),
    ("2024Q1", "2024-01-01", "2024-03-31", "2023Q4"),
    ("2024Q4", "2024-10-01", "2024-12-31", "2024Q3"),
])
def test_quarter_bounds(q, start, end, prev):
    s, e = quarter_bounds(q)
    assert (s, e) == (pd.Timestamp(start), pd.Timestamp(end))
    assert previous_quarter(q) == prev


def test_step_parameters_are_the_model_fields(repo, monkeypatch, tmp_path):
    monkeypatch.setenv("SEGREVIEW_ROOT", str(repo))
    cfg = load_config(repo / "params" / "demo.yaml")
    for step, model in STEP_MODELS.items():
        values = step_parameters(cfg, step, tmp_path)
        assert set(values) == set(model.model_fields)
        assert values["run_dir"] == str(tmp_path)


def test_from_namespace_checks_like_the_runner():
    ns = {"quarter": "2026Q3", "run_dir": "", "reports_dir": "reports", "seed": 1, "currency": "CNY",
          "sources": {"orders": {"path": "x.csv", "delimeter": ","}}, "columns": {},
          "pii_columns": [], "ingest": {}}
    with pytest.raises(ParameterError, match="delimeter"):
        from_namespace("10_ingest", ns)
    ns["sources"] = {"orders": {"path": "x.csv"}}
    assert isinstance(from_namespace("10_ingest", ns), IngestParams)


@pytest.mark.parametrize("section", ["churn", "clustering"])
def test_model_attributes_must_be_kept_customer_attributes(root_env, section):
    p = write(root_env, "q.yaml", {"quarter": "2025Q4",
                                   "columns": {"customers": {"attributes": ["region", "city_tier"]}},
                                   section: {"attributes": ["regoin"]}})
    with pytest.raises(ParameterError) as e:
        load_config(p)
    msg = str(e.value)
    assert f"{section}.attributes" in msg and "'regoin'" in msg and "did you mean 'region'" in msg
    ok = write(root_env, "ok.yaml", {"quarter": "2025Q4", "columns": {"customers": {"attributes": ["region"]}},
                                     section: {"attributes": ["region"]}})
    assert getattr(load_config(ok), section).attributes == ["region"]
