"""Benchmark: the whole quarterly review (`segreview run`, every notebook) at three sizes and the demo.

Usage (what `make bench` runs):
    .venv/bin/python benchmarks/bench_review.py [--sizes 20000 200000 1000000] [--no-demo]
                                                [--export DIR ...] [--ratio] [--duckdb-memory-limit 2GB]
                                                [--memory-budget 4000MiB]

For each size N the seeded demo generator (`helpers.demo.generator`, the same CRM export as the demo:
customers, experiments, dropout, seasonality, dirty rows) writes N customers with about ten orders
each (purchase rate four times the demo's: Gamma scale alpha 1.5 instead of 6) to
`benchmarks/data/review_<N>/` once; then
`/usr/bin/time -v segreview run` renders the quarter 2026Q3 into `benchmarks/reports/review_<N>/`.
Printed: seconds per notebook (from run.json, kernel start included) and when each ran (notebooks
that do not need each other run side by side, two at a time), HTML rendering, total, peak memory
(the largest process, from /usr/bin/time, and all of the run's processes together: the runner and
its kernels, sampled every 0.2 s as the sum of their resident set sizes), and the fixed overhead of one
notebook (kernel start and the notebooks' shared imports, cold and with the runner's pre-started
kernel, then one page rendered to HTML), measured on a notebook that does nothing else. The run's
progress lines go to `<reports>/run.log`.

`--export DIR` renders an export already written (e.g. `bench_scale.py`'s chunked demo export at 1M or
`make_orders.py`'s plain 42M-line order log at 5M; the tables present among orders / customers /
experiments are used). `--ratio`: after each run, the per-customer summary of the CLV backtest
(Ibis) against the hand-written DuckDB query, on that run's clean orders, best of three alternating
runs in one process (`bench_scale.py`'s `aggregation` component; issue 21: at most 1.25x).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
STEPS = ["10_ingest", "20_rfm_clustering", "30_clv", "40_churn", "50_ab_evaluation", "60_quarterly_review"]


def make_data(n: int) -> Path:
    """The demo export at ``n`` customers, about ten orders each (written once, seeded)."""
    from helpers.demo.generator import DemoSpec, write_demo
    out = BENCH / "data" / f"review_{n}"
    if not (out / "orders.parquet").exists():
        t = time.perf_counter()
        write_demo(out, replace(DemoSpec(), n_customers=n, alpha=1.5), overwrite=True)
        print(f"generated {out.relative_to(ROOT)} in {time.perf_counter() - t:.0f} s", flush=True)
    return out


#: ``--memory-budget``: passed to ``segreview run``
MEMORY_BUDGET: str | None = None

#: ``--duckdb-memory-limit``: overrides base.yaml's ``duckdb.memory_limit`` in the benchmark's copy
DUCKDB_MEMORY_LIMIT: str | None = None


def params_file(name: str, data: Path | None) -> Path:
    """A quarter's parameters over the project's base.yaml, reporting into benchmarks/reports/<name>/."""
    pdir = BENCH / "params"
    pdir.mkdir(exist_ok=True)
    shutil.copy(ROOT / "params" / "base.yaml", pdir / "base.yaml")
    if DUCKDB_MEMORY_LIMIT is not None:
        base = yaml.safe_load((pdir / "base.yaml").read_text())
        base["duckdb"]["memory_limit"] = DUCKDB_MEMORY_LIMIT
        (pdir / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False, allow_unicode=True))
    p = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text())
    p["reports_dir"] = f"benchmarks/reports/{name}"
    if data is not None:
        rel = data.relative_to(ROOT)
        p["company"] = f"Benchmark {name}"
        p["sources"] = {k: {"path": str(rel / f"{k}.parquet")} if (data / f"{k}.parquet").exists() else None
                        for k in ("orders", "customers", "experiments")}
    f = pdir / f"{name}.yaml"
    f.write_text(yaml.safe_dump(p, sort_keys=False))
    return f


def _tree_rss(proc) -> int:
    """Resident bytes of a process and all its descendants (shared pages counted in each)."""
    import psutil
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _rss_by_role(proc) -> dict[str, int]:
    """Resident bytes of a run's processes by role: each notebook kernel under the step it was
    started for (its progress file, ``SEGREVIEW_PROGRESS``, names the step; a kernel started ahead
    counts under its step before its notebook starts), ``runner`` for the rest (the runner, /usr/bin/time)."""
    import psutil
    out: dict[str, int] = {}
    for p in [proc, *proc.children(recursive=True)]:
        try:
            rss = p.memory_info().rss
            role = "runner"
            if "ipykernel_launcher" in " ".join(p.cmdline()):
                prog = p.environ().get("SEGREVIEW_PROGRESS", "")
                role = Path(prog).stem if prog else "kernel"
        except psutil.Error:
            continue
        out[role] = out.get(role, 0) + rss
    return out


def run_review(name: str, pfile: Path) -> dict:
    """`/usr/bin/time -v segreview run` of one quarter: run.json seconds, wall time, peak RSS of the
    largest process and of all processes together."""
    import threading

    import psutil
    reports = BENCH / "reports" / name
    reports.mkdir(parents=True, exist_ok=True)
    cmd = ["/usr/bin/time", "-v", str(ROOT / ".venv/bin/segreview"), "run", "--params", str(pfile), "--force"]
    if MEMORY_BUDGET is not None:
        cmd += ["--memory-budget", MEMORY_BUDGET]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_sum = [0]
    at_peak: list[dict[str, float]] = [{}]
    by_step: dict[str, float] = {}
    by_phase: dict[str, float] = {}  # the processes alive (by role) -> peak of their sum
    stop = threading.Event()

    def sample() -> None:
        p = psutil.Process(proc.pid)
        while not stop.wait(0.2):
            parts = _rss_by_role(p)
            total = sum(parts.values())
            for role, rss in parts.items():
                by_step[role] = max(by_step.get(role, 0.0), rss)
            if total > peak_sum[0]:
                peak_sum[0], at_peak[0] = total, parts
            phase = " + ".join(sorted(r for r in parts if r != "runner"))
            by_phase[phase] = max(by_phase.get(phase, 0.0), total)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t
    stop.set()
    sampler.join()
    (reports / "run.log").write_text(stdout + stderr)
    if proc.returncode:
        sys.exit(f"{name}: segreview run failed (exit {proc.returncode}); see {reports / 'run.log'}\n{stderr[-3000:]}")
    peak = next(int(ln.split(":")[1]) / 1024 for ln in stderr.splitlines() if "Maximum resident set size" in ln)
    run = json.loads((reports / "2026Q3" / "run.json").read_text())
    ingest = json.loads((reports / "2026Q3" / "artifacts" / "ingest.json").read_text())
    return {"name": name, "orders": ingest["orders"], "customers": ingest["customers_with_orders"],
            "seconds": run["seconds"], "timeline": run["timeline"]["steps"], "wall": wall, "peak_mb": peak,
            "peak_sum_mb": peak_sum[0] / 2**20,
            "peak_by_process_mb": {k: v / 2**20 for k, v in by_step.items()},
            "at_peak_mb": {k: v / 2**20 for k, v in at_peak[0].items()},
            "peak_by_phase_mb": {k: v / 2**20 for k, v in by_phase.items()}}


OVERHEAD_NB = '''# %% tags=["parameters"]
quarter = "2026Q3"

# %%
from IPython.display import Markdown, display

from helpers import frame, page

page.setup_style()
display(Markdown("nothing else"))
'''


def overhead(repeats: int = 3) -> dict:
    """Per-notebook fixed costs, on a notebook that only imports the shared modules.

    cold: kernel start + imports + execution through papermill, as without pre-started kernels;
    warm: the same once the runner's pre-started kernel has done its imports (what a notebook of a
    run pays, the start and imports having overlapped with the previous notebook);
    render: one page to HTML.
    """
    import jupytext
    import nbformat
    import papermill as pm

    from helpers.run.execute import WarmKernel
    from helpers.run.render import render_page
    cold, warm, renders = [], [], []
    with tempfile.TemporaryDirectory() as d:
        nb = jupytext.reads(OVERHEAD_NB, fmt="py:percent")
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        src, out = Path(d) / "nb.ipynb", Path(d) / "out.ipynb"
        nbformat.write(nb, src)
        for _ in range(repeats):
            t = time.perf_counter()
            pm.execute_notebook(str(src), str(out), kernel_name="python3", cwd=str(ROOT), progress_bar=False,
                                engine_name="segreview")
            cold.append(time.perf_counter() - t)
            k = WarmKernel("overhead", nb, ROOT, dict(os.environ))
            km = k.ready()
            t = time.perf_counter()
            pm.execute_notebook(str(src), str(out), kernel_name="python3", cwd=str(ROOT), progress_bar=False,
                                engine_name="segreview", km=km)
            warm.append(time.perf_counter() - t)
            k.close()
            t = time.perf_counter()
            render_page(nbformat.read(out, as_version=4), Path(d) / "page.html", "10_ingest", ["10_ingest"],
                        "title", "subtitle", "footer")
            renders.append(time.perf_counter() - t)
    return {"cold": statistics.median(cold), "warm": statistics.median(warm), "render": statistics.median(renders)}


def ratio(name: str) -> dict:
    """Ibis / hand-written DuckDB per-customer summary on the clean orders of run ``name`` (its own process)."""
    sys.path.insert(0, str(BENCH))
    import bench_scale
    d = BENCH / "data" / f"ratio_{name}"
    d.mkdir(parents=True, exist_ok=True)
    link = d / "clean_engine.parquet"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(BENCH / "reports" / name / "2026Q3" / "artifacts" / "orders.parquet")
    return bench_scale.component("aggregation", d, None)


def speed_check() -> float:
    """Seconds for 10M evaluations of scipy's hyp2f1 on one core: this VM's speed drifts by 15-25%
    within the hour, so every table says how fast the machine was (about 3.6 s fast, 4.3 s slow)."""
    import numpy as np
    from scipy.special import hyp2f1
    x = np.linspace(0.01, 0.9, 10_000_000)
    t = time.perf_counter()
    hyp2f1(1.5, 2.5, 3.5, x)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[20_000, 200_000, 1_000_000])
    ap.add_argument("--no-demo", action="store_true")
    ap.add_argument("--export", type=Path, nargs="*", default=[], help="render these export folders too")
    ap.add_argument("--ratio", action="store_true", help="Ibis / hand-written SQL ratio after each run")
    ap.add_argument("--duckdb-memory-limit", default=None,
                    help="each kernel's DuckDB memory limit (default: base.yaml's duckdb.memory_limit)")
    ap.add_argument("--memory-budget", default=None, metavar="SIZE",
                    help="`segreview run --memory-budget SIZE` (kernels started ahead only within it)")
    a = ap.parse_args()
    global DUCKDB_MEMORY_LIMIT, MEMORY_BUDGET
    DUCKDB_MEMORY_LIMIT = a.duckdb_memory_limit
    MEMORY_BUDGET = a.memory_budget
    if not Path("/usr/bin/time").exists():
        sys.exit("/usr/bin/time is needed for peak memory (Debian package `time`)")
    speed = [speed_check()]
    rows = []
    if not a.no_demo:
        print("demo quarter ...", flush=True)
        rows.append(run_review("demo", params_file("demo", None)))
    for n in a.sizes:
        data = make_data(n)
        print(f"{n:,} customers ...", flush=True)
        rows.append(run_review(f"review_{n}", params_file(f"review_{n}", data)))
        if a.ratio:
            rows[-1]["ratio"] = ratio(f"review_{n}")
    for data in a.export:
        data = data.resolve()
        name = f"export_{data.name}"
        print(f"{data.relative_to(ROOT)} ...", flush=True)
        rows.append(run_review(name, params_file(name, data)))
        if a.ratio:
            rows[-1]["ratio"] = ratio(name)
    oh = overhead()
    speed.append(speed_check())
    print()
    print(
        "| | "
        + " | ".join("demo quarter" if r["name"] == "demo" else f"{r['customers']:,} customers" for r in rows)
        + " |"
    )
    print("|---|" + "---:|" * len(rows))
    print("| orders (clean) | " + " | ".join(f"{r['orders']:,}" for r in rows) + " |")
    for s in [*STEPS, "render_html"]:
        print(f"| {s} (s) | " + " | ".join(f"{r['seconds'].get(s, float('nan')):.1f}" for r in rows) + " |")
    print("| **total, run.json (s)** | " + " | ".join(f"**{r['seconds']['total']:.1f}**" for r in rows) + " |")
    print("| wall time of the command (s) | " + " | ".join(f"{r['wall']:.1f}" for r in rows) + " |")
    print("| peak RSS, largest process (MB) | " + " | ".join(f"{r['peak_mb']:,.0f}" for r in rows) + " |")
    print("| peak RSS, all processes together (MB) | " + " | ".join(f"{r['peak_sum_mb']:,.0f}" for r in rows) + " |")
    for r in rows:
        print(f"peak RSS of each process at {r['name']} (MB): "
              + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(r["peak_by_process_mb"].items())))
        print(f"the processes at the moment of the all-processes peak at {r['name']} (MB): "
              + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(r["at_peak_mb"].items())))
        print(f"peak of all processes while these kernels were alive at {r['name']} (MB; runner included): "
              + "; ".join(f"{k or 'runner only'}: {v:,.0f}" for k, v in r["peak_by_phase_mb"].items()))
    if a.ratio:
        print("| per-customer summary, Ibis, best of 3 (s) | "
              + " | ".join(f"{r['ratio']['seconds']:.1f}" for r in rows if "ratio" in r) + " |")
        print("| per-customer summary, hand-written DuckDB SQL, best of 3 (s) | "
              + " | ".join(f"{r['ratio']['sql_s']:.1f}" for r in rows if "ratio" in r) + " |")
        print("| **ratio Ibis / hand-written SQL** | "
              + " | ".join(f"**{r['ratio']['ratio']:.2f}x**" for r in rows if "ratio" in r) + " |")
        for r in rows:
            if "ratio" in r:
                print(f"aggregation at {r['name']}: Ibis {[round(x, 2) for x in r['ratio']['ibis_all']]}, SQL "
                      f"{[round(x, 2) for x in r['ratio']['sql_all']]}, same result {r['ratio']['same_result']}")
    print()
    print("When each notebook ran (seconds from the start of the run, start-end):")
    print()
    print("| | " + " | ".join(r["name"] for r in rows) + " |")
    print("|---|" + "---:|" * len(rows))
    for s in STEPS:
        print(f"| {s} | " + " | ".join(f"{r['timeline'][s]['start']:.1f}-{r['timeline'][s]['end']:.1f}"
                                       if s in r["timeline"] else "" for r in rows) + " |")
    for r in rows:
        slow = max(STEPS, key=lambda s: r["seconds"].get(s, 0.0))
        print(f"slowest step at {r['name']}: {slow} ({r['seconds'][slow]:.1f} s)")
    print(f"fixed overhead per notebook (median of 3): cold kernel start + shared imports {oh['cold']:.2f} s; "
          f"with the runner's pre-started kernel {oh['warm']:.2f} s; one page to HTML {oh['render']:.2f} s; "
          f"a notebook of a run pays {oh['warm'] + oh['render']:.2f} s")
    print(f"machine speed check (hyp2f1, 10M values, one core): {speed[0]:.2f} s before, {speed[1]:.2f} s after")


if __name__ == "__main__":
    main()
