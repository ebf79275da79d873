"""No path inside the output folder is followed through a symbolic link (issue 19).

Each test starts from a good output folder, puts a link where digest2feed reads or
writes, runs an update that would change files, and checks: exit 1, one line naming
the link, and every byte, mode and link inside the folder and outside it as before.
The links and "other sites" are constructed here.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from conftest import FIXTURES, SAMPLE, run_cli

DAILY = FIXTURES / "daily-2025-11-06.txt"
LINKED = "is a symbolic link; refusing to follow it"


def tree(folder: Path) -> dict[str, tuple]:
    """Everything under ``folder``, links not followed: (kind, mode, bytes or link target)."""
    out: dict[str, tuple] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            st = p.lstat()
            rel = p.relative_to(folder).as_posix()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), p.read_bytes())
    return out


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, Path]:
    """Our output folder (archives included: a window of 5) and another site's beside it."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    assert run_cli("update", SAMPLE, "-o", ours, "--max-entries", "5").code == 0
    assert run_cli("update", SAMPLE, "-o", theirs, "--max-entries", "3").code == 0
    assert (ours / "archive" / "2023-04.xml").is_file()
    return ours, theirs


def refused(tmp_path: Path, ours: Path, link: Path) -> None:
    before = tree(tmp_path)
    r = run_cli("update", DAILY, "-o", ours, "--max-entries", "5")
    assert r.code == 1
    assert r.err.splitlines() == [f"digest2feed: {link}: {LINKED}"]
    assert tree(tmp_path) == before


def test_a_view_folder_linked_outside_is_refused_and_the_outside_folder_keeps_its_mode(tmp_path, site):
    ours, _ = site
    outside = tmp_path / "private"
    outside.mkdir(mode=0o700)
    os.chmod(outside, 0o700)
    shutil.rmtree(ours / "accepted")
    (ours / "accepted").symlink_to(outside)
    refused(tmp_path, ours, ours / "accepted")
    assert stat.S_IMODE(outside.stat().st_mode) == 0o700 and not any(outside.iterdir())


def test_an_archive_folder_linked_to_another_sites_archive_is_refused(tmp_path, site):
    ours, theirs = site
    shutil.rmtree(ours / "archive")
    (ours / "archive").symlink_to(theirs / "archive")
    refused(tmp_path, ours, ours / "archive")


@pytest.mark.parametrize("name", ["atom.xml", "rss.xml", "feed.json", "accepted/atom.xml", "archive/2023-04.xml"])
def test_a_feed_file_linked_to_another_sites_file_is_refused(tmp_path, site, name):
    ours, theirs = site
    (ours / name).unlink()
    (ours / name).symlink_to(theirs / name)
    refused(tmp_path, ours, ours / name)


def test_a_pending_marker_linked_to_a_file_does_not_truncate_it(tmp_path, site):
    ours, _ = site
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (ours / ".digest2feed.pending").symlink_to(victim)
    refused(tmp_path, ours, ours / ".digest2feed.pending")
    assert victim.read_text() == "precious\n"


def test_a_lock_linked_to_a_missing_path_creates_nothing_there(tmp_path, site):
    ours, _ = site
    (ours / ".digest2feed.lock").unlink()
    (ours / ".digest2feed.lock").symlink_to(tmp_path / "created-outside")
    refused(tmp_path, ours, ours / ".digest2feed.lock")
    assert not (tmp_path / "created-outside").exists()


def test_an_imap_checkpoint_linked_outside_is_refused(tmp_path, site):
    ours, _ = site
    outside = tmp_path / "checkpoint.json"
    outside.write_text('{"version": 1}\n')
    (ours / ".digest2feed.imap.json").symlink_to(outside)
    refused(tmp_path, ours, ours / ".digest2feed.imap.json")


def test_a_subfolder_linked_to_another_output_folder_is_never_looked_into(tmp_path, site):
    """The README's CI recipe strips dot files before publishing: the other folder has no lock."""
    ours, theirs = site
    for dot in theirs.glob(".digest2feed.*"):
        dot.unlink()
    (ours / "mirror").symlink_to(theirs)
    before = tree(theirs)
    r = run_cli("update", DAILY, "-o", ours, "--max-entries", "5")
    assert r.code == 0 and LINKED not in r.err
    assert tree(theirs) == before
    assert (ours / "mirror").is_symlink()


def test_the_output_folder_itself_may_be_a_link(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "out").symlink_to(real)
    r = run_cli("update", SAMPLE, "-o", tmp_path / "out")
    assert (r.code, r.err) == (0, "")
    assert (real / "atom.xml").is_file() and (tmp_path / "out").is_symlink()


def test_a_hard_link_to_an_outside_file_is_replaced_never_written_through(tmp_path, site):
    ours, _ = site
    outside = tmp_path / "outside-atom.xml"
    os.link(ours / "atom.xml", outside)
    old = outside.read_bytes()
    assert run_cli("update", DAILY, "-o", ours, "--max-entries", "5").code == 0
    assert outside.read_bytes() == old
    assert (ours / "atom.xml").read_bytes() != old
    assert (ours / "atom.xml").stat().st_ino != outside.stat().st_ino


def test_as_an_ordinary_user_too_a_linked_view_folder_and_marker_are_refused():
    """Root bypasses file modes, so the same refusals run once as nobody (CI runs as root)."""
    import subprocess
    import tempfile

    from test_reliability import need_tool, reachable_packages, unprivileged_python

    drop = []
    if os.geteuid() == 0:
        drop = [need_tool("setpriv", "util-linux"), "--reuid=65534", "--regid=65534", "--clear-groups"]
    top = Path(tempfile.mkdtemp(prefix="d2f-links-"))
    try:
        top.chmod(0o755)
        ours, outside, victim = top / "ours", top / "private", top / "victim.txt"
        assert run_cli("update", SAMPLE, "-o", ours).code == 0
        outside.mkdir()
        victim.write_text("precious\n")
        shutil.rmtree(ours / "accepted")
        (ours / "accepted").symlink_to(outside)
        (ours / ".digest2feed.pending").symlink_to(victim)
        packages = reachable_packages(top / "site")
        for p in [top, *packages.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        if drop:
            for p in [ours, *ours.rglob("*"), outside, victim]:
                os.chown(p, 65534, 65534, follow_symlinks=False)
        outside.chmod(0o700)
        victim.chmod(0o600)
        before = tree(top)
        env = {**os.environ, "PYTHONPATH": str(packages), "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        python = unprivileged_python(drop, env, packages)
        cmd = [*drop, python, "-m", "digest2feed", "update", str(DAILY), "-o", str(ours)]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        assert (r.returncode, r.stderr) == (1, f"digest2feed: {ours / '.digest2feed.pending'}: {LINKED}\n")
        assert tree(top) == before
        (ours / ".digest2feed.pending").unlink()
        before = tree(top)
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        assert (r.returncode, r.stderr) == (1, f"digest2feed: {ours / 'accepted'}: {LINKED}\n")
        assert tree(top) == before and victim.read_text() == "precious\n"
        assert stat.S_IMODE(outside.stat().st_mode) == 0o700 and not any(outside.iterdir())
    finally:
        for p in top.rglob("*"):
            if not p.is_symlink():
                p.chmod(0o755 if p.is_dir() else 0o644)
        shutil.rmtree(top)
