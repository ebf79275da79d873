"""SPEC §4 under load and faults: concurrent runs, SIGKILL mid-write, full disk, read-only folder."""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import SAMPLE, machine_lacks, need_tool, run_cli, snapshot
from digestgen import history


def d2f(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "digest2feed", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kwargs)  # fmt: skip


def write_history(folder: Path, weeks: int, seed: int) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for name, text in history(weeks, 10, random.Random(seed)):
        paths.append(folder / name)
        paths[-1].write_text(text, encoding="utf-8")
    return paths


def assert_every_file_parses(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix == ".json":
            json.loads(path.read_bytes())
        elif path.suffix == ".xml":
            etree.fromstring(path.read_bytes())


def test_concurrent_runs_give_the_sequential_result(tmp_path):
    inputs = write_history(tmp_path / "in", 8, 11)
    one = tmp_path / "one"
    assert run_cli("update", *inputs, "-o", one, "--max-entries", "30").code == 0
    many = tmp_path / "many"
    procs = [d2f("update", path, "-o", many, "--max-entries", "30") for path in inputs]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert (p.returncode, err) == (0, b"")
    assert snapshot(many) == snapshot(one)


HOLD_LOCK = """
import sys, time
from pathlib import Path
from digest2feed.store import locked
with locked(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(600)
"""


def test_a_held_lock_serialises_and_a_killed_holder_frees_it(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], stdout=subprocess.PIPE)
    assert holder.stdout.readline() == b"locked\n"
    waiting = d2f("update", SAMPLE, "-o", out)
    with pytest.raises(subprocess.TimeoutExpired):
        waiting.wait(timeout=2)  # it waits for the lock rather than interleaving
    assert not (out / "atom.xml").exists()
    holder.send_signal(signal.SIGKILL)  # a run killed while holding the lock...
    holder.wait()
    assert waiting.wait(timeout=60) == 0  # ...never blocks the next one
    assert (out / "atom.xml").exists()


WRITE_CALLS = ("write", "fsync", "rename", "unlink")


def test_sigkill_at_every_write_leaves_old_or_new_files_and_the_next_run_completes(tmp_path):
    """strace kills the run on entering the k-th write, fsync, rename or unlink: every one of them."""
    strace = need_tool("strace")
    inputs = write_history(tmp_path / "in", 40, 12)
    base = tmp_path / "base"
    flags = ("-o", base, "--max-entries", "40", "--base-url", "https://x.example/")
    assert run_cli("update", *inputs[:20], *flags).code == 0
    old = snapshot(base)
    command = [sys.executable, "-m", "digest2feed", "update", *map(str, inputs[20:]), *map(str, flags[2:]), "-o"]

    def traced(work: Path, *options: str) -> None:
        subprocess.run([strace, "-f", "-qq", *options, *command, str(work)], capture_output=True, timeout=120)

    done = tmp_path / "done"
    shutil.copytree(base, done)
    trace = tmp_path / "trace"
    traced(done, "-o", str(trace), "-e", "trace=" + ",".join(WRITE_CALLS))
    new = snapshot(done)
    assert new != old
    counts = {call: 0 for call in WRITE_CALLS}
    for line in trace.read_text().splitlines():
        call = line.split(None, 1)[1].split("(", 1)[0]
        counts[call] += 1
    points = [(call, k) for call in WRITE_CALLS for k in range(1, counts[call] + 1)]
    assert len(points) >= 50, counts
    torn = 0
    for call, k in points:
        work = tmp_path / f"kill-{call}-{k}"
        shutil.copytree(base, work)
        traced(work, "-o", "/dev/null", "-e", f"trace={call}", "-e", f"inject={call}:signal=KILL:when={k}")
        now = snapshot(work)
        for name, data in now.items():
            assert data in (old.get(name), new.get(name)), f"killed at {call} #{k}: {name} is neither old nor new"
        assert_every_file_parses(work)
        torn += now not in (old, new)
        # The next run (the same delivery again) completes the work and clears the leftovers.
        assert run_cli("update", *inputs[20:], *flags[2:], "-o", work).code == 0
        assert snapshot(work) == new, f"killed at {call} #{k}"
        assert not list(work.rglob("*.d2f-tmp"))
        shutil.rmtree(work)
    print(f"{len(points)} kill points {counts}; {torn} left a mix of old and new files")


