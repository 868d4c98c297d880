"""Notebook hygiene: jupytext py:percent, python3 kernel, one parameters cell matching its model,
defaults equal to the demo quarter, and no logic (def, class, loops, branches) in pipeline notebooks."""

from __future__ import annotations

import ast

import jupytext
import nbformat
import papermill as pm
import pytest

from helpers.frame.registry import PIPELINE, STEP_MODELS
from helpers.frame.settings import from_namespace, load_config, step_parameters

NOTEBOOKS = sorted(STEP_MODELS)


@pytest.mark.parametrize("step", NOTEBOOKS)
def test_notebook_is_percent_with_python3_kernel(repo, step):
    path = repo / "notebooks" / f"{step}.py"
    text = path.read_text()
    assert "format_name: percent" in text
    nb = jupytext.read(path, fmt="py:percent")
    assert nb.metadata["kernelspec"]["name"] == "python3"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one parameters cell"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "starts with a title"


@pytest.mark.parametrize("step", NOTEBOOKS)
def test_parameters_cell_matches_model_and_takes_defaults_from_base_yaml(repo, step, tmp_path, monkeypatch):
    monkeypatch.setenv("SEGREVIEW_ROOT", str(repo))
    nb = jupytext.read(repo / "notebooks" / f"{step}.py", fmt="py:percent")
    p = tmp_path / f"{step}.ipynb"
    nbformat.write(nb, p)
    found = pm.inspect_notebook(str(p))
    assert set(found) == set(STEP_MODELS[step].model_fields)
    # a hand run takes every value left at None from params/base.yaml (the only place defaults live),
    # so it validates to what the runner would inject for the base quarter
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    ns: dict = {}
    exec(cell.source, ns)  # literals only
    assert all(ns[k] is None for k in STEP_MODELS[step].model_fields if k != "run_dir"), "no defaults in notebooks"
    hand = from_namespace(step, ns).model_dump(mode="json")
    cfg = load_config(repo / "params" / "base.yaml")
    runner = step_parameters(cfg, step, "")
    assert hand == runner


@pytest.mark.parametrize("step", NOTEBOOKS)
def test_parameters_cell_holds_literals_only(repo, step):
    nb = jupytext.read(repo / "notebooks" / f"{step}.py", fmt="py:percent")
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.Assign | ast.AnnAssign)
        ast.literal_eval(node.value)  # raises for anything computed


@pytest.mark.parametrize("step", NOTEBOOKS)
def test_no_logic_in_pipeline_notebooks(repo, step):
    nb = jupytext.read(repo / "notebooks" / f"{step}.py", fmt="py:percent")
    banned = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While, ast.If,
              ast.Try, ast.With, ast.Lambda, ast.comprehension)
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(c.source)):
            assert not isinstance(node, banned), f"{step}: {type(node).__name__} belongs in src/helpers/"


def test_every_configured_step_has_a_notebook(repo):
    for step in STEP_MODELS:
        assert step in PIPELINE
        assert (repo / "notebooks" / f"{step}.py").is_file()


def test_no_ipynb_in_notebooks_folder_is_tracked(repo):
    import subprocess
    out = subprocess.run(["git", "ls-files", "notebooks"], cwd=repo, capture_output=True, text=True).stdout
    assert ".ipynb" not in out
