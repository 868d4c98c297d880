"""The scheduled-regeneration examples run as written: the GitHub workflow and its GitLab twin are
parsed, and the commands they call are executed on the CI data in a copy of the project.

GitHub's expressions are evaluated for the few forms the workflow uses (``inputs``, ``env``,
``secrets``, ``steps.<id>.outputs``, ``runner.os``, ``hashFiles``, ``failure()``); an expression of
another form fails the test, so the workflow cannot grow past what is checked here.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from helpers.run.quarters import closed_quarter

pytestmark = pytest.mark.pipeline

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / ".github" / "workflows" / "quarterly-review.yml"
GITLAB = REPO / "docs" / "ci" / "gitlab-ci.yml"


def github_workflow() -> dict:
    wf = yaml.safe_load(GITHUB.read_text())
    wf["on"] = wf.pop(True)  # YAML 1.1 reads the key `on` as true
    return wf


def with_make(project: Path) -> Path:
    """The project copy gets the Makefile and a .venv that `make venv` finds up to date (the suite's own)."""
    for f in ("Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy2(REPO / f, project / f)          # copy2 keeps the times: older than the venv's stamp
    (project / ".venv").symlink_to(REPO / ".venv")
    # `make venv` must have nothing to do: through the link it would reinstall the suite's own .venv
    # from this copy (`make test` brings .venv up to date before the tests run)
    q = subprocess.run(["make", "-q", "venv"], cwd=project, capture_output=True, text=True)
    assert q.returncode == 0, ".venv is older than pyproject.toml or requirements.lock: run `make venv` first"
    return project


class GitHubRun:
    """Execute the `run:` steps of the workflow's job like the GitHub runner does (bash -e -o pipefail,
    the workflow's, job's and step's environment, $GITHUB_OUTPUT between steps)."""

    def __init__(self, project: Path, inputs: dict[str, str], env: dict[str, str]) -> None:
        self.project, self.inputs = project, inputs
        wf = github_workflow()
        self.job = wf["jobs"]["review"]
        self.env = {**wf.get("env", {}), **env}
        self.outputs: dict[str, dict[str, str]] = {}
        self.failed = False
        self.log: list[tuple[str, int, str]] = []

    def expr(self, text: str) -> str:
        def one(m: re.Match) -> str:
            e = m.group(1).strip()
            if m2 := re.fullmatch(r"inputs\.(\w+)", e):
                return self.inputs.get(m2.group(1), "")
            if m2 := re.fullmatch(r"env\.(\w+)", e):
                return self.env.get(m2.group(1), "")
            if re.fullmatch(r"secrets\.\w+", e):
                return ""                                  # no secrets here: the CI data are files
            if m2 := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", e):
                return self.outputs.get(m2.group(1), {}).get(m2.group(2), "")
            if e == "runner.os":
                return "Linux"
            if e.startswith("hashFiles("):
                return "h"
            raise AssertionError(f"expression not understood by the test: {e}")
        return re.sub(r"\$\{\{(.*?)\}\}", one, str(text))

    def condition(self, cond: str | None) -> bool:
        if cond is None:
            return not self.failed
        cond = cond.strip()
        if cond == "failure()":
            return self.failed
        m = re.fullmatch(r"env\.(\w+) == '([^']*)'", cond)
        assert m, f"condition not understood by the test: {cond}"
        return not self.failed and self.env.get(m.group(1)) == m.group(2)

    def run(self, until: str | None = None) -> None:
        for step in self.job["steps"]:
            if not self.condition(step.get("if")):
                continue
            name = step.get("name") or step.get("uses")
            if "uses" in step:
                self.log.append((name, 0, self.expr(yaml.safe_dump(step.get("with", {})))))
                continue
            out_file = self.project / ".github_output"
            out_file.write_text("")
            env = {**os.environ, **{k: self.expr(v) for k, v in {**self.env, **self.job.get("env", {}),
                                                                   **step.get("env", {})}.items()},
                   "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(out_file),
                   "GITHUB_STEP_SUMMARY": str(self.project / ".github_summary")}
            p = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", self.expr(step["run"])],
                               cwd=self.project, env=env, capture_output=True, text=True, timeout=900)
            self.log.append((name, p.returncode, p.stdout + p.stderr))
            if "id" in step:
                self.outputs[step["id"]] = dict(ln.split("=", 1) for ln in out_file.read_text().splitlines() if ln)
            if p.returncode != 0:
                self.failed = True
            if until is not None and step.get("id") == until:
                return

    def step(self, name: str) -> tuple[int, str]:
        return next((code, out) for n, code, out in self.log if n == name)


def test_github_workflow_shape():
    wf = github_workflow()
    assert wf["on"]["schedule"] == [{"cron": "0 6 5 1,4,7,10 *"}]       # the 5th day after each quarter closes
    assert "quarter" in wf["on"]["workflow_dispatch"]["inputs"]
    job = wf["jobs"]["review"]
    assert {"PGUSER", "PGPASSWORD"} <= set(job["env"]) and all("secrets." in v for v in job["env"].values())
    uses = {s["uses"].split("@")[0]: s for s in job["steps"] if "uses" in s}
    assert "hashFiles('requirements.lock'" in uses["actions/cache"]["with"]["key"]
    assert uses["actions/cache"]["with"]["path"] == ".venv"
    runs = [s["run"] for s in job["steps"] if "run" in s]
    check = next(i for i, r in enumerate(runs) if "segreview check" in r)
    run = next(i for i, r in enumerate(runs) if "segreview run" in r)
    assert check < run
    upload = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload[0]["with"]["path"] == "reports/${{ steps.quarter.outputs.quarter }}/"


def test_github_workflow_renders_the_requested_quarter_on_the_ci_data(project):
    """Manual dispatch with quarter 2026Q3 and the CI parameters: check, run, and the artifact's folder."""
    gh = GitHubRun(with_make(project), inputs={"quarter": "2026Q3"}, env={"PARAMS": "params/ci.yaml"})
    gh.run()
    assert not gh.failed, gh.log
    assert "Nothing to be done" in gh.step("Install the locked dependencies")[1] or \
        "is up to date" in gh.step("Install the locked dependencies")[1]
    assert [n for n, *_ in gh.log].count("Generate the demo export") == 0        # not the demo's parameters
    assert gh.outputs["quarter"] == {"quarter": "2026Q3"}
    code, out = gh.step("Check the parameters and the inputs")
    assert "parameters   params/ci.yaml over params/base.yaml: valid; quarter 2026Q3" in out
    code, out = gh.step("Render the quarter")
    assert "report: " in out and out.strip().endswith("reports/2026Q3/index.html")
    artifact = yaml.safe_load(gh.step("Upload the quarter's pages and artifacts")[1])
    assert artifact["name"] == "quarterly-review-2026Q3"
    folder = project / artifact["path"]
    assert (folder / "index.html").stat().st_size > 10_000 and (folder / "run.json").exists()
    assert "Upload the failed notebook" not in [n for n, *_ in gh.log]
    assert (project / ".github_summary").read_text() == "Quarterly review 2026Q3 from params/ci.yaml\n"


def test_github_workflow_on_schedule_picks_the_closed_quarter(project):
    gh = GitHubRun(with_make(project), inputs={}, env={"PARAMS": "params/ci.yaml"})
    gh.run(until="quarter")
    assert gh.outputs["quarter"] == {"quarter": closed_quarter(dt.date.today())}


def test_github_workflow_fails_with_the_runs_message_on_bad_input(project):
    (project / "params" / "acme.yaml").write_text(
        "quarter: 2026Q3\nsources:\n  orders: {path: data/acme/orders.csv}\n  customers: null\n  experiments: null\n")
    gh = GitHubRun(with_make(project), inputs={"quarter": "2026Q2"}, env={"PARAMS": "params/acme.yaml"})
    gh.run()
    assert gh.failed
    code, out = gh.step("Check the parameters and the inputs")
    assert code == 1
    assert "::error title=segreview::orders (data/acme/orders.csv): file not found at " in out
    assert "Render the quarter" not in [n for n, *_ in gh.log]
    assert "Upload the failed notebook" in [n for n, *_ in gh.log]
    assert not (project / "reports").exists()
    gh = GitHubRun(project, inputs={"quarter": "2026-Q3; rm -rf /"}, env={"PARAMS": "params/ci.yaml"})
    gh.run(until="quarter")
    assert gh.failed and "is not a quarter" in gh.step("Quarter to render")[1]


def test_gitlab_job_runs_the_same_commands_on_the_ci_data(project):
    job = yaml.safe_load(GITLAB.read_text())["quarterly-review"]
    assert {r["if"] for r in job["rules"]} == {'$CI_PIPELINE_SOURCE == "schedule"', '$CI_PIPELINE_SOURCE == "web"'}
    assert "requirements.lock" in job["cache"]["key"]["files"] and job["cache"]["paths"] == [".venv/"]
    github_runs = " ".join(s["run"] for s in github_workflow()["jobs"]["review"]["steps"] if "run" in s)
    for cmd in ("make venv", "make demo-data", "segreview quarter", "segreview check --params \"$PARAMS\" --quarter",
                "segreview run --params \"$PARAMS\" --quarter"):
        assert cmd in github_runs and any(cmd in line for line in job["script"]), cmd
    # the same job on the CI data, two steps only (the GitHub test renders the whole quarter)
    (project / "params" / "ci_short.yaml").write_text(
        (project / "params" / "ci.yaml").read_text() + "steps: [10_ingest, 20_rfm_clustering]\n")
    env = {**os.environ, "PARAMS": "params/ci_short.yaml", "QUARTER": "2026Q3"}
    script = "\n".join(job["script"])
    p = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=with_make(project), env=env,
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert (project / "review" / "2026Q3" / "index.html").exists()
    assert job["artifacts"]["paths"] == ["review/", "reports/.failed/"]
