"""Benchmark: ingestion (read + clean + validate) of demo-style exports at several sizes.

Usage: .venv/bin/python benchmarks/bench_ingest.py [N_CUSTOMERS ...]
Each size runs in a fresh subprocess so the peak resident memory (ru_maxrss) is its own.
Prints a Markdown table: customers, order lines, clean orders, seconds (generate excluded), peak MB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, os, resource, sys, time
from dataclasses import replace
from pathlib import Path
root = Path(sys.argv[1]); n = int(sys.argv[2])
(root / "params").mkdir(parents=True, exist_ok=True)
(root / "params" / "base.yaml").write_text(Path(sys.argv[3]).read_text())
os.environ["SEGREVIEW_ROOT"] = str(root)
from helpers.demo.generator import DemoSpec, write_demo
from helpers.frame import settings as params
from helpers.ingest import step as ingest
write_demo(root / "data" / "demo", replace(DemoSpec(), n_customers=n))
cfg = params.load_config(root / "params" / "base.yaml")
p = params.IngestParams.model_validate(params.step_parameters(cfg, "10_ingest", root / "run"))
t = time.perf_counter()
r = ingest.run_ingest(p)
sec = time.perf_counter() - t
print(json.dumps({"customers": n, "lines": r.summary["sources"]["orders"]["rows_read"],
                  "orders": r.summary["orders"], "seconds": round(sec, 2),
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def main(sizes: list[int]) -> None:
    base = Path(__file__).resolve().parents[1] / "params" / "base.yaml"
    print("| customers | order lines | clean orders | seconds | peak MB (incl. generation) |")
    print("|---:|---:|---:|---:|---:|")
    for n in sizes:
        with tempfile.TemporaryDirectory() as d:
            out = subprocess.run([sys.executable, "-c", CHILD, d, str(n), str(base)], capture_output=True,
                                 text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {r['customers']:,} | {r['lines']:,} | {r['orders']:,} | {r['seconds']:.2f} | {r['peak_mb']:,} |",
                  flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [20_000, 100_000, 400_000])
