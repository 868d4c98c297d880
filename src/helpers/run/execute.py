"""Executing notebooks: kernels, papermill, steps side by side, progress (design.md §4, step 2).

A :class:`Task` is one notebook to execute (a step of a quarter) with the tasks it waits for. The
:class:`Scheduler` runs tasks on ``python3`` kernels, up to ``jobs`` at a time, each once what it
waits for has finished, in the order given whenever several could start. Tasks belong to a group
(a quarter): when a task fails, the tasks of its group that are running are stopped at once (their
kernel is shut down) and the group's pending tasks are dropped; other groups go on.

Kernels (:class:`KernelPool`):

- each talks to the runner over local Unix sockets (:class:`IPCKernelManager`), no TCP port;
- a notebook's kernel is started, and its modules imported, while the notebooks before it run
  (:class:`WarmKernel`): kernel start and imports overlap with work instead of adding to it;
- a kernel that ran a step successfully is kept for the same step of a later quarter
  (:meth:`WarmKernel.reuse`: its namespace, history and execution count are reset and the project's
  own modules imported afresh, the libraries stay loaded), so a backfill pays the kernel start-up and
  the libraries' imports once per step, not once per quarter;
- a process that runs quarter after quarter (the test suite, a service rendering many companies'
  quarters) may keep them between runs too (:func:`keep_kernels_between_runs`, :class:`KernelShelf`):
  a kept kernel then gets the next run's whole environment and working directory when it is reset;
- each kernel may use ``cores / jobs`` threads for OpenMP and BLAS (``OMP_NUM_THREADS``,
  ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, unless the environment sets them): notebooks side by
  side then do not each start one spinning thread per core, which made gradient boosting four times
  slower on a busy two-core machine. The results do not depend on it.
"""

from __future__ import annotations

import ast
import atexit
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import papermill as pm
from jupyter_client import AsyncKernelManager
from jupyter_core.utils import run_sync
from papermill.engines import NBClientEngine, papermill_engines
from traitlets import default

from helpers.frame import progress
from helpers.frame.catalog import AWAIT_ENV

__all__ = [
    "THREAD_VARIABLES",
    "LAZY_MODULES",
    "SETTLED",
    "thread_limit",
    "imported_modules",
    "IPCKernelManager",
    "WarmKernel",
    "KernelPool",
    "KernelShelf",
    "SHELF",
    "keep_kernels_between_runs",
    "Task",
    "task_environ",
    "Finished",
    "Scheduler",
]

#: Environment variables bounding the threads of OpenMP and BLAS libraries in a kernel.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

#: Modules the helpers load on first use (Ibis loads its DuckDB backend when it first connects):
#: the pre-started kernels import them too, about half a second per notebook.
LAZY_MODULES = ("helpers.frame.engine", "ibis.backends.duckdb", "pyarrow.parquet", "pyarrow.dataset")

#: Pseudo-step of a group's key that is "done" once the group has ended (published or failed).
SETTLED = "(settled)"


def thread_limit(jobs: int) -> int:
    """Threads one kernel may use when ``jobs`` notebooks run side by side: the usable cores divided
    among them, at least one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, jobs))


def imported_modules(nb: nbformat.NotebookNode) -> list[str]:
    """Modules a notebook's code cells import (``from helpers import rfm`` gives ``helpers`` and
    ``helpers.rfm``), in order of appearance; cells that do not parse (magics) are skipped."""
    out: list[str] = []
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        try:
            tree = ast.parse(c.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                out += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return list(dict.fromkeys(out))


class _ProgressEngine(NBClientEngine):
    """papermill's nbclient engine, reporting each code cell as it starts (see :mod:`helpers.frame.progress`)
    to the ``report`` callable passed to ``papermill.execute_notebook`` (one per notebook, as
    notebooks may run side by side)."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, report: Callable[[str], None] | None = None, **kwargs):
        code = [i for i, c in enumerate(nb_man.nb.cells) if c.cell_type == "code"]
        start, cell_start = time.perf_counter(), nb_man.cell_start

        def on_cell_start(cell, cell_index=None, **kw):
            if report is not None and cell.cell_type == "code" and cell_index in code:
                report(f"cell {code.index(cell_index) + 1}/{len(code)} at {time.perf_counter() - start:.1f} s: "
                       f"{progress.cell_description(cell.source)}")
            return cell_start(cell, cell_index, **kw)

        nb_man.cell_start = on_cell_start
        return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)


