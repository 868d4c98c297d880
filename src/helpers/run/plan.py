"""Planning a run: the parameters, the steps to execute, their notebooks and their parameter check.

Nothing here executes a notebook or writes into ``reports/``: a :class:`Plan` is everything the
runner decided before it starts (design.md §4, step 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
import papermill as pm
from pydantic import ValidationError

from helpers.frame.errors import ParameterError, RunError
from helpers.frame.registry import STEP_MODELS
from helpers.frame.registry import needs as step_needs
from helpers.frame.settings import RunConfig, load_config, parameter_files, project_root, validation_message

__all__ = ["Plan", "plan_run", "plan_quarter", "select_steps", "load_notebook", "check_notebook_parameters",
           "write_notebooks", "describe_files", "with_quarter"]


@dataclass(frozen=True)
class Plan:
    """What one quarter's run will do.

    Attributes
    ----------
    params_file : Path
        The parameters file as given on the command line.
    files : list of Path
        The parameters files merged, base first (``params/base.yaml``, ..., ``params_file``).
    config : RunConfig
        The merged, validated parameters (with ``--quarter`` applied).
    steps : list of str
        The steps to execute, in pipeline order.
    needs : dict
        Step -> the steps of this run it waits for (:func:`helpers.frame.registry.needs`).
    partial : bool
        ``--only`` / ``--from``: an already rendered quarter is updated, its other artifacts reused.
    root, reports, final : Path
        The project root, ``<root>/<reports_dir>`` and ``<reports>/<quarter>``.
    notebooks : dict
        Step -> its notebook, read from ``notebooks/<step>.py``.
    """

    params_file: Path
    files: list[Path]
    config: RunConfig
    steps: list[str]
    needs: dict[str, tuple[str, ...]]
    partial: bool
    root: Path
    reports: Path
    final: Path
    notebooks: dict[str, nbformat.NotebookNode]

    @property
    def quarter(self) -> str:
        """The quarter under review."""
        return self.config.quarter


def select_steps(steps: list[str], only: str | None = None, from_step: str | None = None) -> list[str]:
    """The steps to execute: all configured ones, one (``only``) or those from one on (``from_step``)."""
    if only and from_step:
        raise RunError("use either --only or --from, not both")
    for name, val in (("--only", only), ("--from", from_step)):
        if val and val not in steps:
            raise RunError(f"{name} {val!r} is not a step of this run; steps: {', '.join(steps)}")
    if only:
        return [only]
    if from_step:
        return steps[steps.index(from_step):]
    return list(steps)


def load_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a jupytext ``py:percent`` notebook and make sure it names the ``python3`` kernel."""
    if not path.is_file():
        raise RunError(f"notebook {path} does not exist")
    nb = jupytext.read(path, fmt="py:percent")
    for i, cell in enumerate(nb.cells):  # stable ids: the same notebook renders the same HTML
        cell["id"] = f"{path.stem}-{i:03d}"
    ks = nb.metadata.get("kernelspec", {})
    if ks.get("name") != "python3":
        raise RunError(f"{path} must declare the python3 kernel in its jupytext header (has {ks.get('name')!r})")
    return nb


def check_notebook_parameters(step: str, ipynb: Path) -> None:
    """The notebook's ``parameters`` cell must define exactly the fields of its step model."""
    found = set(pm.inspect_notebook(str(ipynb)))
    wanted = set(STEP_MODELS[step].model_fields)
    if found != wanted:
        raise RunError(
            f"notebook {step}: its parameters cell does not match helpers.frame.settings."
            f"{STEP_MODELS[step].__name__}: missing {sorted(wanted - found) or 'none'}, "
            f"unexpected {sorted(found - wanted) or 'none'}")


def write_notebooks(notebooks: dict[str, nbformat.NotebookNode], folder: Path) -> dict[str, Path]:
    """Write each notebook as ``<folder>/<step>.ipynb`` (what papermill executes) and check its
    parameters cell against its model; returns step -> file."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for s, nb in notebooks.items():
        out[s] = folder / f"{s}.ipynb"
        nbformat.write(nb, out[s])
        check_notebook_parameters(s, out[s])
    return out


def describe_files(files: list[Path], root: Path | None = None) -> str:
    """``params/ci.yaml over params/base.yaml``: the parameters files used, the given one first."""
    root = root or project_root()

    def show(p: Path) -> str:
        p = Path(p).resolve()
        return str(p.relative_to(root)) if p.is_relative_to(root) else str(p)

    given, *bases = reversed(files)
    return show(given) + (f" over {' over '.join(show(b) for b in bases)}" if bases else "")


def with_quarter(config: RunConfig, quarter: str | None) -> RunConfig:
    """``config`` for another quarter (``--quarter``); ``None`` keeps the file's.

    Raises
    ------
    ParameterError
        ``quarter`` is not a quarter (``YYYYQn``).
    """
    if quarter is None or quarter == config.quarter:
        return config
    try:
        return config.replace(quarter=quarter)
    except ValidationError as e:
        raise ParameterError(validation_message(e, RunConfig, f"--quarter {quarter}")) from None


def plan_quarter(params_file: str | Path, config: RunConfig, files: list[Path], *, only: str | None = None,
                 from_step: str | None = None, force: bool = False) -> Plan:
    """The plan of one quarter whose parameters are already loaded (``config``); see :func:`plan_run`."""
    root = project_root()
    steps = select_steps(config.steps, only, from_step)
    partial = bool(only or from_step)
    reports = root / config.reports_dir
    final = reports / config.quarter
    if final.exists() and not partial and not force:
        raise RunError(f"{final} already exists; nothing was changed. Re-run with --force to replace it, "
                       "or use --only/--from to update some steps")
    if partial and not (final / "artifacts" / "ingest.json").exists():
        raise RunError(f"--only/--from update a rendered quarter, and {final} has none; run the whole quarter first")
    notebooks = {s: load_notebook(root / "notebooks" / f"{s}.py") for s in steps}
    return Plan(params_file=Path(params_file), files=files, config=config, steps=steps,
                needs={s: step_needs(s, steps) for s in steps}, partial=partial, root=root, reports=reports,
                final=final, notebooks=notebooks)


def plan_run(params_file: str | Path, *, only: str | None = None, from_step: str | None = None,
             force: bool = False, quarter: str | None = None) -> Plan:
    """Load and validate the parameters, choose the steps, read their notebooks.

    Parameters
    ----------
    params_file : str or Path
        The quarter's parameters (merged over ``params/base.yaml`` or the base it names).
    only, from_step : str, optional
        Re-run one step, or the steps from one on, of an already rendered quarter.
    force : bool
        Replace an existing quarter on a full run.
    quarter : str, optional
        Render this quarter instead of the file's ``quarter:``.

    Raises
    ------
    ParameterError
        Bad parameters (before anything runs).
    RunError
        The quarter exists (full run without ``force``), or is missing (``only``/``from_step``), or a
        step or notebook is unknown.
    """
    config = with_quarter(load_config(params_file), quarter)
    return plan_quarter(params_file, config, parameter_files(params_file), only=only, from_step=from_step,
                        force=force)
