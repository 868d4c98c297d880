"""The scheduler of notebooks, with simulated notebooks and kernels (the real ones: tests/pipeline).

What it must do: start a task only after what it waits for, never more than `jobs` at once, earlier
tasks first; a task that reads a step's artifacts late starts once that step has started, runs
beside it and reads them only after it ended; a failure stops the running tasks of its group at
once and drops the group's pending ones, other groups go on; each group ends once (published or
failed) and only then counts as settled; a kernel that ran a step is kept for the same step of a
later task.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from helpers.frame.catalog import AWAIT_ENV, await_artifact
from helpers.run import execute
from helpers.run.execute import SETTLED, Scheduler, Task


class FakeKernel:
    def __init__(self, step: str) -> None:
        self.step = step
        self.killed = threading.Event()
        self.notebooks = 0
        self.resets: list[bool] = []   # one per reuse: whether it was given a whole environment
        self.closed = False

    def reuse(self, nb, cwd, environ, whole=False) -> bool:
        self.resets.append(whole)
        return True

    def kill(self) -> None:
        self.killed.set()

    def close(self) -> None:
        self.closed = True


class Sim(Scheduler):
    """Tasks take `seconds[key]`, fail when listed in `failing`; events are recorded."""

    def __init__(self, jobs: int, seconds: dict, failing=(), reuse_kernels: bool = True, shelf=None) -> None:
        notebooks = dict.fromkeys("abcd")
        super().__init__(Path("."), notebooks, jobs, log=lambda s: None, status=lambda s: None,
                         reuse_kernels=reuse_kernels, shelf=shelf)
        self.seconds, self.failing = seconds, set(failing)
        self.events: list[tuple[str, tuple[str, str], float]] = []
        self.kernel_of: dict[tuple[str, str], FakeKernel] = {}
        self.kept: dict[tuple[str, str], bool] = {}
        self.lock = threading.Lock()
        self.kernels._new = lambda task: FakeKernel(task.step)

    def _execute(self, task: Task, kernel, kept: bool) -> None:
        kernel = self.kernels.prepare(task, kernel, kept)
        with self.lock:
            self.kernel_of[task.key], self.kept[task.key] = kernel, kept
            self.events.append(("start", task.key, time.perf_counter()))
        deadline = time.perf_counter() + self.seconds.get(task.key, 0.05)
        while time.perf_counter() < deadline:
            if kernel.killed.is_set():
                raise RuntimeError(f"{task.key} killed")
            time.sleep(0.005)
        for artifact, _done in task.await_files:   # then it reads what it reads late, as a notebook's catalog does
            waiter = threading.Thread(target=await_artifact, args=(artifact, 0.01, dict(task.await_files)),
                                      daemon=True)
            waiter.start()
            while waiter.is_alive():
                if kernel.killed.is_set():
                    raise RuntimeError(f"{task.key} killed while waiting for {artifact}")
                waiter.join(0.005)
            with self.lock:
                self.events.append(("read", task.key, time.perf_counter()))
        with self.lock:
            self.events.append(("end", task.key, time.perf_counter()))
        if task.key in self.failing:
            raise ValueError(f"{task.key} failed")

    def spans(self) -> dict:
        start = {k: t for e, k, t in self.events if e == "start"}
        end = {k: t for e, k, t in self.events if e == "end"}
        return {k: (start[k], end.get(k)) for k in start}


def task(group: str, step: str, after=()) -> Task:
    return Task(group, step, Path("in.ipynb"), Path("out.ipynb"), {}, Path("p.log"), f"{group} {step}",
                frozenset(after))


def quarter(group: str, extra_after=()) -> list[Task]:
    """A quarter's steps with the pipeline's needs: a -> b -> c, d beside b (needs a only)."""
    return [task(group, "a"), task(group, "b", {(group, "a")}),
            task(group, "c", {(group, "a"), (group, "b"), *extra_after}), task(group, "d", {(group, "a")})]


def test_needs_and_jobs_are_respected_and_earlier_tasks_go_first():
    tasks = quarter("Q1") + quarter("Q2")
    sim = Sim(jobs=2, seconds={t.key: 0.15 for t in tasks})
    ended: list[tuple[str, object]] = []
    done: list[tuple[str, str]] = []
    sim.run(tasks, on_done=lambda f: done.append(f.task.key), on_group_end=lambda g, f: ended.append((g, f)))
    spans = sim.spans()
    assert set(spans) == {t.key for t in tasks} and set(done) == set(spans)
    for t in tasks:
        for dep in t.after:
            assert spans[dep][1] <= spans[t.key][0], (t.key, dep)
    moments = sorted(s for s, _ in spans.values())
    assert max(sum(s <= m < e for s, e in spans.values()) for m in moments) <= 2
    first_two = sorted(spans, key=lambda k: spans[k][0])[:2]
    assert set(first_two) == {("Q1", "a"), ("Q2", "a")}          # both ready at once, in the given order
    assert sorted(ended) == [("Q1", None), ("Q2", None)]


def test_a_failure_stops_its_group_at_once_and_the_other_group_goes_on():
    """Q1's d fails while Q1's b (long) runs beside it: b is stopped, c never starts; Q2 is rendered."""
    tasks = quarter("Q1") + quarter("Q2")
    seconds = {t.key: 0.05 for t in tasks} | {("Q1", "b"): 30.0, ("Q1", "d"): 0.1}
    sim = Sim(jobs=3, seconds=seconds, failing={("Q1", "d")})
    ended: dict[str, object] = {}
    t0 = time.perf_counter()
    sim.run(tasks, on_done=lambda f: None, on_group_end=lambda g, f: ended.setdefault(g, f))
    assert time.perf_counter() - t0 < 10                       # not the 30 s b would take
    assert ended["Q2"] is None
    failure = ended["Q1"]
    assert failure.task.key == ("Q1", "d") and isinstance(failure.error, ValueError)
    spans = sim.spans()
    assert ("Q1", "c") not in spans and spans[("Q1", "b")][1] is None   # c never started; b never ended normally
    assert sim.kernel_of[("Q1", "b")].killed.is_set()
    assert {k for k in spans if k[0] == "Q2"} == {t.key for t in tasks if t.group == "Q2"}


def test_group_end_comes_after_its_stopped_tasks_and_settles_the_group():
    """A task waiting for Q1 to settle starts after Q1 ended (failed), and after its stopped task ended."""
    tasks = quarter("Q1") + quarter("Q2", extra_after={("Q1", SETTLED)})
    seconds = {t.key: 0.05 for t in tasks} | {("Q1", "b"): 30.0, ("Q1", "d"): 0.2}
    sim = Sim(jobs=3, seconds=seconds, failing={("Q1", "d")})
    order: list[str] = []
    sim.run(tasks, on_done=lambda f: order.append(f"done {f.task.key}"),
            on_group_end=lambda g, f: order.append(f"end {g} {'failed' if f else 'ok'}"))
    spans = sim.spans()
    assert order.count("end Q1 failed") == 1 and order.count("end Q2 ok") == 1
    end_q1 = next(t for e, k, t in sim.events if k == ("Q1", "d") and e == "end")
    assert spans[("Q2", "c")][0] > end_q1


def test_tasks_that_wait_for_what_never_runs_are_a_bug():
    sim = Sim(jobs=2, seconds={})
    with pytest.raises(RuntimeError, match="tasks wait for what never runs"):
        sim.run([task("Q1", "a", {("Q9", "z")})], on_done=lambda f: None, on_group_end=lambda g, f: None)


def test_a_kernel_is_kept_for_the_same_step_of_a_later_task():
    tasks = quarter("Q1") + quarter("Q2")
    sim = Sim(jobs=1, seconds={})
    sim.run(tasks, on_done=lambda f: None, on_group_end=lambda g, f: None)
    for step in "abcd":
        assert sim.kernel_of[("Q2", step)] is sim.kernel_of[("Q1", step)]
        assert sim.kept[("Q2", step)] and not sim.kept[("Q1", step)]
    assert sim.kernels.reused == 4
    fresh = Sim(jobs=1, seconds={}, reuse_kernels=False)
    fresh.run(tasks, on_done=lambda f: None, on_group_end=lambda g, f: None)
    assert fresh.kernels.reused == 0 and not any(fresh.kept.values())
    assert len({id(k) for k in fresh.kernel_of.values()}) == len(tasks)


def test_a_failed_task_s_kernel_is_not_kept():
    tasks = [task("Q1", "a"), task("Q2", "a"), task("Q3", "a")]
    sim = Sim(jobs=1, seconds={}, failing={("Q1", "a")})
    sim.run(tasks, on_done=lambda f: None, on_group_end=lambda g, f: None)
    assert sim.kernel_of[("Q2", "a")] is not sim.kernel_of[("Q1", "a")]
    assert sim.kernel_of[("Q3", "a")] is sim.kernel_of[("Q2", "a")]


def _sim_closed(sim: Sim) -> None:
    for t in sim.kernels._closing:   # kernels are closed in the background
        t.join()


def test_kernels_kept_between_runs_are_taken_by_the_next_run_with_its_whole_environment(monkeypatch):
    """With a shelf, a run's kernels that ran without error wait for the next run, which takes them
    instead of starting new ones and resets them with its whole environment; a failed task's kernel and
    a run with other thread settings do not; turning the shelf off closes what it holds."""
    for v in execute.THREAD_VARIABLES:
        monkeypatch.setenv(v, "1")
    shelf = execute.KernelShelf()
    shelf.enabled = True
    first = Sim(jobs=1, seconds={}, failing={("Q1", "d")}, shelf=shelf)
    first.run(quarter("Q1"), on_done=lambda f: None, on_group_end=lambda g, f: None)
    _sim_closed(first)
    assert [shelf.has(s, ("1", "1", "1")) for s in "abcd"] == [True, True, True, False]
    assert first.kernel_of[("Q1", "d")].closed

    second = Sim(jobs=1, seconds={}, shelf=shelf)
    second.run(quarter("Q2"), on_done=lambda f: None, on_group_end=lambda g, f: None)
    _sim_closed(second)
    for s in "abc":
        k = second.kernel_of[("Q2", s)]
        assert k is first.kernel_of[("Q1", s)] and second.kept[("Q2", s)] and k.resets == [True] and not k.closed
    assert not second.kept[("Q2", "d")] and second.kernel_of[("Q2", "d")].resets == []
    assert second.kernel_of[("Q2", "d")] is not first.kernel_of[("Q1", "d")]   # a new one
    assert second.kernels.from_earlier == 3 and second.kernels.reused == 0
    assert all(shelf.has(s, ("1", "1", "1")) for s in "abcd")   # all four back on the shelf

    monkeypatch.setenv("OMP_NUM_THREADS", "2")   # libraries sized for other thread settings: not taken
    third = Sim(jobs=1, seconds={}, shelf=shelf)
    third.run(quarter("Q3"), on_done=lambda f: None, on_group_end=lambda g, f: None)
    assert third.kernels.from_earlier == 0
    assert not {id(third.kernel_of[("Q3", s)]) for s in "abcd"} & {id(second.kernel_of[("Q2", s)]) for s in "abcd"}

    kept = [second.kernel_of[("Q2", s)] for s in "abcd"]
    shelf.close()
    assert all(k.closed for k in kept) and not shelf.enabled
    assert not shelf.put(FakeKernel("a"), ("1", "1", "1"))   # off: the caller closes it


def test_without_a_shelf_or_with_fresh_kernels_every_run_starts_its_own():
    shelf = execute.KernelShelf()
    shelf.enabled = True
    Sim(jobs=1, seconds={}, shelf=shelf, reuse_kernels=False).run(
        quarter("Q1"), on_done=lambda f: None, on_group_end=lambda g, f: None)
    assert not any(shelf.has(s, k) for s in "abcd" for k in [("1", "1", "1"), ("2", "2", "2")])


def test_thread_limit_divides_the_cores_among_the_jobs(monkeypatch):
    monkeypatch.setattr(execute.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert [execute.thread_limit(j) for j in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]
    pool = execute.KernelPool(Path("."), {}, jobs=2)
    for v in execute.THREAD_VARIABLES:
        monkeypatch.delenv(v, raising=False)
    env = pool.environment(task("Q1", "a"))
    assert all(env[v] == "4" for v in execute.THREAD_VARIABLES) and env["SEGREVIEW_PROGRESS"] == "p.log"
    monkeypatch.setenv("OMP_NUM_THREADS", "3")       # what the user sets wins
    assert pool.environment(task("Q1", "a"))["OMP_NUM_THREADS"] == "3"


def late_quarter(tmp_path: Path, order: str = "abc", writer_fails: bool = False) -> list[Task]:
    """a -> b; c needs a and reads b's artifact ``value_scores`` late (it runs beside b and waits for b's done file)."""
    done_b = tmp_path / "b.done"
    made = {
        "a": task("Q1", "a"),
        "b": replace(task("Q1", "b", {("Q1", "a")}), done_file=done_b),
        "c": replace(task("Q1", "c", {("Q1", "a")}), awaits=frozenset({("Q1", "b")}),
                     await_files=(("value_scores", str(done_b)),)),
    }
    return [made[k] for k in order]


def test_a_late_reader_runs_beside_its_writer_and_reads_after_it_ended(tmp_path):
    tasks = late_quarter(tmp_path)
    sim = Sim(jobs=2, seconds={("Q1", "a"): 0.05, ("Q1", "b"): 0.6, ("Q1", "c"): 0.1})
    sim.run(tasks, on_done=lambda f: None, on_group_end=lambda g, f: None)
    spans = sim.spans()
    read = next(t for e, k, t in sim.events if e == "read" and k == ("Q1", "c"))
    b0, b1 = spans[("Q1", "b")]
    assert spans[("Q1", "c")][0] < b1                 # beside b, not after it
    assert read >= b1 and spans[("Q1", "c")][1] >= b1   # but reads value_scores only once b has ended
    assert (tmp_path / "b.done").exists()


def test_a_late_reader_never_starts_before_its_writer(tmp_path):
    """Listed first, c still waits for b to start (it would otherwise hold a slot b may need)."""
    for jobs in (1, 2, 3):
        (tmp_path / "b.done").unlink(missing_ok=True)
        sim = Sim(jobs=jobs, seconds={("Q1", "b"): 0.3, ("Q1", "c"): 0.05})
        sim.run(late_quarter(tmp_path, order="acb"), on_done=lambda f: None, on_group_end=lambda g, f: None)
        spans = sim.spans()
        assert spans[("Q1", "c")][0] >= spans[("Q1", "b")][0], jobs
        if jobs == 1:                                  # one slot: c runs after b
            assert spans[("Q1", "c")][0] >= spans[("Q1", "b")][1]


def test_a_failed_writer_stops_its_late_reader_and_leaves_no_done_file(tmp_path):
    sim = Sim(jobs=2, seconds={("Q1", "b"): 0.3, ("Q1", "c"): 0.01}, failing={("Q1", "b")})
    ended: dict[str, object] = {}
    t0 = time.perf_counter()
    sim.run(late_quarter(tmp_path), on_done=lambda f: None, on_group_end=lambda g, f: ended.setdefault(g, f))
    assert time.perf_counter() - t0 < 10
    assert ended["Q1"].task.key == ("Q1", "b") and not (tmp_path / "b.done").exists()
    assert sim.kernel_of[("Q1", "c")].killed.is_set()
    assert not any(e == "read" and k == ("Q1", "c") for e, k, _ in sim.events)


def test_the_kernel_environment_names_what_its_notebook_awaits(tmp_path):
    pool = execute.KernelPool(Path("."), {}, jobs=2)
    c = late_quarter(tmp_path)[2]
    assert json.loads(pool.environment(c)[AWAIT_ENV]) == {"value_scores": str(tmp_path / "b.done")}
    assert json.loads(pool.environment(task("Q1", "a"))[AWAIT_ENV]) == {}   # a kept kernel forgets the last one's


def test_await_artifact_waits_for_the_done_file_and_only_under_the_runner(tmp_path, monkeypatch):
    done = tmp_path / "w.done"
    monkeypatch.delenv(AWAIT_ENV, raising=False)
    assert await_artifact("value_scores") == 0.0                  # a hand run: nothing awaited
    monkeypatch.setenv(AWAIT_ENV, json.dumps({"value_scores": str(done)}))
    assert await_artifact("clv") == 0.0                           # not one it reads late
    threading.Timer(0.3, done.touch).start()
    t = time.perf_counter()
    waited = await_artifact("value_scores", poll=0.01)
    assert done.exists() and waited >= 0.25 and time.perf_counter() - t >= 0.25
    assert await_artifact("value_scores") == 0.0                  # written: no wait


class Counting(Sim):
    """A Sim whose run uses `memory()` bytes (a function of the elapsed time) and records the kernels
    started ahead and closed."""

    def __init__(self, jobs: int, seconds: dict, budget: int | None, memory) -> None:
        super().__init__(jobs, seconds)
        self.memory_budget, self.t0 = budget, time.perf_counter()
        self.memory = lambda: memory(time.perf_counter() - self.t0)
        self.ahead_started: list[tuple[str, str]] = []
        self.closed: list[str] = []
        pool = self.kernels
        plain_start = pool.start_ahead

        self.most_ahead = 0

        def start_ahead(task):
            if task.key not in pool.ahead and task.step not in pool.idle:
                self.ahead_started.append(task.key)
            plain_start(task)
            self.most_ahead = max(self.most_ahead, len(pool.ahead))
        pool.start_ahead = start_ahead

        def new(task):
            k = FakeKernel(task.step)
            k.close = lambda k=k: self.closed.append(k.step)
            return k
        pool._new = new


GB = 10**9


def test_without_a_budget_kernels_wait_ahead_of_their_notebooks():
    tasks = quarter("Q1")
    sim = Counting(jobs=2, seconds={t.key: 0.3 for t in tasks}, budget=None, memory=lambda t: 100 * GB)
    sim.run(tasks, on_done=lambda f: None, on_group_end=lambda g, f: None)
    assert {("Q1", "b"), ("Q1", "d")} <= set(sim.ahead_started)


def test_a_memory_budget_starts_no_kernel_ahead_that_does_not_fit_and_every_task_still_runs():
    tasks = quarter("Q1")
    budget = 4 * GB
    # the run uses all but 0.2 GB of the budget: less than one kernel started ahead needs
    sim = Counting(jobs=2, seconds={t.key: 0.3 for t in tasks}, budget=budget,
                   memory=lambda t: budget - execute.AHEAD_KERNEL_BYTES + 10)
    ended = []
    sim.run(tasks, on_done=lambda f: None, on_group_end=lambda g, f: ended.append((g, f)))
    assert sim.ahead_started == []
    assert set(sim.spans()) == {t.key for t in tasks} and ended == [("Q1", None)]
    # room for exactly one: one kernel ahead at a time, never two
    sim = Counting(jobs=2, seconds={t.key: 0.3 for t in tasks}, budget=budget,
                   memory=lambda t: budget - execute.AHEAD_KERNEL_BYTES - 10)
    sim.run(tasks, on_done=lambda f: None, on_group_end=lambda g, f: None)
    assert sim.ahead_started[0] == ("Q1", "b") and sim.most_ahead == 1


def test_kernels_waiting_ahead_are_closed_when_the_run_outgrows_its_budget_and_not_restarted_at_once():
    """a runs 3 s and grows from 1 GB to 3.9 GB of a 4 GB budget after 0.5 s: the kernels started
    ahead for b and d are closed then, none is started again while the run stays that large, and b and d
    still run (cold). (The run stays at 3.9 GB to its end: a curve that fell at 3.0 s, the moment a was due
    to end, raced a's end on a loaded machine, and a fall while a still ran rightly starts them again once:
    see the next test.)"""
    tasks = quarter("Q1")
    sim = Counting(jobs=2, seconds={t.key: 0.05 for t in tasks} | {("Q1", "a"): 3.0}, budget=4 * GB,
                   memory=lambda t: 1 * GB if t < 0.5 else int(3.9 * GB))
    lines: list[str] = []
    sim.log = lines.append
    sim.run(tasks, on_done=lambda f: None, on_group_end=lambda g, f: None)
    assert sim.ahead_started[:2] == [("Q1", "b"), ("Q1", "d")]
    assert sorted(sim.closed[:2]) == ["b", "d"]
    assert sum(k == ("Q1", "b") for k in sim.ahead_started) == 1   # not restarted while over budget
    assert any(ln.startswith("memory: the run uses 3.9 GB of its 4.0 GB budget: 2 kernel(s)") for ln in lines)
    assert set(sim.spans()) == {t.key for t in tasks}


@pytest.mark.parametrize("text, n", [("4GB", 4 * 10**9), ("512MB", 512 * 10**6), ("3.5GiB", int(3.5 * 2**30)),
                                     (" 2 TB ", 2 * 10**12)])
def test_sizes_are_read_as_duckdb_reads_them(text, n):
    assert execute.parse_size(text) == n


@pytest.mark.parametrize("text", ["4", "4 G", "GB", "-1GB", "4gb"])
def test_a_size_that_is_not_one_says_the_form(text):
    with pytest.raises(ValueError, match="not a size such as 4GB"):
        execute.parse_size(text)


def test_the_run_memory_counts_this_process_and_its_children():
    import subprocess
    import sys

    import psutil
    alone = execute.run_memory()
    assert alone >= psutil.Process().memory_info().rss * 0.9
    child = subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(200 * 2**20); time.sleep(30)"])
    try:
        deadline = time.time() + 20
        while execute.run_memory() < alone + 150 * 2**20 and time.time() < deadline:
            time.sleep(0.1)
        assert execute.run_memory() >= alone + 150 * 2**20
    finally:
        child.kill()


def test_the_command_line_reads_the_budget_and_refuses_a_size_it_cannot_read(capsys):
    from helpers.run.cli import parser
    a = parser().parse_args(["run", "--params", "p.yaml", "--memory-budget", "4GB"])
    assert a.memory_budget == 4 * 10**9
    b = parser().parse_args(["backfill", "--params", "p.yaml", "--from", "2025Q1", "--to", "2025Q2",
                             "--memory-budget", "3.5GiB"])
    assert b.memory_budget == int(3.5 * 2**30)
    assert parser().parse_args(["run", "--params", "p.yaml"]).memory_budget is None
    with pytest.raises(SystemExit) as e:
        parser().parse_args(["run", "--params", "p.yaml", "--memory-budget", "lots"])
    assert e.value.code == 2 and "'lots' is not a size such as 4GB or 512MB" in capsys.readouterr().err


def test_a_kernel_kept_from_an_earlier_run_gets_the_next_run_s_environment_and_folder(tmp_path):
    """A real kernel reset for a later run (``whole``): the earlier run's variables are gone, the later
    run's are set, the working directory is the later run's; within a run, variables are only added."""
    import os

    import nbformat
    nb = nbformat.v4.new_notebook()
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    k = execute.WarmKernel("x", nb, a, {**os.environ, "SEGREVIEW_T_OLD": "1", "SEGREVIEW_T_BOTH": "old"})
    try:
        k.ready()
        env = {**os.environ, "SEGREVIEW_T_BOTH": "new", "SEGREVIEW_T_NEW": "2"}
        assert k.reuse(nb, b, env, whole=True)
        check = ("import os; e = os.environ; assert 'SEGREVIEW_T_OLD' not in e and e['SEGREVIEW_T_BOTH'] == 'new' "
                 f"and e['SEGREVIEW_T_NEW'] == '2' and os.getcwd() == {str(b)!r}")
        assert k._silently(check)
        assert not k._silently("assert 'SEGREVIEW_T_OLD' in __import__('os').environ")   # the check can fail
        assert k.reuse(nb, a, {"SEGREVIEW_T_ONLY_THIS": "3"})   # within a run: added, nothing removed
        assert k._silently("import os; assert os.environ['SEGREVIEW_T_NEW'] == '2' and "
                           f"os.environ['SEGREVIEW_T_ONLY_THIS'] == '3' and os.getcwd() == {str(a)!r}")
    finally:
        k.close()


def test_kernels_closed_for_memory_start_again_once_when_the_run_falls_far_enough():
    """a runs 3 s: 3.9 GB of a 4 GB budget from 0.5 s, then 1 GB from 1.2 s (it freed its working memory),
    3.9 GB again from 1.8 s and 1 GB from 2.4 s: the kernels for b and d are closed, started again once when
    it falls (with room for one more kernel to spare), closed again when it grows, and not started a third
    time while a runs; a fall that leaves no such room starts none."""
    tasks = quarter("Q1")

    def memory(t):
        if t >= 3.0:
            return 1 * GB
        return int(3.9 * GB) if 0.5 <= t < 1.2 or 1.8 <= t < 2.4 else 1 * GB
    sim = Counting(jobs=2, seconds={t.key: 0.05 for t in tasks} | {("Q1", "a"): 3.0}, budget=4 * GB, memory=memory)
    lines: list[str] = []
    sim.log = lines.append
    sim.run(tasks, on_done=lambda f: None, on_group_end=lambda g, f: None)
    assert sim.ahead_started[:4] == [("Q1", "b"), ("Q1", "d"), ("Q1", "b"), ("Q1", "d")]
    assert sum(k == ("Q1", "b") for k in sim.ahead_started) == 2
    assert sorted(sim.closed[:4]) == ["b", "b", "d", "d"]
    assert sum(ln.startswith("memory: the run is down to 1.0 GB of its 4.0 GB budget") for ln in lines) == 1
    assert set(sim.spans()) == {t.key for t in tasks}
    # falling to where two kernels fit but not a third: not started again
    budget = 4 * GB
    low = budget - 3 * execute.AHEAD_KERNEL_BYTES + 10
    sim = Counting(jobs=2, seconds={t.key: 0.05 for t in tasks} | {("Q1", "a"): 2.0}, budget=budget,
                   memory=lambda t: low if t < 0.5 or t >= 1.2 else int(3.9 * GB))
    sim.run(tasks, on_done=lambda f: None, on_group_end=lambda g, f: None)
    assert sum(k == ("Q1", "b") for k in sim.ahead_started) == 1
