"""Progress: stages written by helpers, followed by the runner, never written into notebooks."""

from __future__ import annotations

import threading
import time

from helpers.frame import progress


def test_stage_is_a_no_op_outside_a_run(monkeypatch, tmp_path):
    """Outside a run (no progress file named) stage() opens no file at all; inside one it appends to
    the named file; a file it cannot write never breaks the analysis."""
    opened: list[str] = []
    real_open = open

    def spy(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(progress, "open", spy, raising=False)   # the module's `open` before the builtin
    monkeypatch.chdir(tmp_path)
    for unset in ("", None):
        if unset is None:
            monkeypatch.delenv(progress.ENV, raising=False)
        else:
            monkeypatch.setenv(progress.ENV, unset)
        progress.stage("nothing to see")
    assert opened == [] and not list(tmp_path.iterdir())

    f = tmp_path / "run" / "progress.log"
    f.parent.mkdir()
    monkeypatch.setenv(progress.ENV, str(f))
    progress.stage("fitting")
    assert opened == [str(f)] and f.read_text(encoding="utf-8").split("\t")[1] == "fitting\n"

    monkeypatch.setenv(progress.ENV, str(tmp_path / "no such folder" / "progress.log"))
    progress.stage("still fine")                # an OSError is swallowed: progress never breaks a notebook
    assert not (tmp_path / "no such folder").exists()


def test_follower_passes_every_stage_once_in_order(monkeypatch, tmp_path):
    f = tmp_path / "progress.log"
    monkeypatch.setenv(progress.ENV, str(f))
    got: list[str] = []
    with progress.Follower(f, got.append, prefix="[2/6] 20_rfm", interval=0.01):
        def writer():
            for i in range(50):
                progress.stage(f"stage {i}\nwith a newline")
        t = threading.Thread(target=writer)
        t.start()
        t.join()
        time.sleep(0.05)
    assert [g.split("· ")[1].split(" (")[0] for g in got] == [f"stage {i} with a newline" for i in range(50)]
    assert all(g.startswith("[2/6] 20_rfm  · ") and g.endswith(" s)") for g in got)


def test_follower_reads_partial_lines_only_when_complete(tmp_path):
    f = tmp_path / "p.log"
    got: list[str] = []
    fol = progress.Follower(f, got.append)
    with open(f, "a", encoding="utf-8") as h:
        h.write("1.0\tfirst half, é")
    fol._drain()
    assert got == []
    with open(f, "a", encoding="utf-8") as h:
        h.write(" second half\n")
    fol._drain()
    assert len(got) == 1 and "first half, é second half" in got[0]


def test_cell_description_prefers_the_first_comment():
    assert progress.cell_description("# Fit the models\nx = 1") == "Fit the models"
    assert progress.cell_description("x = f(1)\n# later") == "later"
    assert progress.cell_description("x = f(1)") == "x = f(1)"
    assert progress.cell_description("") == ""
    long = progress.cell_description("y = " + "a" * 200, width=20)
    assert len(long) == 20 and long.endswith("…")
