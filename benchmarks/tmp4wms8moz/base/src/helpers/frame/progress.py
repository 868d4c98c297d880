"""Progress of long work, shown by the runner while a notebook executes.

Two sources of progress reach the ``segreview run`` console:

* the runner's papermill engine reports each code cell as it starts (which notebook, which cell of
  how many, the elapsed time, the cell's first comment line);
* helpers doing work that takes more than a few seconds call :func:`stage`, which appends a line to
  the file named by the ``SEGREVIEW_PROGRESS`` environment variable (set by the runner for its
  kernels; unset in JupyterLab, where :func:`stage` does nothing). A thread of the runner
  follows that file and prints each stage.

Nothing here writes into the notebook, so the rendered report is unchanged by progress.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ['ENV', 'stage', 'cell_description', 'Follower']


#: Environment variable naming the progress file of the running notebook.
ENV = "SEGREVIEW_PROGRESS"


def stage(message: str) -> None:
    """Report the stage a long helper is entering (no-op outside a ``segreview run``).

    Parameters
    ----------
    message : str
        Short words, e.g. ``"churn: fitting both models on 958,093 customers"``.
    """
    path = os.environ.get(ENV)
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{time.time():.3f}\t{message.replace(chr(10), ' ')}\n")
    except OSError:  # progress must never break the analysis
        pass


def cell_description(source: str, width: int = 70) -> str:
    """The first comment line of a code cell, else its first line of code, shortened to ``width``.

    Parameters
    ----------
    source : str
        The cell's source.
    width : int
        Longest description returned.
    """
    lines = [ln.strip() for ln in source.splitlines() if ln.strip()]
    comments = [ln.lstrip("# ").strip() for ln in lines if ln.startswith("#") and not ln.startswith("#%")]
    text = next((c for c in comments if c), None) or (lines[0] if lines else "")
    return text if len(text) <= width else text[: width - 1] + "…"


class Follower:
    """Follow a progress file in a background thread and pass each new stage to ``log``.

    Parameters
    ----------
    path : Path
        The progress file (created empty).
    log : callable
        Sink of one line per stage.
    prefix : str
        Put before every line (e.g. the step's ``[4/6] 40_churn``).
    interval : float
        Seconds between looks at the file.
    """

    def __init__(self, path: Path, log: Callable[[str], None], prefix: str = "", interval: float = 0.5) -> None:
        self.path, self.log, self.prefix, self.interval = Path(path), log, prefix, interval
        self.path.write_text("", encoding="utf-8")
        self.start = time.perf_counter()
        self._pos = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="segreview-progress", daemon=True)

    def __enter__(self) -> Follower:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._drain()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._drain()

    def _drain(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._pos)
                chunk = f.read()
        except OSError:
            return
        end = chunk.rfind(b"\n")
        if end < 0:
            return
        self._pos += end + 1
        for line in chunk[: end + 1].decode("utf-8", "replace").splitlines():
            _, _, msg = line.partition("\t")
            self.log(f"{self.prefix}  · {msg} ({time.perf_counter() - self.start:.1f} s)")
