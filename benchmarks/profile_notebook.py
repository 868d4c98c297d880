"""Profile one step of a rendered quarter in this process: where its CPU goes.

Usage:
    .venv/bin/python benchmarks/profile_notebook.py QUARTER_DIR STEP [--out FILE.prof] [--top 30] [--threads 1]

Runs the code cells of ``QUARTER_DIR/executed/STEP.ipynb`` (the notebook as the run executed it, its
injected parameters included) in this process, reading and writing a copy of the quarter's artifacts (a
temporary folder; the quarter itself is not touched), under cProfile; prints the wall time, the CPU seconds
of the process (user and system: on this two-core machine the whole review is CPU-bound, so CPU seconds
are what a change saves) and its peak memory, then the helpers' functions by cumulative time. Figures go
to matplotlib's Agg backend and ``display`` is a no-op, so page rendering is not counted.

Example (the 1M quarter of ``bench_review.py``):
    .venv/bin/python benchmarks/profile_notebook.py benchmarks/reports/review_1000000/2026Q3 30_clv
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def notebook_code(path: Path) -> str:
    """The code cells of an executed notebook, magics left out."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            src = "".join(c["source"])
            cells.append("\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))))
    return "\n\n".join(cells)


def main(argv: list[str] | None = None) -> None:
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("quarter_dir", type=Path)
    a.add_argument("step")
    a.add_argument("--out", type=Path, default=None, help="keep the profile (pstats file)")
    a.add_argument("--top", type=int, default=30)
    a.add_argument("--threads", type=int, default=1,
                   help="OpenMP/BLAS threads (default 1: what a run gives each of two notebooks on two cores)")
    args = a.parse_args(argv)
    import os
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):   # before numpy is imported
        os.environ[v] = str(args.threads)
    import matplotlib
    matplotlib.use("Agg")
    code = notebook_code(args.quarter_dir / "executed" / f"{args.step}.ipynb")
    with tempfile.TemporaryDirectory(prefix="segreview-profile-") as d:
        copy = Path(d) / args.quarter_dir.name
        shutil.copytree(args.quarter_dir, copy)
        # the run's own folder (a temporary one, gone since) -> the copy
        code = re.sub(r'^run_dir = ".*"$', f'run_dir = "{copy}"', code, flags=re.M)
        prof = cProfile.Profile()
        g = {"__name__": "__main__", "display": lambda *x, **k: None}
        t = time.perf_counter()
        prof.enable()
        exec(compile(code, f"{args.step}.ipynb", "exec"), g)
        prof.disable()
        wall = time.perf_counter() - t
    r = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{args.step}: wall {wall:.1f} s, CPU {r.ru_utime:.1f} s user + {r.ru_stime:.1f} s system, "
          f"peak {r.ru_maxrss / 1024:,.0f} MB")
    if args.out:
        prof.dump_stats(args.out)
    pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(r"/helpers/", args.top)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
