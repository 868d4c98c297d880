"""The ``segreview`` command line.

``segreview run --params FILE [--quarter Q] [--only STEP | --from STEP] [--force] [--jobs N] [--memory-budget SIZE]``
``segreview check --params FILE [--quarter Q]``  (parameters, notebooks and inputs; runs no notebook)
``segreview backfill --params FILE --from Q --to Q [--force] [--jobs N] [--memory-budget SIZE] [--fresh-kernels]``
``segreview quarter [--date YYYY-MM-DD] [--lag-days N]``  (the quarter that closed most recently)
``segreview demo-data [--out data/demo] [--customers 20000] [--seed N] [--language en|zh-CN] [--force]``

Errors caused by inputs or parameters are printed as one clear message (no traceback). Exit codes:
0 done, 1 an input or run error, 2 a parameter error, 130 Ctrl-C, 143 terminated (SIGTERM). Under
GitHub Actions (``GITHUB_ACTIONS=true``) the message is also written as an ``::error::`` annotation,
so that it shows on the workflow run's summary page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
from pathlib import Path

from helpers.frame.errors import ParameterError, SegreviewError
from helpers.run.interrupt import Interrupted

__all__ = ["main", "parser"]


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
        width = shutil.get_terminal_size((100, 20)).columns - 1
        sys.stdout.write("\r\033[K" + s[:width])
        sys.stdout.flush()
        self.open = True

    def close(self) -> None:
        if self.open:
            sys.stdout.write("\n")
            self.open = False


def _cmd_run(a: argparse.Namespace) -> int:
    from helpers.run.runner import run
    con = _Console()
    try:
        index = run(a.params, only=a.only, from_step=a.from_step, force=a.force, log=con.log, status=con.status,
                    jobs=a.jobs, quarter=a.quarter, memory_budget=a.memory_budget)
    finally:
        con.close()
    print(f"report: {index}")
    return 0


def _cmd_check(a: argparse.Namespace) -> int:
    from helpers.run.check import check
    report = check(a.params, quarter=a.quarter, log=lambda line: print(line, flush=True))
    for line in report.lines():
        print(line)
    more = f" --quarter {a.quarter}" if a.quarter else ""
    print(f"ready: `segreview run --params {a.params}{more}` renders {report.reports.name}/{report.quarter}/")
    return 0


def _cmd_backfill(a: argparse.Namespace) -> int:
    from helpers.run.backfill import backfill, summary
    con = _Console()
    try:
        outcomes = backfill(a.params, a.first, a.last, force=a.force, jobs=a.jobs,
                            reuse_kernels=not a.fresh_kernels, log=con.log, status=con.status,
                            memory_budget=a.memory_budget)
    finally:
        con.close()
    for o in outcomes:
        if o.state == "failed":
            print(f"segreview: {o.quarter}: {o.error}", file=sys.stderr)
            _annotate(f"{o.quarter}: {o.error}")
    lines, code = summary(outcomes)
    print()
    for line in lines:
        print(line)
    return code


def _cmd_quarter(a: argparse.Namespace) -> int:
    from helpers.run.quarters import closed_quarter
    print(closed_quarter(a.date, a.lag_days))
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
    if a.language:
        spec = replace(spec, language=a.language)
    out = Path(a.out)
    out = out if out.is_absolute() else project_root() / out
    write_demo(out, spec, overwrite=a.force)
    print(f"demo data in {out}")
    return 0


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write it as YYYY-MM-DD") from None


def _size(text: str) -> int:
    """``--memory-budget``: a size such as 4GB or 512MB, in bytes (GB = 10**9, GiB = 2**30, as DuckDB counts)."""
    from helpers.run.execute import parse_size
    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def parser() -> argparse.ArgumentParser:
    """The command line's parser (the README's commands are checked against it)."""
    ap = argparse.ArgumentParser(prog="segreview", description="Quarterly customer-segmentation review")
    sub = ap.add_subparsers(dest="cmd", required=True)
    quarter_help = "render this quarter (YYYYQn) instead of the file's `quarter:`"

    r = sub.add_parser("run", help="execute and render a quarter's review")
    r.add_argument("--params", required=True, help="parameters file, e.g. params/demo.yaml")
    r.add_argument("--quarter", metavar="Q", help=quarter_help)
    g = r.add_mutually_exclusive_group()
    g.add_argument("--only", metavar="STEP", help="re-run one step of a rendered quarter")
    g.add_argument("--from", dest="from_step", metavar="STEP", help="re-run from this step on")
    r.add_argument("--force", action="store_true", help="replace an existing quarter")
    r.add_argument("--jobs", type=int, default=2, metavar="N",
                   help="notebooks run side by side when they do not need each other's results (default 2; "
                        "1 runs them one after the other)")
    r.add_argument("--memory-budget", type=_size, default=None, metavar="SIZE",
                   help="memory for all of the run's processes together (e.g. 4GB): kernels are started ahead "
                        "of their notebooks only while they fit in it (a few seconds slower); what a notebook "
                        "itself uses is bounded by duckdb.memory_limit in the parameters, not by this")
    r.set_defaults(fn=_cmd_run)

    c = sub.add_parser("check", help="check the parameters, the notebooks and the inputs; run no notebook")
    c.add_argument("--params", required=True)
    c.add_argument("--quarter", metavar="Q", help=quarter_help)
    c.set_defaults(fn=_cmd_check)

    b = sub.add_parser("backfill", help="render every quarter of a range from the same export")
    b.add_argument("--params", required=True, help="parameters file; its `quarter:` is replaced by each quarter")
    b.add_argument("--from", dest="first", required=True, metavar="Q", help="first quarter, e.g. 2025Q1")
    b.add_argument("--to", dest="last", required=True, metavar="Q", help="last quarter, e.g. 2026Q3")
    b.add_argument("--force", action="store_true", help="render quarters already rendered again (else skipped)")
    b.add_argument("--jobs", type=int, default=2, metavar="N", help="notebooks run at the same time (default 2)")
    b.add_argument("--memory-budget", type=_size, default=None, metavar="SIZE",
                   help="as for run: kernels are started ahead of their notebooks only while they fit in SIZE")
    b.add_argument("--fresh-kernels", action="store_true",
                   help="start a fresh kernel for every notebook instead of reusing one per step")
    b.set_defaults(fn=_cmd_backfill)

    q = sub.add_parser("quarter", help="print the quarter that closed most recently (for scheduled jobs)")
    q.add_argument("--date", type=_date, default=None, metavar="YYYY-MM-DD", help="as if today were this day")
    q.add_argument("--lag-days", type=int, default=0, metavar="N",
                   help="a quarter counts as closed N days after its last day (default 0)")
    q.set_defaults(fn=_cmd_quarter)

    d = sub.add_parser("demo-data", help="generate the seeded demo CRM export")
    d.add_argument("--out", default="data/demo")
    d.add_argument("--customers", type=int, default=None)
    d.add_argument("--seed", type=int, default=None)
    d.add_argument("--language", choices=["en", "zh-CN"], default=None,
                   help="zh-CN: a Chinese company's export (Chinese cities, categories, channels, names, mobile and "
                        "ID numbers; read it with params/demo_zh.yaml)")
    d.add_argument("--force", action="store_true", help="regenerate even if present")
    d.set_defaults(fn=_cmd_demo)
    return ap


def _annotate(message: str) -> None:
    """On GitHub Actions, repeat an error as a workflow annotation (newlines escaped as the runner wants)."""
    if os.environ.get("GITHUB_ACTIONS") == "true":
        text = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        print(f"::error title=segreview::{text}", flush=True)


def _error(message: str) -> None:
    print(f"segreview: error: {message}", file=sys.stderr, flush=True)
    _annotate(message)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``segreview`` console script."""
    a = parser().parse_args(argv)
    try:
        return a.fn(a)
    except ParameterError as e:
        _error(str(e))
        return 2
    except SegreviewError as e:
        _error(str(e))
        return 1
    except (KeyboardInterrupt, Interrupted) as e:
        what = "interrupted" if isinstance(e, KeyboardInterrupt) else "terminated"
        if a.cmd == "backfill":
            print(f"segreview: {what}; the quarters published before stay, the others are unchanged", file=sys.stderr)
        else:
            print(f"segreview: {what}; nothing was published, the previous report is unchanged", file=sys.stderr)
        return 130 if isinstance(e, KeyboardInterrupt) else 143


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