def limit_file_size(size: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))  # writes past it fail with EFBIG, as on a full disk

    return apply


def test_full_disk_gives_one_line_and_keeps_the_old_files(tmp_path):
    inputs = write_history(tmp_path / "in", 6, 13)
    out = tmp_path / "out"
    assert run_cli("update", *inputs[:3], "-o", out).code == 0
    before = snapshot(out)
    proc = d2f("update", *inputs[3:], "-o", out, preexec_fn=limit_file_size(64 * 1024))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    lines = err.decode().splitlines()
    assert len(lines) == 1 and "cannot write: File too large; no file was changed" in lines[0], err
    assert lines[0].startswith(f"digest2feed: {out}/")
    assert snapshot(out) == before
    assert not list(out.rglob("*.d2f-tmp"))


PROBE = "import sys, digest2feed.cli, lxml.etree, feedgen.feed, dateutil.parser; print(digest2feed.__file__)"


def reachable_packages(dest: Path) -> Path:
    """digest2feed and the installed distributions it needs at run time, copied to ``dest``:
    a checkout under a 0700 folder (root's home, where CI may clone) is out of an
    unprivileged user's reach, and so is its virtual environment."""
    import importlib.metadata as md

    import digest2feed

    shutil.copytree(Path(digest2feed.__file__).parent, dest / "digest2feed")
    todo, seen = ["feedgen", "lxml", "python-dateutil"], set()
    while todo:
        name = todo.pop()
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # an optional requirement of a requirement (tzdata), not installed here
        if dist.metadata["Name"].lower() in seen:
            continue
        seen.add(dist.metadata["Name"].lower())
        todo += [r.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip()
                 for r in dist.requires or () if "extra ==" not in r]  # fmt: skip
        for f in dist.files or ():
            source = Path(dist.locate_file(f))
            if ".." not in f.parts and source.is_file():
                (dest / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest / f)
    return dest


def unprivileged_python(drop: list[str], env: dict[str, str], packages: Path) -> str:
    """An interpreter of this Python version that the unprivileged user can run, importing
    digest2feed from ``packages``; a checkout under a 0700 folder may hide this venv's."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable, os.path.realpath(sys.executable), getattr(sys, "_base_executable", ""),
                  shutil.which(f"python{version}") or "", f"/usr/bin/python{version}"]  # fmt: skip
    tried = []
    for python in dict.fromkeys(c for c in candidates if c):
        probe = subprocess.run([*drop, python, "-c", PROBE + f"; assert sys.version.startswith('{version}.')"],
                               env=env, capture_output=True, text=True)  # fmt: skip
        if probe.returncode == 0 and probe.stdout.startswith(str(packages)):
            return python
        tried.append(f"{python}: {(probe.stderr.strip().splitlines() or ['?'])[-1]}")
    machine_lacks(f"the unprivileged user can run no Python {version} here ({'; '.join(tried)})")


def test_read_only_folder_gives_one_line_and_keeps_the_old_files():
    # Root ignores file modes, so the run drops to nobody; outside pytest's private (0700) tmp,
    # with everything nobody runs copied there too.
    drop = []
    if os.geteuid() == 0:
        drop = [need_tool("setpriv", "util-linux"), "--reuid=65534", "--regid=65534", "--clear-groups"]
    top = Path(tempfile.mkdtemp(prefix="d2f-ro-"))
    try:
        top.chmod(0o755)
        out = top / "out"
        assert run_cli("update", SAMPLE, "-o", out).code == 0
        for p in [out, *out.rglob("*")]:
            p.chmod(0o555 if p.is_dir() else 0o444)
        before = snapshot(out)
        digest = top / "d.txt"
        digest.write_text(SAMPLE.read_text(encoding="utf-8").replace("Apr 30, 2023", "May 07, 2023"))
        packages = reachable_packages(top / "site")
        for p in [top, digest, *packages.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        env = {**os.environ, "PYTHONPATH": str(packages), "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        python = unprivileged_python(drop, env, packages)
        cmd = [*drop, python, "-m", "digest2feed", "update", str(digest), "-o", str(out)]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 1, r.stderr
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and "Permission denied" in lines[0] and str(out) in lines[0], r.stderr
        assert snapshot(out) == before
    finally:
        for p in top.rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)
        shutil.rmtree(top)
