"""Packaging: environment.yml, pyproject.toml and the lock file agree."""

from __future__ import annotations

import re
import tomllib

import yaml

REQUIRED = {"pandas", "seaborn", "scikit-learn", "statsmodels", "papermill", "nbconvert", "jupyterlab",
            "jupytext", "ipykernel", "duckdb", "ibis-framework", "pyarrow", "pydantic", "pandera", "pyyaml"}
DEV = {"pytest", "hypothesis", "ruff"}


def _name(req: str) -> str:
    return re.split(r"[\[<>=!~ ;]", req, maxsplit=1)[0].lower()


def test_pyproject_declares_the_stack(repo):
    proj = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    deps = {_name(d) for d in proj["dependencies"]}
    assert REQUIRED <= deps
    assert DEV <= {_name(d) for d in proj["optional-dependencies"]["dev"]}
    assert proj["scripts"]["segreview"] == "helpers.run.cli:main"


def test_lock_pins_every_dependency(repo):
    proj = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    lock = {}
    for line in (repo / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, ver = line.partition("==")
            lock[name.lower().replace("_", "-")] = ver
    for d in proj["dependencies"] + proj["optional-dependencies"]["dev"]:
        assert _name(d).replace("_", "-") in lock, f"{d} is not pinned in requirements.lock"
    assert all(lock.values()), "every lock line pins an exact version"


def test_environment_yml_uses_same_python_and_lock(repo):
    env = yaml.safe_load((repo / "environment.yml").read_text())
    proj = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    deps = env["dependencies"]
    py = next(d for d in deps if isinstance(d, str) and d.startswith("python="))
    assert py == "python=3.11" and ">=3.11" in proj["requires-python"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert "-c requirements.lock" in pip and "-e .[dev]" in pip
