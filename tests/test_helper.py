"""The second process a backfill renders in (helper.py): the same bytes as one process,
no process left behind, and never needed: a helper that fails or dies only costs time.

The history is constructed (tests/digestgen.py), 40 weeks, so there are a dozen archives.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, machine_lacks, run_cli, snapshot
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
    assert len(seen[helper]) == len(files) // 2  # every other one
    assert all(p.startswith("archive/") or p.count("/") <= 1 for p in seen[helper])
    assert gone(helper) and not Path(f"/proc/{helper}").exists()  # waited for, not a zombie


def test_a_regeneration_uses_the_helper_and_an_incremental_run_does_not(digests, alone, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert run_cli("update", digests, "-o", out, "--max-entries", "20").code == 0
    log = tmp_path / "log"
    recorded(monkeypatch, log)
    assert run_cli("update", "--regenerate", "-o", out, "--max-entries", "20").code == 0
    assert snapshot(out) == alone
    assert len(by_process(log)) == 2
    log.unlink()
    last = sorted(digests.iterdir())[-1]
    assert run_cli("update", last, "-o", out, "--max-entries", "20").code == 0
    assert snapshot(out) == alone  # the same digest again: nothing to render
    assert not log.exists() or set(by_process(log)) == {os.getpid()}


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
