"""Benchmark: `segreview backfill` of eight demo quarters against `segreview run` of one.

Usage:
    .venv/bin/python benchmarks/bench_backfill.py [--first 2024Q4] [--last 2026Q3] [--jobs 2] [--no-fresh]

The demo export (`data/demo/`, generated with `segreview demo-data` when missing) is rendered, each
time into an empty reports folder under `benchmarks/reports/backfill/` (the parameters are
`params/demo.yaml` with that `reports_dir`):

1. one quarter, the last of the range: `segreview run --params P --quarter LAST`;
2. every quarter of the range: `segreview backfill --params P --from FIRST --to LAST` (kernels kept
   for the same step of the next quarter);
3. the same with `--fresh-kernels` (a new kernel for every notebook), unless `--no-fresh`;
4. the one quarter again (the machine's speed drifts: the ratio uses the mean of 1 and 4).

Printed: wall seconds, CPU seconds of the command and its kernels (user + system, from
`getrusage` of the finished children), peak resident memory of all the command's processes together
(sampled every 0.2 s), and the machine speed check of `bench_review.py` (scipy's hyp2f1 on 10M
values, one core) before and after. Target (issue 20): eight quarters in under 3x the time of one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml
from bench_review import _tree_rss, speed_check

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
SEGREVIEW = str(ROOT / ".venv" / "bin" / "segreview")


def params(name: str) -> Path:
    """The demo's parameters, reporting into benchmarks/reports/backfill/<name>/."""
    p = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text())
    p["reports_dir"] = f"benchmarks/reports/backfill/{name}"
    out = BENCH / "params" / f"backfill-{name}.yaml"
    out.parent.mkdir(exist_ok=True)
    out.write_text(yaml.safe_dump(p, sort_keys=False))
    shutil.rmtree(ROOT / p["reports_dir"], ignore_errors=True)
    return out


def measure(name: str, args: list[str]) -> dict:
    """Run `segreview <args>` with a fresh reports folder: wall and CPU seconds, peak memory."""
    import psutil
    pfile = params(name)
    cmd = [SEGREVIEW, *args[:1], "--params", str(pfile), *args[1:]]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, stop = [0], threading.Event()

    def sample() -> None:
        p = psutil.Process(proc.pid)
        while not stop.wait(0.2):
            peak[0] = max(peak[0], _tree_rss(p))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t
    stop.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    reports = ROOT / "benchmarks" / "reports" / "backfill" / name
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "command.log").write_text(out + err)
    if proc.returncode:
        sys.exit(f"{name}: `{' '.join(cmd)}` failed (exit {proc.returncode}); see {reports / 'command.log'}\n"
                 f"{err[-3000:]}")
    quarters = sorted(d.name for d in reports.iterdir() if d.is_dir() and (d / "run.json").exists())
    kernels = next((ln for ln in out.splitlines() if " notebooks on " in ln), "")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    orders = [json.loads((reports / q / "artifacts" / "ingest.json").read_text())["orders"] for q in quarters]
    print(f"  {name}: {wall:.1f} s wall, {cpu:.1f} s CPU, {len(quarters)} quarter(s) {kernels}", flush=True)
    return {"name": name, "wall": wall, "cpu": cpu, "peak_mb": peak[0] / 2**20, "quarters": quarters,
            "orders": orders, "kernels": kernels}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first", default="2024Q4")
    ap.add_argument("--last", default="2026Q3")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-fresh", action="store_true", help="skip the backfill with a fresh kernel per notebook")
    a = ap.parse_args()
    if not (ROOT / "data" / "demo" / "orders.parquet").exists():
        subprocess.run([SEGREVIEW, "demo-data", "--out", "data/demo"], cwd=ROOT, check=True)
    jobs = ["--jobs", str(a.jobs)]
    speed = [speed_check()]
    rows = [measure("one-quarter", ["run", "--quarter", a.last, *jobs])]
    rows.append(measure("backfill", ["backfill", "--from", a.first, "--to", a.last, *jobs]))
    if not a.no_fresh:
        rows.append(measure("backfill-fresh-kernels", ["backfill", "--from", a.first, "--to", a.last, *jobs,
                                                       "--fresh-kernels"]))
    rows.append(measure("one-quarter-again", ["run", "--quarter", a.last, *jobs]))
    speed.append(speed_check())
    one = [r for r in rows if r["name"].startswith("one-quarter")]
    one_wall = sum(r["wall"] for r in one) / len(one)
    one_cpu = sum(r["cpu"] for r in one) / len(one)
    print()
    print("| command | quarters | clean orders (all quarters) | wall (s) | x one quarter | CPU (s) | x one quarter "
          "| peak RSS, all processes (MB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['name']} | {len(r['quarters'])} | {sum(r['orders']):,} | {r['wall']:.1f} | "
              f"{r['wall'] / one_wall:.2f} | {r['cpu']:.1f} | {r['cpu'] / one_cpu:.2f} | {r['peak_mb']:,.0f} |")
    for r in rows:
        if r["kernels"]:
            print(f"{r['name']}: {r['kernels']}")
    print(f"machine speed check (hyp2f1, 10M values, one core): {speed[0]:.2f} s before, {speed[1]:.2f} s after")
    print(f"cores: {len(os.sched_getaffinity(0))}; load average at the end: "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
