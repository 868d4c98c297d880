"""The artifact catalog: the only place that knows where a step's outputs live.

Notebooks ask for artifacts by name (``cat.load("orders")``); the names, their files and their
single writer come from the step registry (:data:`helpers.frame.registry.ARTIFACTS`). A catalog
opened for a step refuses to save an artifact another step writes.

Where the files are:

- under the runner, the run's temporary folder (``reports/.run-*``), published as a whole at the end;
- in a **hand run** (a notebook run in JupyterLab, ``run_dir`` empty), a scratch folder
  ``reports/.scratch/<quarter>/``: the notebook writes there and reads what it has not written
  itself from the published quarter ``reports/<quarter>/``, which it never changes;
- :meth:`Catalog.published` opens a rendered quarter read-only (the review reads last quarter's).

JSON is written with sorted keys and plain Python numbers so two runs with the same inputs produce
the same bytes. Every file is written to a temporary name, then renamed.

An artifact a step reads late (:attr:`helpers.frame.registry.Step.reads_late`) may still be being
computed by a step running beside it: under the runner, the catalog then waits for that step to end
before it reads the artifact (:data:`AWAIT_ENV`).
"""


from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers.frame.errors import RunError
from helpers.frame.progress import stage
from helpers.frame.registry import ARTIFACTS, SCORE_TABLES
from helpers.frame.settings import project_root

__all__ = ["ARTIFACTS", "SCRATCH", "AWAIT_ENV", "await_artifact", "to_jsonable", "Catalog", "write_csv",
           "CSV_ENCODINGS", "csv_encoding_of"]

#: Folder (under ``reports_dir``) of hand runs: ``<reports_dir>/.scratch/<quarter>/``.
SCRATCH = ".scratch"

#: Environment variable the runner sets in each kernel: JSON ``{artifact: done file}`` for the
#: artifacts its notebook reads late whose writer runs beside it (:func:`helpers.frame.registry.awaits`).
#: The done file appears when that writer has ended without error; if it fails, the runner stops this
#: notebook too. Absent (a hand run in JupyterLab), nothing is awaited.
AWAIT_ENV = "SEGREVIEW_AWAIT"


def await_artifact(name: str, poll: float = 0.2, files: dict[str, str] | None = None) -> float:
    """Wait until the step writing artifact ``name`` has ended, when the runner said this notebook
    reads it late from a step running beside it (:data:`AWAIT_ENV`); the seconds waited (0 otherwise).

    The wait is a progress line ("waiting for 30_clv, which writes value_scores"), so a run does not
    look stuck. ``files``: artifact -> done file, instead of :data:`AWAIT_ENV` (tests).
    """
    if files is None:
        files = json.loads(os.environ.get(AWAIT_ENV) or "{}")
    done = files.get(name)
    if done is None or Path(done).exists():
        return 0.0
    t = time.perf_counter()
    stage(f"waiting for {ARTIFACTS[name].writer}, which writes {name}")
    while not Path(done).exists():
        time.sleep(poll)
    waited = time.perf_counter() - t
    stage(f"{name} is ready after {waited:.1f} s of waiting")
    return waited


