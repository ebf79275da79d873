"""The second process a backfill renders in (helper.py): the same bytes as one process,
no process left behind, and never needed: a helper that fails or dies only costs time.

The history is constructed (tests/digestgen.py), 40 weeks, so there are a dozen archives.
"""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, console_script, machine_lacks, run_cli, snapshot
from digest2feed import helper as helper_module
from digest2feed import pipeline
from digestgen import history


@pytest.fixture(scope="module")
def digests(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("history")
    for name, text in history(40, 12, random.Random(11)):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def alone(digests, tmp_path_factory) -> dict[str, bytes]:
    """The same backfill in one process: what every run here must write, byte for byte."""
    out = tmp_path_factory.mktemp("alone") / "out"
    mp = pytest.MonkeyPatch()
    mp.setattr(helper_module.Helper, "start", classmethod(lambda cls, work: None))
    try:
        assert run_cli("update", digests, "-o", out, "--max-entries", "20").code == 0
    finally:
        mp.undo()
    return snapshot(out)


@pytest.fixture(autouse=True)
def two_cpus() -> None:
    if len(os.sched_getaffinity(0)) < 2:
        machine_lacks("the helper needs two CPUs and this process may use one")


def recorded(monkeypatch, log: Path, fault=None) -> None:
    """Wrap the renderer, in this process and (forked from it) the helper, to note which
    process renders which file; ``fault(jobs_done_here)`` runs first in the helper."""
    real, parent, done = pipeline.render, os.getpid(), [0]

    def render(doc, entries, stamp):
        if os.getpid() != parent and fault:
            fault(done[0])
        done[0] += 1
        with log.open("a") as f:
            f.write(f"{os.getpid()} {doc.path}\n")
        return real(doc, entries, stamp)

    monkeypatch.setattr(pipeline, "render", render)


def by_process(log: Path) -> dict[int, list[str]]:
    seen: dict[int, list[str]] = {}
    for line in log.read_text().splitlines():
        pid, path = line.split(" ", 1)
        seen.setdefault(int(pid), []).append(path)
    return seen


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # exited; only its parent (or init, for an orphan) has yet to reap it


def test_a_backfill_renders_every_other_file_in_a_second_process(digests, alone, tmp_path, monkeypatch):
    log, out = tmp_path / "log", tmp_path / "out"
    recorded(monkeypatch, log)
    r = run_cli("update", digests, "-o", out, "--max-entries", "20")
    assert (r.code, r.err) == (0, "")
    assert snapshot(out) == alone
    seen = by_process(log)
    assert set(seen) - {os.getpid()}, "no file was rendered by another process"
    (helper,) = set(seen) - {os.getpid()}
    ours = seen[os.getpid()]
    files = sorted(p for p in alone if not p.startswith("."))
    assert sorted(ours + seen[helper]) == files  # each file rendered once, by one of the two
    # Every other one, but the search index: the whole history's entries, too many for the pipe.
    assert "search-index.js" in ours
    assert len(seen[helper]) == (len(files) - 1) // 2
    assert all(p.startswith("archive/") or p.count("/") <= 1 for p in seen[helper])
    assert gone(helper) and not Path(f"/proc/{helper}").exists()  # waited for, not a zombie


def test_a_regeneration_uses_the_helper(digests, alone, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert run_cli("update", digests, "-o", out, "--max-entries", "20").code == 0
    log = tmp_path / "log"
    recorded(monkeypatch, log)
    assert run_cli("update", "--regenerate", "-o", out, "--max-entries", "20").code == 0
    assert snapshot(out) == alone
    assert len(by_process(log)) == 2


def test_an_incremental_run_forks_no_helper(tmp_path, monkeypatch):
    """Only a backfill (no atom.xml yet) or a regeneration forks; an incremental run that
    renders files (a new digest) does not (a mail filter runs once per message)."""
    digests = tmp_path / "history"
    digests.mkdir()
    made = list(history(20, 8, random.Random(5)))
    for name, text in made[:-1]:
        (digests / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli("update", digests, "-o", out, "--max-entries", "20").code == 0
    last = tmp_path / made[-1][0]
    last.write_text(made[-1][1], encoding="utf-8")
    starts, rendered = [], []
    monkeypatch.setattr(helper_module.Helper, "start", classmethod(lambda cls, work: starts.append(1)))
    real = pipeline.render
    monkeypatch.setattr(pipeline, "render", lambda *a: rendered.append(a[0].path) or real(*a))
    r = run_cli("update", last, "-o", out, "--max-entries", "20")
    assert (r.code, r.err) == (0, "")
    assert rendered, "the new digest rendered nothing whole: this test would prove nothing"
    assert starts == []


@pytest.mark.parametrize(("platform", "cpus"), [("linux", {0}), ("darwin", {0, 1})], ids=["one-cpu", "macos"])
def test_no_helper_on_one_cpu_or_off_linux(monkeypatch, platform, cpus):
    """One usable CPU: a helper only adds a process; off Linux fork is unsafe or missing."""
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cpus, raising=False)
    started = helper_module.Helper.start(lambda: b"")
    if started is not None:
        started.stop()
    assert started is None


@pytest.mark.parametrize("how", ["raises", "is killed"])
def test_a_helper_that_fails_midway_costs_nothing_but_time(digests, alone, tmp_path, monkeypatch, how):
    def fault(done: int) -> None:
        if done == 2:  # its third file
            if how == "raises":
                raise RuntimeError("a bug in the helper")
            os.kill(os.getpid(), signal.SIGKILL)

    log, out = tmp_path / "log", tmp_path / "out"
    recorded(monkeypatch, log, fault)
    r = run_cli("update", digests, "-o", out, "--max-entries", "20")
    assert (r.code, r.out, r.err) == (0, "", "")
    assert snapshot(out) == alone
    seen = by_process(log)
    (helper,) = set(seen) - {os.getpid()}
    assert len(seen[helper]) == 2  # two files, then the fault: this process rendered all the rest
    assert sorted(seen[os.getpid()] + seen[helper]) == sorted(p for p in alone if not p.startswith("."))
    assert not Path(f"/proc/{helper}").exists()


def test_a_run_that_fails_stops_its_helper_and_writes_nothing(digests, tmp_path, monkeypatch):
    log, out = tmp_path / "log", tmp_path / "out"
    real, parent, done = pipeline.render, os.getpid(), [0]

    def render(doc, entries, stamp):
        with log.open("a") as f:
            f.write(f"{os.getpid()} {doc.path}\n")
        if os.getpid() == parent:
            done[0] += 1
            if done[0] == 3:
                raise OSError(28, "No space left on device", str(out / doc.path))
        return real(doc, entries, stamp)

    monkeypatch.setattr(pipeline, "render", render)
    r = run_cli("update", digests, "-o", out, "--max-entries", "20")
    assert r.code == 1
    assert r.err.endswith(": cannot write: No space left on device; no file was changed\n")
    (helper,) = set(by_process(log)) - {os.getpid()}
    assert not Path(f"/proc/{helper}").exists()
    assert sorted(p.name for p in out.iterdir()) == [".digest2feed.lock"]


KILLED_PARENT = """
import os, sys, time
from digest2feed import cli, pipeline
real = pipeline.render
def render(doc, entries, stamp):
    with open(sys.argv[1], "a") as f:
        f.write(f"{os.getpid()} {doc.path}\\n")
    time.sleep(0.3)
    return real(doc, entries, stamp)
pipeline.render = render
sys.exit(cli.main(["update", sys.argv[2], "-o", sys.argv[3], "--max-entries", "20"]))
"""


def test_a_helper_whose_parent_is_killed_exits_by_itself(digests, alone, tmp_path):
    """SIGKILL leaves no process behind: the helper sees its pipe close and exits."""
    log, out = tmp_path / "log", tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    run = subprocess.Popen([sys.executable, "-c", KILLED_PARENT, log, digests, out], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (log.exists() and len(by_process(log)) == 2):
        time.sleep(0.05)
    seen = by_process(log)
    assert len(seen) == 2, seen
    (helper,) = set(seen) - {run.pid}
    run.send_signal(signal.SIGKILL)
    assert run.wait(10) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not gone(helper):
        time.sleep(0.05)
    assert gone(helper)
    assert run_cli("update", digests, "-o", out, "--max-entries", "20").code == 0  # and the next run completes
    assert snapshot(out) == alone


def test_no_helper_is_forked_beside_a_callers_threads(digests, alone, tmp_path, monkeypatch):
    """A program calling the library with threads running: fork would copy locks they hold."""
    log, out = tmp_path / "log", tmp_path / "out"
    recorded(monkeypatch, log)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        r = run_cli("update", digests, "-o", out, "--max-entries", "20")
    finally:
        stop.set()
        other.join()
    assert (r.code, r.err) == (0, "")
    assert snapshot(out) == alone
    assert set(by_process(log)) == {os.getpid()}


# Found by the review of this code (TESTING.md): each failed on it.


def test_a_backfill_with_stdout_closed_completes(digests, alone, tmp_path):
    """Started with fd 1 closed (a cron line ending in `>&-`, a daemon's child), Python sets
    sys.stdout to None: flushing it before the fork was a traceback, exit 1, nothing written."""
    out = tmp_path / "out"
    cmd = f'exec "{console_script()}" update "{digests}" -o "{out}" --max-entries 20 >&-'
    r = subprocess.run(["sh", "-c", cmd], capture_output=True, timeout=120)
    assert (r.returncode, r.stderr) == (0, b""), r.stderr.decode()[-300:]
    assert snapshot(out) == alone


def test_a_helper_whose_pipe_cannot_be_made_costs_nothing(digests, alone, tmp_path, monkeypatch):
    """Out of file descriptors: the run goes on alone (Pipe's OSError ended it with a traceback)."""

    def no_pipe():
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(helper_module, "Pipe", no_pipe)
    r = run_cli("update", digests, "-o", tmp_path / "out", "--max-entries", "20")
    assert (r.code, r.err) == (0, "")
    assert snapshot(tmp_path / "out") == alone


SIGCHLD_IGNORED = """
import signal, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # as some daemons leave it: children reaped by the kernel
from digest2feed import cli
sys.exit(cli.main(["update", sys.argv[1], "-o", sys.argv[2], "--max-entries", "20"]))
"""


def test_a_backfill_under_an_ignored_sigchld_completes(digests, alone, tmp_path):
    """SIG_IGN for SIGCHLD is inherited across exec, and waitpid then fails with ECHILD:
    the helper's exit must not fail the run."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    run = [sys.executable, "-c", SIGCHLD_IGNORED, digests, tmp_path / "out"]
    ignored = subprocess.run(run, env=env, capture_output=True, timeout=120)
    assert (ignored.returncode, ignored.stderr) == (0, b"")
    assert snapshot(tmp_path / "out") == alone