papermill_engines.register("segreview", _ProgressEngine)


class IPCKernelManager(AsyncKernelManager):
    """Kernels talk to the runner over local Unix sockets in a private temporary folder, not TCP:
    no port is opened on the machine and ipykernel has no reason to warn about plain-text TCP.

    The clients it hands out are remembered, so that a kernel kept for another notebook can close
    the connections of the one before (papermill leaves them open on a kernel it does not own)."""

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        return str(Path(tempfile.mkdtemp(prefix="segreview-kernel-")) / "k")

    def client(self, **kwargs):
        kc = super().client(**kwargs)
        self.__dict__.setdefault("_segreview_clients", []).append(kc)
        return kc

    def stop_clients(self) -> None:
        """Close the channels of every client handed out so far."""
        for kc in self.__dict__.pop("_segreview_clients", []):
            run_sync(_stop_channels)(kc)


async def _stop_channels(kc) -> None:
    result = kc.stop_channels()
    if hasattr(result, "__await__"):
        await result


class WarmKernel:
    """A ``python3`` kernel started ahead of its notebook, importing the notebook's modules while
    other notebooks run. The import runs silently (no output, no history, no execution count) and
    binds no name, so the notebook starts from an empty namespace as from a fresh kernel.

    The warm-up talks to the kernel from a thread of its own with a blocking client; :meth:`ready`
    waits for it to finish before papermill connects (a second client connecting while the first
    one's request is still queued at start-up can miss the kernel's replies).

    Parameters
    ----------
    step : str
        The step whose notebook it is started for (a kernel is reused only for the same step).
    nb : NotebookNode
        That notebook (its imports are done ahead).
    cwd : Path
        Working directory (the project root).
    env : dict
        The kernel's environment.
    """

    def __init__(self, step: str, nb: nbformat.NotebookNode, cwd: Path, env: dict[str, str]) -> None:
        self.step, self.cwd, self.env = step, cwd, dict(env)
        self.km = IPCKernelManager(kernel_name="python3")
        run_sync(self.km.start_kernel)(cwd=str(cwd), env=dict(env),
                                       extra_arguments=["--HistoryManager.hist_file=:memory:"])
        self._closed = False
        modules = [*imported_modules(nb), *LAZY_MODULES]
        code = f"__import__('helpers.run.kernelside', fromlist=['warm']).warm({modules!r})"
        self._thread = threading.Thread(target=self._silently, args=(code,), name="segreview-warm", daemon=True)
        self._thread.start()

    def _silently(self, code: str, timeout: float = 300) -> bool:
        """Execute ``code`` without output or history; whether it ran without error."""
        kc = self.km.blocking_client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=120)
            msg_id = kc.execute(code, silent=True, store_history=False)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                reply = kc.get_shell_msg(timeout=deadline - time.monotonic())
                if reply["parent_header"].get("msg_id") == msg_id:
                    return reply["content"]["status"] == "ok"
            return False
        except Exception:  # noqa: BLE001 - a kernel that does not answer is not reused; the notebook reports real errors
            return False
        finally:
            kc.stop_channels()

    def ready(self) -> AsyncKernelManager:
        """The kernel manager, once the warm-up is done."""
        self._thread.join(timeout=420)
        return self.km

    def reuse(self, nb: nbformat.NotebookNode, cwd: Path, environ: dict[str, str], whole: bool = False) -> bool:
        """Prepare this kernel, which ran a notebook, for ``nb`` (see :func:`helpers.run.kernelside.reset`);
        ``False`` when the kernel did not answer (do not use it).

        ``whole``: ``environ`` is the next notebook's whole environment (a kernel kept from an earlier
        run): the variables of the kernel's environment that it lacks are removed.
        """
        self.km.stop_clients()
        modules = [*imported_modules(nb), *LAZY_MODULES]
        unset = sorted(set(self.env) - set(environ)) if whole else []
        ok = self._silently(f"__import__('helpers.run.kernelside', fromlist=['reset']).reset({str(cwd)!r}, "
                            f"{environ!r}, {modules!r}, {unset!r})", timeout=300)
        if ok:
            self.cwd = cwd
            self.env = dict(environ) if whole else {**self.env, **environ}
        return ok

    def kill(self) -> None:
        """Stop the kernel at once (another step failed, or the run was interrupted): the papermill
        call using it then ends with an error instead of running its notebook to the end."""
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - the kernel may be gone already
            pass

    def close(self) -> None:
        """Shut the kernel down and remove its socket folder (once; later calls do nothing)."""
        if self._closed:
            return
        self._closed = True
        self._thread.join(timeout=30)
        try:
            self.km.stop_clients()
            if run_sync(self.km.is_alive)():
                run_sync(self.km.shutdown_kernel)(now=False)
        except Exception:  # noqa: BLE001 - the kernel may be gone already; its folder is removed below
            pass
        finally:
            run_sync(self.km.cleanup_resources)()
            shutil.rmtree(Path(self.km.ip).parent, ignore_errors=True)


