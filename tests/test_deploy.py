"""Deployment: what a web server and a folder's other owners see after a run."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, SAMPLE, mtimes, run_cli, snapshot

PRIVATE = {".digest2feed.lock", ".digest2feed.pending"}  # may stay private: never served


def modes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): oct(stat.S_IMODE(p.stat().st_mode))
        for p in [folder, *folder.rglob("*")]
        if p.name not in PRIVATE
    }


@pytest.mark.parametrize("umask", [0o077, 0o007], ids=["umask-077", "umask-007"])
def test_output_is_world_readable_whatever_the_umask(tmp_path, umask):
    """procmail runs its pipes under umask 077, maildrop under 007: the web server must still read
    every file and enter every folder, including the folders created on the way to the output."""
    out = tmp_path / "www" / "tmlr"
    script = f"import os, sys; os.umask({umask:#o}); from digest2feed.cli import main; sys.exit(main(sys.argv[1:]))"
    for digest in (SAMPLE, FIXTURES / "certifications-2024-03-10.txt"):
        r = subprocess.run(
            [sys.executable, "-c", script, "update", str(digest), "-o", str(out), "--max-entries", "5"],
            capture_output=True,
            text=True,
        )
        assert (r.returncode, r.stderr) == (0, "")
    seen = modes(out)
    assert {"archive", "accepted", "submissions", "certified", "atom.xml", "accepted/rss.xml"} <= set(seen)
    assert any(name.startswith("archive/") for name in seen)  # max_entries 5 moved entries to the archive
    wrong = {name: mode for name, mode in seen.items() if mode != ("0o755" if (out / name).is_dir() else "0o644")}
    assert wrong == {}
    assert oct(stat.S_IMODE((tmp_path / "www").stat().st_mode)) == "0o755"


def test_view_folders_made_private_by_an_earlier_version_are_opened_again(out):
    """Before this fix the folders came out drwx------ under procmail: the next run, even one
    that changes no file, makes them 0755 so the web server can enter them."""
    assert run_cli("update", SAMPLE, "-o", out).code == 0
    for sub in ("accepted", "submissions", "certified"):
        os.chmod(out / sub, 0o700)
    times = mtimes(out)
    assert run_cli("update", SAMPLE, "-o", out).code == 0
    assert mtimes(out) == times  # no file rewritten
    assert {sub: oct(stat.S_IMODE((out / sub).stat().st_mode)) for sub in ("accepted", "submissions", "certified")} == {
        "accepted": "0o755",
        "submissions": "0o755",
        "certified": "0o755",
    }


def test_existing_output_folder_keeps_its_own_mode(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    os.chmod(out, 0o750)  # the owner's choice, e.g. served through a group
    assert run_cli("update", SAMPLE, "-o", out).code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o750


def test_files_of_others_are_never_overwritten_even_without_atom(tmp_path):
    """A folder already holding someone's own index.html and rss.xml, and no atom.xml yet."""
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("<html><body>My home page</body></html>\n")
    (out / "rss.xml").write_text('<?xml version="1.0"?><rss version="2.0"><channel/></rss>\n')
    before = snapshot(out)
    r = run_cli("update", SAMPLE, "-o", out)
    assert r.code == 1
    why = "was not written by digest2feed (no fingerprint); refusing to overwrite it"
    assert r.err.splitlines() == [
        f"digest2feed: {out / 'index.html'}: {why}",
        f"digest2feed: {out / 'rss.xml'}: {why}",
    ]
    assert snapshot(out) == before  # no atom.xml, no view folder, nothing else
    assert sorted(p.name for p in out.iterdir()) == [".digest2feed.lock", "index.html", "rss.xml"]


def test_a_foreign_file_in_a_view_folder_is_refused(out):
    """Someone replaced a view's JSON feed with their own (a hand-edited copy, another tool's output)."""
    assert run_cli("update", SAMPLE, "-o", out).code == 0
    (out / "certified" / "feed.json").write_text('{"version": "https://jsonfeed.org/version/1.1"}\n')
    before, times = snapshot(out), mtimes(out)
    r = run_cli("update", FIXTURES / "certifications-2024-03-10.txt", "-o", out)
    assert r.code == 1
    assert r.err == (
        f"digest2feed: {out / 'certified' / 'feed.json'}: "
        "was not written by digest2feed (no fingerprint); refusing to overwrite it\n"
    )
    assert snapshot(out) == before and mtimes(out) == times
    (out / "certified" / "feed.json").unlink()  # once it is moved away, the run goes ahead and writes ours
    r = run_cli("update", FIXTURES / "certifications-2024-03-10.txt", "-o", out)
    assert r.code == 0, r.err
    assert b"Xy_Z-09876" in (out / "certified" / "feed.json").read_bytes()