def to_jsonable(obj: Any) -> Any:
    """Convert numpy / pandas scalars, timestamps and NaN to plain JSON values (NaN -> None)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        f = float(obj)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    if obj is pd.NaT or obj is None:
        return None
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    return obj


@dataclass(frozen=True)
class Catalog:
    """Artifacts of one run folder.

    Parameters
    ----------
    run_dir : Path
        Folder holding ``artifacts/``: artifacts are written here and read from here first.
    fallback : Path, optional
        A published quarter read when ``run_dir`` lacks an artifact (hand runs); never written.
    step : str, optional
        The step this catalog serves: it may save only the artifacts that step writes.
    csv_encoding : str
        Encoding of the CSV artifacts it writes (``utf-8``, ``utf-8-sig`` = UTF-8 with a byte-order
        mark, or ``gb18030``): the ``export.encoding`` parameter, resolved by ``frame.begin``.
    """

    run_dir: Path
    fallback: Path | None = None
    step: str | None = None
    csv_encoding: str = "utf-8"

    @classmethod
    def for_run(cls, quarter: str, run_dir: str = "", reports_dir: str = "reports",
                step: str | None = None, csv_encoding: str = "utf-8") -> Catalog:
        """The catalog of a notebook run.

        ``run_dir`` given (the runner): that folder. Empty (a hand run): the scratch folder
        ``<reports_dir>/.scratch/<quarter>/``, reading the published ``<reports_dir>/<quarter>/``
        for what it has not written.
        """
        root = project_root()
        if run_dir:
            return cls(Path(run_dir), None, step, csv_encoding)
        return cls(root / reports_dir / SCRATCH / quarter, root / reports_dir / quarter, step, csv_encoding)

    @classmethod
    def published(cls, quarter: str, reports_dir: str = "reports") -> Catalog:
        """A rendered quarter, read-only (saving raises)."""
        d = project_root() / reports_dir / quarter
        return cls(d, None, "(read-only)")

    def _file(self, name: str) -> str:
        if name not in ARTIFACTS:
            raise KeyError(f"unknown artifact {name!r}; known: {', '.join(ARTIFACTS)}")
        return ARTIFACTS[name].path

    def path(self, name: str) -> Path:
        """Where artifact ``name`` is read from: the run folder's file, else the fallback's when it exists.

        Under the runner, an artifact this step reads late from a step running beside it is awaited
        first (:func:`await_artifact`): its file may be an earlier quarter's until that step ends.
        """
        await_artifact(name)
        own = self.run_dir / self._file(name)
        if not own.exists() and self.fallback is not None and (self.fallback / self._file(name)).exists():
            return self.fallback / self._file(name)
        return own

    def exists(self, name: str) -> bool:
        """Whether artifact ``name`` has been written (here or in the fallback)."""
        return self.path(name).exists()

    def load(self, name: str, columns: list[str] | None = None) -> Any:
        """Read an artifact: DataFrame for Parquet/CSV, dict for JSON.

        ``columns``: read only these columns of a table (an order log's other columns can be
        most of its memory).

        Raises
        ------
        RunError
            When the artifact is missing, naming the step that writes it.
        """
        p = self.path(name)
        if not p.exists():
            raise RunError(
                f"artifact {name!r} ({p}) does not exist yet: run {ARTIFACTS[name].writer}, which writes it, "
                "first (`segreview run --params params/<quarter>.yaml`, or that notebook by hand)")
        if p.suffix == ".parquet":
            return pd.read_parquet(p, columns=columns)
        if p.suffix == ".csv":
            return pd.read_csv(p, dtype={"customer_id": str}, usecols=columns, encoding=csv_encoding_of(p),
                               keep_default_na=False, na_values=[""])
        return json.loads(p.read_text(encoding="utf-8"))

    def columns(self, name: str) -> list[str]:
        """Column names of a Parquet artifact, from its schema (the data is not read).

        A Parquet artifact is one file, or a folder of part files when Spark wrote it.
        """
        import pyarrow.dataset as ds
        return list(ds.dataset(self.path(name), format="parquet").schema.names)

    def rows(self, name: str) -> int:
        """Row count of a Parquet artifact (file or folder of part files), from its metadata."""
        import pyarrow.dataset as ds
        return int(ds.dataset(self.path(name), format="parquet").count_rows())

    def target(self, name: str) -> Path:
        """Where this step writes artifact ``name`` in its run folder (for a writer that is not
        pandas, e.g. the engine writing the clean orders; it must write to a temporary name and rename).

        Raises
        ------
        RunError
            When this catalog serves a step that does not write ``name`` (one writer per artifact).
        """
        p = self.run_dir / self._file(name)
        if self.step is not None and ARTIFACTS[name].writer != self.step:
            raise RunError(f"{self.step} may not write artifact {name!r}: {ARTIFACTS[name].writer} writes it")
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def load_optional(self, name: str) -> Any | None:
        """Like :meth:`load`, but ``None`` when the artifact was not written (step skipped)."""
        return self.load(name) if self.exists(name) else None

    def customer_scores(self, tables: tuple[str, ...] = SCORE_TABLES) -> pd.DataFrame | None:
        """The per-step customer tables that exist, joined on ``customer_id``.

        Each analysis step writes its own table with one row per customer (segments, value, churn);
        this is where they meet. Customers of every table are kept (an outer join); the columns of
        a step that did not run are absent. ``None`` when none of the tables exists.
        """
        out = None
        for name in tables:
            t = self.load_optional(name)
            if t is None:
                continue
            t = t.assign(customer_id=t["customer_id"].astype(str))
            out = t if out is None else out.merge(t, on="customer_id", how="outer", sort=False)
        if out is not None:
            out = out.sort_values("customer_id", kind="stable").reset_index(drop=True)
        return out

    def save(self, name: str, obj: Any, *, bom: bool | None = None, encoding: str | None = None) -> Path:
        """Write an artifact atomically (temporary file, then rename) into the run folder.

        Parameters
        ----------
        name : str
            Artifact name from :data:`ARTIFACTS`.
        obj : DataFrame or dict
            DataFrame for ``.parquet`` / ``.csv`` artifacts, dict for ``.json``.
        bom : bool, optional
            CSV only: ``True`` writes UTF-8 with a byte-order mark (Excel then reads it as UTF-8),
            ``False`` plain UTF-8; by default the catalog's ``csv_encoding``.
        encoding : str, optional
            CSV only: ``utf-8``, ``utf-8-sig`` or ``gb18030``; overrides ``bom`` and the catalog's.

        Raises
        ------
        RunError
            When this catalog serves a step that does not write ``name`` (one writer per artifact).
        """
        p = self.target(name)
        tmp = p.with_name(f".{p.name}.tmp")
        if p.suffix == ".parquet":
            obj.to_parquet(tmp, index=False)
        elif p.suffix == ".csv":
            enc = encoding or ({True: "utf-8-sig", False: "utf-8"}[bom] if bom is not None else self.csv_encoding)
            write_csv(obj, tmp, encoding=enc)
        else:
            tmp.write_text(json.dumps(to_jsonable(obj), indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                           encoding="utf-8")
        os.replace(tmp, p)
        return p


#: Encodings a CSV export can be written in (``export.encoding``).
CSV_ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")


def write_csv(df: pd.DataFrame, path: Path, bom: bool = False, encoding: str | None = None) -> None:
    """CSV with Arrow's writer (1 s instead of pandas' 11 s for a million customers): a header,
    ``\\n`` line ends, every text value in double quotes when needed (so ids such as ``007`` stay text in
    spreadsheet imports), missing values empty, ``true``/``false`` for flags.

    Parameters
    ----------
    encoding : str, optional
        ``utf-8``; ``utf-8-sig``: UTF-8 starting with the byte-order mark, which Excel needs to read
        UTF-8 (Chinese text) correctly; ``gb18030``: the Chinese national encoding, which every Excel
        on Chinese Windows opens directly. Default: ``utf-8-sig`` when ``bom``, else ``utf-8``.
    """
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    encoding = encoding or ("utf-8-sig" if bom else "utf-8")
    if encoding not in CSV_ENCODINGS:
        raise ValueError(f"CSV encoding {encoding!r} is not one of {list(CSV_ENCODINGS)}")
    cols = {}
    for c in df.columns:
        v = df[c]
        if isinstance(v.dtype, pd.CategoricalDtype) or v.dtype == object:
            v = v.astype("string")
        cols[str(c)] = v
    table = pa.Table.from_pandas(pd.DataFrame(cols), preserve_index=False)
    options = pacsv.WriteOptions(quoting_style="needed")
    with open(path, "wb") as f:
        if encoding == "gb18030":
            buf = io.BytesIO()
            pacsv.write_csv(table, buf, write_options=options)
            f.write(buf.getvalue().decode("utf-8").encode("gb18030"))
            return
        if encoding == "utf-8-sig":
            f.write(b"\xef\xbb\xbf")
        pacsv.write_csv(table, f, write_options=options)


def csv_encoding_of(path: Path) -> str:
    """The encoding a CSV export was written in: ``utf-8-sig`` (byte-order mark), ``utf-8``, else ``gb18030``."""
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "gb18030"
    return "utf-8"