@dataclass(frozen=True)
class Task:
    """One notebook to execute.

    Attributes
    ----------
    group : str
        The quarter it belongs to.
    step : str
        Its step.
    source, output : Path
        The notebook to execute and where papermill writes the executed notebook.
    parameters : dict
        Values injected into its parameters cell.
    progress_file : Path
        Where its helpers report their stages (:func:`helpers.frame.progress.stage`).
    label : str
        Its name in the progress lines (``[4/6] 40_churn``, ``2026Q1 [4/6] 40_churn``).
    after : frozenset of (str, str)
        Keys of the tasks it waits for; ``(group, SETTLED)`` waits for a whole group to end.
    awaits : frozenset of (str, str)
        Keys of the tasks whose artifacts it reads late (:func:`helpers.frame.registry.awaits`): it
        starts once they have started and runs beside them; its notebook waits where it reads them.
    await_files : tuple of (str, str)
        ``(artifact, done file)`` for those artifacts: the notebook's catalog waits for the done file
        of the artifact's writer (:data:`helpers.frame.catalog.AWAIT_ENV`).
    done_file : Path, optional
        Written by the scheduler when the task has ended without error (what ``await_files`` name).
    """

    group: str
    step: str
    source: Path
    output: Path
    parameters: dict
    progress_file: Path
    label: str
    after: frozenset[tuple[str, str]] = frozenset()
    awaits: frozenset[tuple[str, str]] = frozenset()
    await_files: tuple[tuple[str, str], ...] = ()
    done_file: Path | None = None

    @property
    def key(self) -> tuple[str, str]:
        """``(group, step)``."""
        return (self.group, self.step)


def task_environ(task: Task) -> dict[str, str]:
    """What a kernel's environment says about the task it runs: its progress file and the artifacts
    its catalog waits for (set when the kernel starts, and again when a kept kernel is reset)."""
    return {progress.ENV: str(task.progress_file), AWAIT_ENV: json.dumps(dict(task.await_files))}


@dataclass
class Finished:
    """A task that ended: when it started and ended (``time.perf_counter``), and its error, if any."""

    task: Task
    start: float
    end: float
    error: BaseException | None = None