def test_a_foreign_archive_is_refused(out):
    """An archive document the run would write, already there and not ours."""
    assert run_cli("update", SAMPLE, "-o", out, "--max-entries", "5").code == 0
    assert sorted(p.name for p in (out / "archive").iterdir()) == ["2023-04.xml"]
    (out / "archive" / "2024-03.xml").write_text("<notes>mine</notes>\n")
    before = snapshot(out)
    r = run_cli("update", FIXTURES / "certifications-2024-03-10.txt", "-o", out, "--max-entries", "5")
    assert r.code == 1 and snapshot(out) == before
    assert r.err.startswith(f"digest2feed: {out / 'archive' / '2024-03.xml'}: ") and r.err.count("\n") == 1
    assert "refusing to touch it" in r.err


def test_a_state_file_whose_fingerprint_was_damaged_is_refused_as_damaged(out):
    """An archive of ours, read fine by the state scan, whose closing fingerprint lost a
    character (found by test_fuzz): refused as damaged, not called someone else's file."""
    assert run_cli("update", SAMPLE, "-o", out, "--max-entries", "5").code == 0
    archive = out / "archive" / "2023-04.xml"
    data = archive.read_bytes()
    at = data.rindex(b"<!-- digest2feed ") + len(b"<!-- digest2feed ")
    archive.write_bytes(data[:at] + b" " + data[at + 1 :])  # the fingerprint's first hex digit
    before, times = snapshot(out), mtimes(out)
    r = run_cli("update", FIXTURES / "certifications-2024-03-10.txt", "-o", out, "--max-entries", "5")
    assert (r.code, r.out) == (1, "")
    assert r.err == (
        f"digest2feed: {archive}: a state file whose fingerprint is damaged or missing; refusing to touch it\n"
    )
    assert snapshot(out) == before and mtimes(out) == times


def test_an_atom_xml_whose_fingerprint_was_damaged_is_refused_as_damaged(out):
    assert run_cli("update", SAMPLE, "-o", out, "--max-entries", "5").code == 0
    atom = out / "atom.xml"
    data = atom.read_bytes()
    at = data.rindex(b"<!-- digest2feed ") + len(b"<!-- digest2feed ")
    atom.write_bytes(data[:at] + b" " + data[at + 1 :])
    before, times = snapshot(out), mtimes(out)
    r = run_cli("update", FIXTURES / "certifications-2024-03-10.txt", "-o", out, "--max-entries", "5")
    assert (r.code, r.out) == (1, "")
    assert r.err == f"digest2feed: {atom}: a state file whose fingerprint is damaged or missing; refusing to touch it\n"
    assert snapshot(out) == before and mtimes(out) == times


def test_a_foreign_file_where_a_feed_of_your_own_goes_is_refused(tmp_path):
    """Combination: [[feeds]] names a folder that already holds someone's own files, and the
    output folder holds someone's feeds.opml. Nothing is written; once moved away, the run goes ahead."""
    out = tmp_path / "out"
    (out / "reading").mkdir(parents=True)
    (out / "reading" / "atom.xml").write_text('<feed xmlns="http://www.w3.org/2005/Atom"><title>mine</title></feed>\n')
    (out / "feeds.opml").write_text('<opml version="2.0"><head/><body/></opml>\n')
    cfg = tmp_path / "digest2feed.toml"
    cfg.write_text('[[feeds]]\nname = "reading"\nmatch = ["fairness"]\n')
    before = snapshot(out)
    r = run_cli("update", SAMPLE, "-c", cfg, "-o", out)
    why = "was not written by digest2feed (no fingerprint); refusing to overwrite it"
    assert (r.code, r.out) == (1, "")
    assert r.err.splitlines() == [
        f"digest2feed: {out / 'feeds.opml'}: {why}",
        f"digest2feed: {out / 'reading' / 'atom.xml'}: {why}",
    ]
    assert snapshot(out) == before
    (out / "reading" / "atom.xml").unlink()
    (out / "feeds.opml").unlink()
    r = run_cli("update", SAMPLE, "-c", cfg, "-o", out)
    assert (r.code, r.err) == (0, "")
    assert b"JkIH4MeOc3" in (out / "reading" / "atom.xml").read_bytes()  # "Group Fairness in ..."
