"""SPEC §4 under load and faults: concurrent runs, SIGKILL mid-write, full disk, read-only folder."""

from __future__ import annotations

import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from conftest import SAMPLE, console_script, machine_lacks, need_tool, run_cli, snapshot
from digest2feed import store
from digestgen import Item, digest_text, history


def d2f(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "digest2feed", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kwargs)  # fmt: skip


def write_history(folder: Path, weeks: int, seed: int, per_week: int = 10) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for name, text in history(weeks, per_week, random.Random(seed)):
        paths.append(folder / name)
        paths[-1].write_text(text, encoding="utf-8")
    return paths


def assert_every_file_parses(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.name.startswith(".") or not path.is_file():
            continue
        data = path.read_bytes()
        if path.suffix == ".json":
            json.loads(data)
        elif path.suffix == ".xml":
            etree.fromstring(data)
        elif path.name == "search-index.js":  # one JSON document in one call
            json.loads(data[data.index(b"(") + 1 : data.rindex(b");\n")])
        elif path.suffix in (".html", ".js"):  # whole: the fingerprint closes the file
            assert re.search(rb"<!-- digest2feed [0-9a-f]{64} -->\n$", data), path


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


# Papers of a month of their own, never accepted: archived while the window is small, back in the
# window (and their archive month stale, so deleted) once it grows. Constructed for this test.
OLD_MONTH = digest_text(
    date(2021, 12, 5),
    submitted=[Item(f"OldSub{n:04d}", f"An old submission {n}", abstract="Never accepted.") for n in range(3)],
)
# The system calls that change the folder. store.commit links, renames and removes through the
# descriptor of each file's folder (linkat, renameat, unlinkat); the old versions and the marker
# go by path at the end (unlink).
WRITE_CALLS = ("write", "fsync", "linkat", "renameat", "unlinkat", "unlink")


def test_sigkill_at_every_write_leaves_old_or_new_files_and_the_next_run_completes(tmp_path):
    """strace kills the run on entering the k-th write, fsync, link, rename or unlink: every one.

    The run delivers six weeks of digests while max_entries grows from 30 to 1000, so it
    rewrites every feed, moves entries from the archives back into atom.xml (and others out
    of it), and deletes the archive month that empties. Fewer outputs than the defaults
    (one view, two formats, papers.bib, the page and feeds.opml) keep the number of kill points,
    and the time, down.
    """
    strace = need_tool("strace")
    inputs = write_history(tmp_path / "in", 20, 12, per_week=8)
    (tmp_path / "in" / "old.txt").write_text(OLD_MONTH, encoding="utf-8")
    cfg = tmp_path / "d2f.toml"
    cfg.write_text('views = ["accepted"]\nformats = ["atom", "json"]\nbase_url = "https://x.example/"\n')
    base = tmp_path / "base"
    r = run_cli("update", tmp_path / "in" / "old.txt", *inputs[:14], "-c", cfg, "-o", base, "--max-entries", "30")
    assert r.code == 0, r.err
    old = snapshot(base)
    flags = ("-c", str(cfg), "--max-entries", "1000")
    command = [str(console_script()), "update", *map(str, inputs[14:]), *flags, "-o"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # only the run's own writes are traced

    def traced(work: Path, *options: str) -> int:
        run = [strace, "-f", "-qq", *options, *command, str(work)]
        return subprocess.run(run, capture_output=True, timeout=120, env=env).returncode

    done = tmp_path / "done"
    shutil.copytree(base, done)
    trace = tmp_path / "trace"
    assert traced(done, "-o", str(trace), "-e", "trace=" + ",".join(WRITE_CALLS)) == 0
    new = snapshot(done)
    stale = sorted(set(old) - set(new))
    assert stale == ["archive/2021-12.xml"]
    assert sorted(p.name for p in done.iterdir() if p.name.startswith(".")) == [".digest2feed.lock"]
    counts = {call: 0 for call in WRITE_CALLS}
    for line in trace.read_text().splitlines():
        counts[line.split(None, 1)[1].split("(", 1)[0]] += 1
    # What store.commit promises, counted by hand: each changed file written, fsynced and renamed
    # once; each replaced one linked to its old version first, that link unlinked at the end; the
    # pending marker removed if there (a new one is never opened over an old one), created, its
    # folder synced, and unlinked at the end; the folders synced before the renames, after them
    # (and the stale month's removal), after the old versions' removal, and the folder last.
    changed = [name for name, data in new.items() if old.get(name) != data]
    replaced = [name for name in changed if name in old]
    parents = {str(Path(name).parent) for name in changed} | {"."}
    after = parents | {str(Path(name).parent) for name in stale}
    c, r = len(changed), len(replaced)
    assert counts == {
        "write": c,
        "fsync": c + 1 + len(parents) + len(after) + len({str(Path(name).parent) for name in replaced}) + 1,
        "linkat": r,
        "renameat": c,
        "unlinkat": 1 + len(stale),
        "unlink": r + 1,
    }
    # The figures the README quotes. The 20 changed: atom.xml, feed.json, accepted/atom.xml,
    # accepted/feed.json, accepted/papers.bib, feeds.opml, index.html, 4 archive months (one new), the
    # index of weeks, search-index.js, the 6 new weeks' pages and the page of the week before them.
    assert (c, r, sum(counts.values())) == (20, 13, 103)
    points = [(call, k) for call in WRITE_CALLS for k in range(1, counts[call] + 1)]

    def kill(point: tuple[str, int]) -> tuple[str, int, Path, int]:
        call, k = point
        work = tmp_path / f"kill-{call}-{k}"
        shutil.copytree(base, work)
        inject = f"inject={call}:signal=KILL:when={k}"
        return call, k, work, traced(work, "-o", "/dev/null", "-e", f"trace={call}", "-e", inject)

    torn = []
    # The killed runs are processes: two at a time, while this thread checks the ones done, in order.
    with ThreadPoolExecutor(max_workers=2) as pool:
        for call, k, work, killed in pool.map(kill, points):
            assert killed == -signal.SIGKILL, f"{call} #{k}: the run was not killed ({killed})"
            now = snapshot(work)
            for name, data in now.items():
                assert data in (old.get(name), new.get(name)), f"killed at {call} #{k}: {name} is neither old nor new"
            assert_every_file_parses(work)
            if now not in (old, new):
                torn.append((call, k))
            if call == "renameat":  # atom.xml is renamed last: until then readers see the old feed,
                # whose archive links all still exist, beside whatever archives are new already
                assert now["atom.xml"] == old["atom.xml"], f"killed at {call} #{k}: atom.xml is new already"
            # The next run (the same delivery again) completes the work and clears the leftovers.
            assert run_cli("update", *inputs[14:], *flags, "-o", work).code == 0
            assert snapshot(work) == new, f"killed at {call} #{k}"
            assert sorted(p.name for p in work.rglob(".*")) == [".digest2feed.lock"]
            shutil.rmtree(work)
    # Caught between the first rename and the stale month's removal: every later rename, and the
    # unlink of that month (all files new, the empty month not yet gone). Nowhere else.
    assert torn == [("renameat", k) for k in range(2, c + 1)] + [("unlinkat", 2)]


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


def test_a_failed_first_run_into_a_new_nested_folder_leaves_no_folder_and_no_lock(tmp_path):
    """Issue 19: it left a/b/.digest2feed.lock (and a/, a/b/) behind."""
    proc = d2f("update", SAMPLE, "-o", tmp_path / "a" / "b", preexec_fn=limit_file_size(16 * 1024))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "no file was changed" in err.decode(), err
    assert list(tmp_path.iterdir()) == []


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


# A failed write leaves no folder it made (found missing by the review of the helper's change).


def test_make_folder_returns_the_folders_it_made_outermost_first(tmp_path):
    (tmp_path / "there").mkdir()
    made = store.make_folder(tmp_path / "there" / "a" / "b")
    assert made == [tmp_path / "there" / "a", tmp_path / "there" / "a" / "b"]
    assert store.make_folder(tmp_path / "there" / "a" / "b") == []


def test_a_failed_write_removes_nested_folders_it_made_and_keeps_empty_ones_it_found(tmp_path):
    folder = tmp_path / "out"
    (folder / "kept").mkdir(parents=True)  # empty, and not the run's to remove
    (folder / "index.html").write_bytes(b"old\n")

    def files():
        yield "a/b/c/feed.xml", b"<feed/>\n"
        yield "kept/feed.xml", b"<feed/>\n"
        raise OSError(28, "No space left on device", str(folder / "x"))

    with pytest.raises(OSError):
        store.commit(folder, files(), [], last="index.html")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == ["index.html", "kept"]


def test_a_write_that_fails_while_making_nested_folders_removes_the_ones_made(tmp_path, monkeypatch):
    """make_folder made `a`, then failed on `a/b` (no inode left): commit never learnt of `a`."""
    folder = tmp_path / "out"
    folder.mkdir()
    real = os.mkdir

    def mkdir(path, *args, **kwargs):  # the store makes folders through their parent's descriptor
        if os.fspath(path).endswith("b"):
            raise OSError(28, "No space left on device", os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(store.os, "mkdir", mkdir)
    with pytest.raises(OSError):
        store.commit(folder, iter([("a/b/feed.xml", b"<feed/>\n")]), [], last="feed.xml")
    assert list(folder.iterdir()) == []


def test_a_rename_that_fails_midway_says_files_were_replaced_and_the_next_run_completes(tmp_path, monkeypatch):
    """Issue 20: an OSError after the first rename was reported as "no file was changed"."""
    inputs = write_history(tmp_path / "in", 4, 29)
    out, once = tmp_path / "out", tmp_path / "once"
    assert run_cli("update", *inputs[:2], "-o", out).code == 0
    real, calls = os.replace, [0]

    def replace(src, dst, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 2:
            raise OSError(5, "Input/output error", str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(store.os, "replace", replace)
    r = run_cli("update", *inputs[2:], "-o", out)
    monkeypatch.undo()
    assert r.code == 1
    (line,) = r.err.splitlines()
    assert line.startswith(f"digest2feed: {out}/") and line.endswith(
        ": cannot write: Input/output error; some files were replaced, and the next run completes the update"
    )
    assert "no file was changed" not in r.err and (out / ".digest2feed.pending").exists()
    assert run_cli("update", *inputs[2:], "-o", out).code == 0
    assert run_cli("update", *inputs, "-o", once).code == 0
    assert snapshot(out) == snapshot(once)
