"""Code the runner executes inside its kernels (silently: no output, no history, no name bound).

Kept in a module of its own, importing only the standard library, so that a kernel can call it
before and between notebooks without loading the runner (papermill, jupyter_client).
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

__all__ = ["warm", "reset"]


def warm(modules: list[str]) -> None:
    """Import ``modules`` (a notebook's imports and what its helpers load on first use), so that the
    notebook finds them loaded. A module that fails to import is left for the notebook to report."""
    for m in modules:
        try:
            importlib.import_module(m)
        except Exception:  # noqa: BLE001 - the notebook's own import shows the real error
            pass


def reset(cwd: str, environ: dict[str, str], modules: list[str], unset: list[str] | tuple[str, ...] = ()) -> None:
    """Make a kernel that has run a notebook look like a fresh one to the next notebook.

    The user namespace, the input/output history and the execution count are reset (the next
    notebook's cells are numbered 1, 2, ...); the project's own modules (``helpers.*``) are dropped and
    imported again, so that whatever state they keep (the page language, the segment order, the
    numbering of tables, caches) starts as in a fresh kernel; figures are closed, warnings shown once
    are shown again, ``cwd`` is the working directory again, ``environ`` is set (the next
    notebook's progress file; a kernel kept from an earlier run gets that run's whole environment)
    and the variables ``unset`` are removed (those of the earlier run's environment that this one's
    has not). The libraries stay loaded (pandas, scikit-learn, matplotlib, Ibis ...): that is what
    reusing the kernel saves. ``modules`` are the next notebook's imports (see :func:`warm`).
    """
    ip = sys.modules["IPython"].get_ipython()
    ip.reset(new_session=True)  # also sets execution_count to 1 and starts a new history session
    for name in [m for m in sys.modules if m == "helpers" or m.startswith("helpers.")]:
        del sys.modules[name]
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")
    warnings.onceregistry.clear()
    # per-module "already warned" registries are keyed on the filters' version: bumping it empties them
    getattr(warnings, "_filters_mutated", lambda: None)()
    os.chdir(cwd)
    os.environ.update(environ)
    for name in unset:
        os.environ.pop(name, None)
    warm(modules)
