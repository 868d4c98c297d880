"""Benchmark: the real `segreview run` on a synthetic order log (seconds per notebook, peak RSS).

Usage: .venv/bin/python benchmarks/bench_pipeline.py benchmarks/data/orders_1m.parquet [STEP ...]
Writes a parameters file under benchmarks/params/ (orders only, the file's own columns), runs the
steps (default: 10_ingest 20_rfm_clustering) into benchmarks/reports/, and prints one table row
per step from run.json plus the peak RSS of the whole run (the runner and its kernels, from
/usr/bin/time when present, else the largest child as seen by getrusage).
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def main(orders: str, steps: list[str]) -> None:
    pdir = ROOT / "benchmarks" / "params"
    pdir.mkdir(exist_ok=True)
    shutil.copy(ROOT / "params" / "base.yaml", pdir / "base.yaml")
    name = Path(orders).stem
    rel = str(Path(orders).resolve().relative_to(ROOT))
    params = {
        "quarter": "2026Q3", "company": f"Benchmark {name}", "reports_dir": "benchmarks/reports",
        "steps": steps or ["10_ingest", "20_rfm_clustering"],
        "sources": {"orders": {"path": rel}, "customers": None, "experiments": None},
        "columns": {"orders": {"order_id": None, "quantity": None, "category": None, "channel": None,
                               "status": None, "discount": None}},
        "pii_columns": [],
    }
    pfile = pdir / f"{name}.yaml"
    pfile.write_text(yaml.safe_dump(params, sort_keys=False))
    t = time.perf_counter()
    cmd = [str(ROOT / ".venv/bin/segreview"), "run", "--params", str(pfile), "--force"]
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if timer:
        cmd = [timer, "-v", *cmd]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    total = time.perf_counter() - t
    if out.returncode:
        sys.exit(out.stderr[-2000:])
    peak = None
    for line in out.stderr.splitlines():
        if "Maximum resident set size" in line:
            peak = int(line.split(":")[1]) / 1024
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    run = json.loads((ROOT / "benchmarks" / "reports" / "2026Q3" / "run.json").read_text())
    ingest = json.loads((ROOT / "benchmarks" / "reports" / "2026Q3" / "artifacts" / "ingest.json").read_text())
    print(f"orders file {rel}: {ingest['orders']:,} orders, {ingest['customers_with_orders']:,} customers; "
          f"wall time of the command {total:.1f} s; peak RSS of the largest process {peak:,.0f} MB")
    print("| step | seconds |")
    print("|---|---:|")
    for k, v in run["seconds"].items():
        print(f"| {k} | {v:.1f} |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
