"""The ``segreview`` command line.

``segreview run --params params/2026Q3.yaml [--only STEP | --from STEP] [--force] [--jobs N]``
``segreview demo-data [--out data/demo] [--customers 20000] [--seed N] [--force]``
``segreview check --params FILE``  (validate parameters and notebooks, run nothing)

Errors caused by inputs or parameters are printed as one clear message (no traceback) and the
exit code is 2 for parameters, 1 for everything else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helpers.frame.errors import ParameterError, SegreviewError

__all__ = ['main']


class _Console:
    """Lines for events; on a terminal the current cell overwrites one status line, elsewhere
    (CI logs, pipes) every cell start is a line of its own."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.open = False

    def log(self, s: str) -> None:
        if self.open:
            sys.stdout.write("\r\033[K")
            self.open = False
        print(s, flush=True)

    def status(self, s: str) -> None:
        if not self.tty:
            print(s, flush=True)
            return
        import shutil
        width = shutil.get_terminal_size((100, 20)).columns - 1
        sys.stdout.write("\r\033[K" + s[:width])
        sys.stdout.flush()
        self.open = True


def _cmd_run(a: argparse.Namespace) -> int:
    from helpers.run.runner import run
    con = _Console()
    try:
        index = run(a.params, only=a.only, from_step=a.from_step, force=a.force, log=con.log, status=con.status,
                    jobs=a.jobs)
    finally:
        if con.open:
            sys.stdout.write("\n")
    print(f"report: {index}")
    return 0


def _cmd_demo(a: argparse.Namespace) -> int:
    from dataclasses import replace

    from helpers.demo.generator import DemoSpec, write_demo
    from helpers.frame.settings import project_root
    spec = DemoSpec()
    if a.customers:
        spec = replace(spec, n_customers=a.customers)
    if a.seed is not None:
        spec = replace(spec, seed=a.seed)
    out = Path(a.out)
    out = out if out.is_absolute() else project_root() / out
    write_demo(out, spec, overwrite=a.force)
    print(f"demo data in {out}")
    return 0


def _cmd_check(a: argparse.Namespace) -> int:
    import tempfile

    import nbformat

    from helpers.frame.settings import load_config, project_root
    from helpers.run.runner import check_notebook_parameters, load_notebook
    cfg = load_config(a.params)
    with tempfile.TemporaryDirectory() as d:
        for s in cfg.steps:
            nb = load_notebook(project_root() / "notebooks" / f"{s}.py")
            p = Path(d) / f"{s}.ipynb"
            nbformat.write(nb, p)
            check_notebook_parameters(s, p)
    print(f"{a.params}: parameters valid; notebooks {', '.join(cfg.steps)} match their models")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``segreview`` console script."""
    ap = argparse.ArgumentParser(prog="segreview", description="Quarterly customer-segmentation review")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="execute and render a quarter's review")
    r.add_argument("--params", required=True, help="parameters file, e.g. params/demo.yaml")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--only", metavar="STEP", help="re-run one step of a rendered quarter")
    g.add_argument("--from", dest="from_step", metavar="STEP", help="re-run from this step on")
    r.add_argument("--force", action="store_true", help="replace an existing quarter")
    r.add_argument("--jobs", type=int, default=2, metavar="N",
                   help="notebooks run side by side when they do not need each other's results (default 2; "
                        "1 runs them one after the other)")
    r.set_defaults(fn=_cmd_run)
    d = sub.add_parser("demo-data", help="generate the seeded demo CRM export")
    d.add_argument("--out", default="data/demo")
    d.add_argument("--customers", type=int, default=None)
    d.add_argument("--seed", type=int, default=None)
    d.add_argument("--force", action="store_true", help="regenerate even if present")
    d.set_defaults(fn=_cmd_demo)
    c = sub.add_parser("check", help="validate a parameters file and the notebooks, run nothing")
    c.add_argument("--params", required=True)
    c.set_defaults(fn=_cmd_check)
    a = ap.parse_args(argv)
    try:
        return a.fn(a)
    except ParameterError as e:
        print(f"segreview: error: {e}", file=sys.stderr)
        return 2
    except SegreviewError as e:
        print(f"segreview: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("segreview: interrupted; nothing was published", file=sys.stderr)
        return 130
    except BaseException as e:  # SIGTERM during a run (helpers.run.runner.Interrupted)
        if type(e).__name__ == "Interrupted":
            print("segreview: terminated; nothing was published, the previous report is unchanged", file=sys.stderr)
            return 143
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
