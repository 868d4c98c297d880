"""Compare the artifacts of two rendered quarters: every JSON value and every Parquet/CSV table.

Used to show that a change of code left the results unchanged (or to list exactly what changed):

    python benchmarks/compare_artifacts.py OLD_QUARTER_DIR NEW_QUARTER_DIR [--rtol 1e-9]

Each argument is a rendered quarter (``reports/<quarter>/``) or its ``artifacts/`` folder. JSON files
are compared key by key (numbers with a relative tolerance); tables column by column. Keys, files or
columns present on one side only are listed too. The exit code is 0 when nothing differs.
``--map old=new`` says that an artifact was renamed or split (e.g. ``customer_scores`` compared
against the join of its per-step tables is done by the caller passing a prepared folder).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def _artifacts(p: Path) -> Path:
    return p / "artifacts" if (p / "artifacts").is_dir() else p


def compare_json(a, b, path: str, rtol: float, out: list[str]) -> None:
    """Append one line per difference between two JSON values to ``out``."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}.{k}: only in new ({_short(b[k])})")
            elif k not in b:
                out.append(f"{path}.{k}: only in old ({_short(a[k])})")
            else:
                compare_json(a[k], b[k], f"{path}.{k}", rtol, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: list of {len(a)} -> {len(b)}")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            compare_json(x, y, f"{path}[{i}]", rtol, out)
    elif isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        if not math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12):
            out.append(f"{path}: {a!r} -> {b!r}")
    elif a != b:
        out.append(f"{path}: {_short(a)} -> {_short(b)}")


def _short(v, n: int = 80) -> str:
    s = json.dumps(v, ensure_ascii=False, default=str)
    return s if len(s) <= n else s[: n - 1] + "…"


def compare_tables(a: pd.DataFrame, b: pd.DataFrame, name: str, rtol: float, out: list[str]) -> None:
    """Append the differences of two tables (rows, columns, values) to ``out``."""
    if len(a) != len(b):
        out.append(f"{name}: {len(a)} rows -> {len(b)} rows")
    for c in a.columns.difference(b.columns):
        out.append(f"{name}.{c}: column only in old")
    for c in b.columns.difference(a.columns):
        out.append(f"{name}.{c}: column only in new")
    if len(a) != len(b):
        return
    if "customer_id" in a.columns and "customer_id" in b.columns:
        a = a.sort_values("customer_id", kind="stable").reset_index(drop=True)
        b = b.sort_values("customer_id", kind="stable").reset_index(drop=True)
    for c in a.columns.intersection(b.columns):
        x, y = a[c], b[c]
        if pd.api.types.is_numeric_dtype(x.dtype) and pd.api.types.is_numeric_dtype(y.dtype) \
                and not pd.api.types.is_bool_dtype(x.dtype):
            xv, yv = x.to_numpy(float), y.to_numpy(float)
            same = np.isclose(xv, yv, rtol=rtol, atol=1e-9, equal_nan=True)
        else:
            same = (x.astype("string").fillna("<NA>").to_numpy() == y.astype("string").fillna("<NA>").to_numpy())
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            out.append(f"{name}.{c}: {int((~same).sum())} values differ, e.g. row {i}: {x.iloc[i]!r} -> {y.iloc[i]!r}")


def compare_dirs(old: Path, new: Path, rtol: float = 1e-9) -> list[str]:
    """Every difference between the artifacts of two quarters, one line each."""
    old, new = _artifacts(old), _artifacts(new)
    out: list[str] = []
    names = sorted({p.name for p in old.iterdir()} | {p.name for p in new.iterdir()})
    for n in names:
        a, b = old / n, new / n
        if not a.exists():
            out.append(f"{n}: only in new")
            continue
        if not b.exists():
            out.append(f"{n}: only in old")
            continue
        if n.endswith(".json"):
            compare_json(json.loads(a.read_text()), json.loads(b.read_text()), n, rtol, out)
        elif n.endswith(".parquet"):
            compare_tables(pd.read_parquet(a), pd.read_parquet(b), n, rtol, out)
        elif n.endswith(".csv"):
            compare_tables(pd.read_csv(a, dtype=str, encoding="utf-8-sig"),
                           pd.read_csv(b, dtype=str, encoding="utf-8-sig"), n, rtol, out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--rtol", type=float, default=1e-9)
    a = ap.parse_args(argv)
    diffs = compare_dirs(a.old, a.new, a.rtol)
    for d in diffs:
        print(d)
    print(f"{len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