#: Resident memory of a kernel started ahead, its notebook's imports done (pandas, Ibis, DuckDB,
#: matplotlib, scikit-learn: 280-320 MB measured, benchmarks/RESULTS.md), with a margin
AHEAD_KERNEL_BYTES = 350 * 2**20


def run_memory() -> int:
    """Resident bytes of this process and all of its children (the runner and its kernels)."""
    import psutil
    me = psutil.Process()
    total = 0
    for p in [me, *me.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:  # ended meanwhile
            continue
    return total


def parse_size(text: str) -> int:
    """Bytes of a size such as ``4GB``, ``512MB`` or ``3.5GiB`` (GB = 10**9, GiB = 2**30).

    Raises
    ------
    ValueError
        Not such a size (the message shows the form).
    """
    import re
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", text)
    if not m:
        raise ValueError(f"{text!r} is not a size such as 4GB or 512MB")
    unit = m.group(2)
    scale = 2 ** (10 * ("KMGT".index(unit[0]) + 1)) if unit.endswith("iB") else 10 ** (3 * ("KMGT".index(unit[0]) + 1))
    return int(float(m.group(1)) * scale)


class KernelShelf:
    """Kernels kept between runs of one process, one per step and thread limit, taken by the next
    run's :class:`KernelPool` instead of starting new ones (off until :func:`keep_kernels_between_runs`).

    Only kernels that ran their notebook without error are kept; the runner does not shelve the kernels
    of a Spark run (their Spark session and JVM must end with the run). A kept kernel is reset for its
    next notebook as a kernel kept within a run is (:func:`helpers.run.kernelside.reset`), with the next
    run's whole environment and working directory.
    """

    def __init__(self) -> None:
        self.enabled = False
        self._kernels: dict[tuple[str, tuple], WarmKernel] = {}
        self._lock = threading.Lock()

    def put(self, kernel: WarmKernel, threads: tuple) -> bool:
        """Keep ``kernel`` (its libraries' thread settings ``threads``, :attr:`KernelPool.thread_key`) for a
        later run; ``False`` when the shelf is off or already holds one for its step (the caller closes
        it then)."""
        with self._lock:
            key = (kernel.step, threads)
            if not self.enabled or key in self._kernels:
                return False
            self._kernels[key] = kernel
            return True

    def has(self, step: str, threads: tuple) -> bool:
        """Whether a kernel of ``step`` with the thread settings ``threads`` is kept."""
        with self._lock:
            return (step, threads) in self._kernels

    def take(self, step: str, threads: tuple) -> WarmKernel | None:
        """The kept kernel of ``step`` with the thread settings ``threads``, removed from the shelf
        (``None``: none)."""
        with self._lock:
            return self._kernels.pop((step, threads), None)

    def close(self) -> None:
        """Close every kept kernel and stop keeping them."""
        with self._lock:
            self.enabled = False
            kernels, self._kernels = list(self._kernels.values()), {}
        closing = [threading.Thread(target=k.close, name="segreview-close", daemon=True) for k in kernels]
        for t in closing:
            t.start()
        for t in closing:
            t.join(timeout=60)


#: The process's kernel shelf (see :func:`keep_kernels_between_runs`).
SHELF = KernelShelf()


def keep_kernels_between_runs(enabled: bool = True) -> None:
    """Keep the kernels of a run for the next run of this process (``True``), or close the kept ones and
    stop (``False``). For a process that runs quarter after quarter (the test suite): each run then pays
    a kernel reset (about a second: the project's modules imported afresh) instead of a kernel start and
    the libraries' imports (about 5 s of CPU each) for every step. The kept kernels are closed when the
    process exits."""
    if enabled:
        SHELF.enabled = True
    else:
        SHELF.close()


atexit.register(SHELF.close)


class KernelPool:
    """The kernels of a run: started ahead, used, kept for the same step of a later task, closed.

    Kernels are assigned to tasks by the scheduler's thread (so a failing task can stop the others'
    kernels at once); a kept kernel is reset by the task's own thread before its notebook runs.

    Parameters
    ----------
    root : Path
        The project root (every kernel's working directory).
    notebooks : dict
        Step -> notebook (for the imports done ahead).
    jobs : int
        Notebooks run side by side (decides each kernel's threads, :func:`thread_limit`).
    shelf : KernelShelf, optional
        Kernels kept from earlier runs of the process, taken before a new one is started; this run's
        kernels that ran without error go back to it at the end (when it is on).
    """

    def __init__(self, root: Path, notebooks: dict[str, nbformat.NotebookNode], jobs: int,
                 shelf: KernelShelf | None = None) -> None:
        self.root, self.notebooks, self.jobs, self.shelf = root, notebooks, jobs, shelf
        self.threads = thread_limit(jobs)
        # what a kernel's libraries sized their thread pools by when they loaded: a kept kernel is
        # taken only by a run whose kernels would get the same
        self.thread_key = tuple(os.environ.get(v, str(self.threads)) for v in THREAD_VARIABLES)
        self.ahead: dict[tuple[str, str], WarmKernel] = {}   # started for a task, not yet used
        self.idle: dict[str, WarmKernel] = {}                 # used, kept for the same step
        self.in_use: dict[tuple[str, str], WarmKernel] = {}
        self.started = 0
        self.reused = 0
        self.from_earlier = 0                                 # taken from the shelf
        self._earlier: set[int] = set()                       # ids of those not yet reset for this run
        self._lock = threading.Lock()
        self._closing: list[threading.Thread] = []

    def environment(self, task: Task) -> dict[str, str]:
        """The environment of a kernel started for ``task``."""
        env = {**os.environ, **task_environ(task)}
        threads = str(self.threads)
        for v in THREAD_VARIABLES:
            env.setdefault(v, threads)
        return env

    def _new(self, task: Task) -> WarmKernel:
        with self._lock:
            self.started += 1
        return WarmKernel(task.step, self.notebooks[task.step], self.root, self.environment(task))

    def has_kept(self, step: str) -> bool:
        """Whether a kernel that ran ``step`` waits for its next notebook (kept in this run or an earlier one)."""
        return step in self.idle or (self.shelf is not None and self.shelf.has(step, self.thread_key))

    def start_ahead(self, task: Task) -> None:
        """Start a kernel for ``task`` now, unless one is ready for it (started ahead or kept)."""
        if task.key not in self.ahead and not self.has_kept(task.step):
            self.ahead[task.key] = self._new(task)

    def assign(self, task: Task) -> tuple[WarmKernel, bool]:
        """The kernel ``task`` will run on, and whether it ran a notebook before (then
        :meth:`prepare` resets it): the one started ahead for it, else one kept from the same step
        (in this run, else from an earlier one), else a new one."""
        kernel = self.ahead.pop(task.key, None)
        kept = kernel is None and task.step in self.idle
        if kept:
            kernel = self.idle.pop(task.step)
        if kernel is None and self.shelf is not None:
            kernel = self.shelf.take(task.step, self.thread_key)
            if kernel is not None:
                kept = True
                with self._lock:
                    self.from_earlier += 1
                    self._earlier.add(id(kernel))
        if kernel is None:
            kernel = self._new(task)
        with self._lock:
            self.in_use[task.key] = kernel
        return kernel, kept

    def prepare(self, task: Task, kernel: WarmKernel, kept: bool) -> WarmKernel:
        """Called from the task's thread: reset a kept kernel for ``task``; a kernel that does not
        answer is replaced by a new one."""
        if not kept:
            return kernel
        with self._lock:
            earlier = id(kernel) in self._earlier
            self._earlier.discard(id(kernel))
        environ = self.environment(task) if earlier else task_environ(task)
        if kernel.reuse(self.notebooks[task.step], self.root, environ, whole=earlier):
            if not earlier:
                with self._lock:
                    self.reused += 1
            return kernel
        self._close_later(kernel)
        fresh = self._new(task)
        with self._lock:
            self.in_use[task.key] = fresh
        return fresh

    def release(self, task: Task, ok: bool, keep: bool) -> None:
        """``task`` ended: keep its kernel for the same step (``ok`` and ``keep``) or close it in the background."""
        with self._lock:
            kernel = self.in_use.pop(task.key, None)
        if kernel is None:
            return
        if ok and keep and task.step not in self.idle:
            self.idle[task.step] = kernel
        elif not (ok and self._shelve(kernel)):
            self._close_later(kernel)

    def _shelve(self, kernel: WarmKernel) -> bool:
        """Keep ``kernel`` (it ran its notebook without error) for a later run, if the shelf takes it."""
        return self.shelf is not None and self.shelf.put(kernel, self.thread_key)

    def drop_idle(self, steps_still_needed: set[str]) -> None:
        """Close the kept kernels of steps no pending task needs (or keep them for a later run)."""
        for step in [s for s in self.idle if s not in steps_still_needed]:
            kernel = self.idle.pop(step)
            if not self._shelve(kernel):
                self._close_later(kernel)

    def drop_ahead(self, keys: set[tuple[str, str]]) -> None:
        """Close the kernels started ahead for these tasks (they will not run)."""
        for k in [k for k in self.ahead if k in keys]:
            self._close_later(self.ahead.pop(k))

    def kill(self, keys: set[tuple[str, str]]) -> None:
        """Stop the running kernels of these tasks at once."""
        with self._lock:
            kernels = [self.in_use[k] for k in keys if k in self.in_use]
        for kernel in kernels:
            kernel.kill()

    def _close_later(self, kernel: WarmKernel) -> None:
        # a graceful shutdown can take seconds: in the background
        t = threading.Thread(target=kernel.close, name="segreview-close", daemon=True)
        t.start()
        with self._lock:
            self._closing.append(t)

    def close(self) -> None:
        """Close every kernel (the idle ones may go to the shelf) and wait for the closing ones (end of
        the run, or an interruption)."""
        with self._lock:
            idle = [k for k in self.idle.values() if not self._shelve(k)]
            kernels = [*self.ahead.values(), *idle, *self.in_use.values()]
            self.ahead.clear()
            self.idle.clear()
            self.in_use.clear()
        for kernel in kernels:
            self._close_later(kernel)
        with self._lock:
            closing, self._closing = self._closing, []
        for t in closing:
            t.join(timeout=60)


@dataclass
class _State:
    pending: list[Task]
    running: dict[Future, tuple[Task, float]] = field(default_factory=dict)
    done: set[tuple[str, str]] = field(default_factory=set)
    started: set[tuple[str, str]] = field(default_factory=set)
    failed: dict[str, Finished] = field(default_factory=dict)


class Scheduler:
    """Run tasks on kernels, up to ``jobs`` at a time, each once the tasks it waits for are done.

    Parameters
    ----------
    root : Path
        The project root (the notebooks' working directory).
    notebooks : dict
        Step -> notebook (what the kernels import ahead).
    jobs : int
        Notebooks executed at the same time.
    log : callable
        Sink of one line per event (a notebook starts or ends, stages of long helpers).
    status : callable
        Sink of the cell each notebook is on.
    reuse_kernels : bool
        Keep a kernel that ran a step for a later task of the same step (``False``: a fresh kernel
        for every notebook).
    shelf : KernelShelf, optional
        Kernels kept between runs of the process (:func:`keep_kernels_between_runs`; only with
        ``reuse_kernels``).
    memory_budget : int, optional
        Bytes all of the run's processes together should stay under. Kernels started ahead of their
        notebooks (about :data:`AHEAD_KERNEL_BYTES` each, their imports done) are a speed-up that
        yields to it: one is started only while the run's resident memory plus one such kernel
        stays under the budget, and the waiting ones are closed when the run grows past that (they
        start again, cold, when their notebooks start; none is started ahead until a notebook
        starts or ends, or the run falls far enough for them and one more kernel to fit, which
        restarts them once per set of running notebooks). ``None``: no budget. The notebooks
        themselves are not limited by it.
    memory : callable, optional
        Resident bytes of the run now (default: this process and its children, :func:`run_memory`).
    """

    def __init__(self, root: Path, notebooks: dict[str, nbformat.NotebookNode], jobs: int,
                 log: Callable[[str], None], status: Callable[[str], None], reuse_kernels: bool = True,
                 memory_budget: int | None = None, memory: Callable[[], int] | None = None,
                 shelf: KernelShelf | None = None) -> None:
        self.root, self.jobs, self.log, self.status = root, jobs, log, status
        self.reuse_kernels = reuse_kernels
        self.kernels = KernelPool(root, notebooks, jobs, shelf if reuse_kernels else None)
        self.memory_budget = memory_budget
        self.memory = memory or run_memory
        self._ahead_held: frozenset | None = None  # the running tasks when kernels ahead were closed
        self._ahead_restarted: frozenset | None = None  # the running tasks when they were started again

    def start_ahead(self, tasks: list[Task]) -> None:
        """Start kernels for the first tasks that wait for nothing (at most ``jobs``), before :meth:`run`."""
        for task in [t for t in tasks if not t.after][: self.jobs]:
            self.kernels.start_ahead(task)

    def close(self) -> None:
        """Close every kernel (:meth:`run` does it when it ends; for a run stopped before it started)."""
        self.kernels.close()

    def _execute(self, task: Task, kernel: WarmKernel, kept: bool) -> None:
        kernel = self.kernels.prepare(task, kernel, kept)
        with progress.Follower(task.progress_file, self.log, task.label):
            pm.execute_notebook(str(task.source), str(task.output), parameters=task.parameters,
                                kernel_name="python3", cwd=str(self.root), progress_bar=False, log_output=False,
                                engine_name="segreview", km=kernel.ready(),
                                report=lambda msg: self.status(f"{task.label} {msg}"))

    def run(self, tasks: list[Task], on_done: Callable[[Finished], None],
            on_group_end: Callable[[str, Finished | None], None]) -> None:
        """Execute ``tasks`` (in this order whenever several could start).

        Parameters
        ----------
        tasks : list of Task
            Every task of the run; what a task waits for must be among them (or a group's ``SETTLED``).
        on_done : callable
            Called with each task that finished without error (e.g. to render its page).
        on_group_end : callable
            Called once per group when its last task has ended: ``(group, None)`` when all succeeded
            (e.g. to publish it), ``(group, failure)`` with the first failed task otherwise, once the
            group's other running tasks have stopped. The group's ``SETTLED`` key is done afterwards.
        """
        st = _State(pending=list(tasks))
        groups = {t.group for t in tasks}
        left = {g: sum(t.group == g for t in tasks) for g in groups}
        workers = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="segreview-step")
        try:
            while st.pending or st.running:
                self._start_ready(st, workers)
                self._start_ahead(st)
                if not st.running and st.pending:
                    raise RuntimeError(f"tasks wait for what never runs: {[t.key for t in st.pending]}")
                finished, _ = wait(list(st.running), timeout=0.5, return_when=FIRST_COMPLETED)
                for f in finished:
                    task, t0 = st.running.pop(f)
                    fin = Finished(task, t0, time.perf_counter(), f.exception())
                    left[task.group] -= 1
                    ok = fin.error is None and task.group not in st.failed
                    keep = self.reuse_kernels and any(t.step == task.step for t in st.pending)
                    self.kernels.release(task, ok, keep=keep)
                    if fin.error is not None and task.group not in st.failed:
                        self._fail_group(st, fin, left)
                    elif ok:
                        if task.done_file is not None:  # the tasks reading its artifacts late may go on
                            task.done_file.parent.mkdir(parents=True, exist_ok=True)
                            task.done_file.touch()
                        st.done.add(task.key)
                        self.log(f"{task.label} done in {fin.end - fin.start:.1f} s")
                        on_done(fin)
                    if left[task.group] == 0:
                        on_group_end(task.group, st.failed.get(task.group))
                        st.done.add((task.group, SETTLED))
                self.kernels.drop_idle({t.step for t in st.pending})
        finally:
            self.kernels.kill({task.key for task, _ in st.running.values()})  # interrupted: stop them all
            workers.shutdown(wait=True, cancel_futures=True)
            self.kernels.close()

    def _start_ready(self, st: _State, workers: ThreadPoolExecutor) -> None:
        for task in list(st.pending):
            if len(st.running) >= self.jobs:
                return
            # what it reads late: those writers need only have started (they run beside it, and
            # its notebook waits where it reads their artifacts); a waiting task thus always waits
            # for a running one, never for one that needs its slot
            if task.after <= st.done and task.awaits <= st.started:
                st.pending.remove(task)
                st.started.add(task.key)
                kernel, kept = self.kernels.assign(task)
                self.log(f"{task.label} ...")
                st.running[workers.submit(self._execute, task, kernel, kept)] = (task, time.perf_counter())

    def _start_ahead(self, st: _State) -> None:
        """A kernel for each task that can start as soon as the running ones finish, at most ``jobs``
        waiting, unless a kernel of the same step will be free for it (kept, or running now); with a
        memory budget, only while the run stays under it (:class:`Scheduler`)."""
        running_steps = [t.step for t, _ in st.running.values()]
        room = self.jobs
        if self.memory_budget is not None:
            now = frozenset(t.key for t, _ in st.running.values())
            used = self.memory()
            if self._ahead_held == now:
                # closed for memory: not again until a notebook starts or ends, unless the run has fallen so far
                # that they fit with one more kernel's room to spare (a notebook that frees its working memory
                # before its last cells, as ingestion does after writing the clean orders); once per notebook set
                if (self._ahead_restarted == now
                        or used + (self.jobs + 1) * AHEAD_KERNEL_BYTES > self.memory_budget):
                    return
                self._ahead_restarted = now
                self.log(f"memory: the run is down to {used / 1e9:.1f} GB of its {self.memory_budget / 1e9:.1f} GB "
                         "budget: kernels started ahead again")
            self._ahead_held = None
            if used + AHEAD_KERNEL_BYTES > self.memory_budget:
                if self.kernels.ahead:
                    self.log(f"memory: the run uses {used / 1e9:.1f} GB of its {self.memory_budget / 1e9:.1f} GB "
                             f"budget: {len(self.kernels.ahead)} kernel(s) started ahead closed")
                    self.kernels.drop_ahead(set(self.kernels.ahead))
                    self._ahead_held = now
                return
            room = (self.memory_budget - used) // AHEAD_KERNEL_BYTES  # new kernels that fit now
        for task in st.pending:
            if len(self.kernels.ahead) >= self.jobs or room <= 0:
                return
            if (task.after <= st.done | st.started and not (self.reuse_kernels and task.step in running_steps)
                    and task.key not in self.kernels.ahead and not self.kernels.has_kept(task.step)):
                self.kernels.start_ahead(task)
                room -= 1

    def _fail_group(self, st: _State, fin: Finished, left: dict[str, int]) -> None:
        """The group's first failure: stop its running tasks at once, drop its pending ones."""
        g = fin.task.group
        st.failed[g] = fin
        dropped = [t for t in st.pending if t.group == g]
        st.pending = [t for t in st.pending if t.group != g]
        left[g] -= len(dropped)
        self.kernels.drop_ahead({t.key for t in dropped})
        self.kernels.kill({t.key for t, _ in st.running.values() if t.group == g})
