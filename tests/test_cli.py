"""The command line as a user meets it: exit codes, stdout, stderr, files on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import FIXTURES, SAMPLE, console_script, mtimes, run_cli, snapshot
from digest2feed import __version__


def test_parse_json_has_the_documented_shape_and_values():
    r = run_cli("parse", SAMPLE, FIXTURES / "certifications-2024-03-10.txt", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert list(doc) == ["digests"]
    weekly, certs = doc["digests"]
    assert weekly["source"] == str(SAMPLE)
    assert (weekly["date"], weekly["kind"]) == ("2023-04-30", "weekly")
    assert len(weekly["papers"]) == 24
    first = weekly["papers"][0]
    assert list(first) == ["id", "title", "authors", "abstract", "url", "status", "certifications"]
    assert first["id"] == "JkIH4MeOc3"
    assert first["authors"] == ["Harsh Satija", "Alessandro Lazaric", "Matteo Pirotta", "Joelle Pineau"]
    assert first["url"] == "https://openreview.net/forum?id=JkIH4MeOc3"
    assert (first["status"], first["certifications"]) == ("accepted", [])
    sub = weekly["papers"][7]
    assert (sub["id"], sub["status"], sub["authors"]) == ("t1kKoTSWwp", "submitted", [])
    wrapped = certs["papers"][1]
    assert wrapped == {
        "id": "Xy_Z-09876",
        "title": "On the Certification: Of Long Titles That Wrap Across Two Lines",
        "authors": ["Grace Hopper"],
        "abstract": None,
        "url": "https://openreview.net/forum?id=Xy_Z-09876",
        "status": "certified",
        "certifications": ["Reproducibility Certification"],
    }


def test_update_is_quiet_and_writes_the_feeds(out):
    r = run_cli("update", SAMPLE, "-o", out)
    assert (r.code, r.out, r.err) == (0, "", "")
    assert {"atom.xml", "rss.xml", "feed.json", "index.html"} <= set(snapshot(out))


def test_verbose_prints_the_summary_counts(out):
    r = run_cli("update", SAMPLE, "-o", out, "-v")
    assert (r.code, r.err) == (0, "")
    assert r.out == (
        "inputs read: 1 digests (0 other messages or files skipped, 0 duplicates)\n"
        "papers: 24 added, 0 promoted, 0 changed, 0 unchanged\n"
        "entries in the feed: 24\n"
        # atom, rss, json for the feed and its three views, their papers.bib, index.html, feeds.opml;
        # the week's page, the index of weeks, search.js and search-index.js
        "files written: 21\n"
    )
    r = run_cli("update", SAMPLE, FIXTURES / "certifications-2024-03-10.txt", "-o", out, "-v")
    assert r.code == 0
    assert "papers: 2 added, 0 promoted, 0 changed, 24 unchanged" in r.out
    assert "files written: 0" not in r.out


def test_rerun_and_regeneration_rewrite_nothing(out):
    assert run_cli("update", SAMPLE, "-o", out).code == 0
    before, times = snapshot(out), mtimes(out)
    for args in (("update", SAMPLE, "-o", out), ("update", "-o", out)):
        assert run_cli(*args).code == 0
        assert snapshot(out) == before
        assert mtimes(out) == times


def test_cut_off_digest_warns_with_line_and_keeps_the_rest(out):
    r = run_cli("update", FIXTURES / "cut-weekly-2023-04-30.txt", "-o", out, "-v")
    assert r.code == 0
    warnings = r.err.strip().split("\n")
    assert len(warnings) == 1
    assert warnings[0].startswith(f"digest2feed: warning: {FIXTURES / 'cut-weekly-2023-04-30.txt'}:68: entry ")
    assert "entries in the feed: 5" in r.out
    r = run_cli("update", FIXTURES / "cut-weekly-2023-04-30.txt", "-o", out, "-q")
    assert (r.code, r.err) == (0, "")


def test_non_digest_is_an_error_and_nothing_is_written(out):
    assert run_cli("update", SAMPLE, "-o", out).code == 0
    before, times = snapshot(out), mtimes(out)
    r = run_cli("update", FIXTURES / "daily-2025-11-06.txt", FIXTURES / "not-a-digest.txt", "-o", out)
    assert r.code == 1
    assert r.err == f"digest2feed: {FIXTURES / 'not-a-digest.txt'}: holds no TMLR digest\n"
    assert snapshot(out) == before and mtimes(out) == times


def test_missing_input_exits_1_and_wrong_usage_exits_2(out):
    r = run_cli("update", "no/such/file.txt", "-o", out)
    assert (r.code, r.err) == (1, "digest2feed: no/such/file.txt: no such file or folder\n")
    assert run_cli("update", "--no-such-flag").code == 2
    assert run_cli("parse").code == 2
    assert run_cli().code == 2


def test_damaged_or_foreign_state_is_refused_untouched(out):
    assert run_cli("update", SAMPLE, "-o", out).code == 0
    good = (out / "atom.xml").read_bytes()
    cases = {
        "truncated": good[: len(good) // 2],
        "foreign": b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>x</id></feed>',
        "not xml": b"hello",
    }
    for name, data in cases.items():
        (out / "atom.xml").write_bytes(data)
        before = snapshot(out)
        r = run_cli("update", FIXTURES / "daily-2025-11-06.txt", "-o", out)
        assert r.code == 1, name
        lines = r.err.strip().split("\n")
        assert len(lines) == 1 and lines[0].startswith(f"digest2feed: {out / 'atom.xml'}"), (name, r.err)
        assert "refusing to touch it" in lines[0]
        assert snapshot(out) == before, name


def test_settings_file_is_read_flags_win_and_bad_values_are_one_line_errors(tmp_path, out):
    cfg = tmp_path / "d2f.toml"
    cfg.write_text(
        f'title = "My TMLR"\nbase_url = "https://feeds.example.org/tmlr"\nmax_entries = 3\noutput = "{out}"\n'
    )
    r = run_cli("update", SAMPLE, "-c", cfg)
    assert r.code == 0, r.err
    atom = (out / "atom.xml").read_text()
    assert "<title>My TMLR</title>" in atom
    assert '<link href="https://feeds.example.org/tmlr/atom.xml" rel="self"' in atom
    assert atom.count("<entry>") == 3
    r = run_cli("update", "-c", cfg, "--max-entries", "5")
    assert r.code == 0, r.err
    assert (out / "atom.xml").read_text().count("<entry>") == 5
    for bad, message in (
        ("max_entries = 0", "max_entries must be a positive integer (got 0)"),
        ('base_url = "ftp://x"', "base_url must be an http:// or https:// URL"),
        ("colour = 1", "unknown setting 'colour'"),
        ("max_entries = ", "cannot read settings"),
    ):
        cfg.write_text(bad + "\n")
        r = run_cli("update", SAMPLE, "-c", cfg, "-o", out)
        assert r.code == 1 and r.err.count("\n") == 1 and message in r.err, r.err
    r = run_cli("update", SAMPLE, "-o", out, "--max-entries", "many")
    assert r.code == 2 and "--max-entries: max_entries must be a positive integer" in r.err  # wrong usage


def test_settings_file_in_the_working_folder_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "digest2feed.toml").write_text('output = "site"\ntitle = "Local"\n')
    assert run_cli("update", SAMPLE).code == 0
    assert "<title>Local</title>" in (tmp_path / "site" / "atom.xml").read_text()


def test_installed_console_script_runs_with_every_exit_status(tmp_path):
    """`.venv/bin/digest2feed`, as cron and mail filters call it: its exit status is main()'s."""
    script = console_script()
    run = [str(script), "update", str(SAMPLE), "-o", str(tmp_path / "script"), "-v"]
    r = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (0, "") and "entries in the feed: 24" in r.stdout
    assert run_cli("update", SAMPLE, "-o", tmp_path / "in-process").code == 0
    assert snapshot(tmp_path / "script") == snapshot(tmp_path / "in-process")
    bad = [str(script), "update", str(FIXTURES / "not-a-digest.txt"), "-o", str(tmp_path / "script")]
    r = subprocess.run(bad, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (1, f"digest2feed: {FIXTURES / 'not-a-digest.txt'}: holds no TMLR digest\n")
    r = subprocess.run([str(script), "update", "--no-such-flag"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "unrecognized arguments: --no-such-flag" in r.stderr
    r = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, f"digest2feed {__version__}\n")


def test_module_runs_like_the_script(out):
    r = subprocess.run(
        [sys.executable, "-m", "digest2feed", "update", str(SAMPLE), "-o", str(out), "-v"],
        capture_output=True,
        text=True,
    )
    assert (r.returncode, r.stderr) == (0, "") and "entries in the feed: 24" in r.stdout


def test_progress_line_only_on_a_terminal(tmp_path):
    """A person at a terminal sees how far a long run has come; cron sees nothing."""
    import os
    import pty

    main_fd, tty_fd = pty.openpty()
    env = {**os.environ, "DIGEST2FEED_PROGRESS_AFTER": "0"}  # every run counts as long here
    cmd = [str(console_script()), "update", str(SAMPLE), "-o", str(tmp_path / "a")]
    proc = subprocess.run(cmd, stderr=tty_fd, stdout=subprocess.PIPE, env=env, timeout=60)
    os.close(tty_fd)
    shown = b""
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(main_fd)
    assert proc.returncode == 0
    assert b"digest2feed: 1 digests read" in shown
    assert b"/21 files rendered" in shown and shown.endswith(b"\r\x1b[K")  # erased at the end; 21 files: test_verbose_…
    cmd[-1] = str(tmp_path / "b")
    piped = subprocess.run(cmd, capture_output=True, env=env, timeout=60)
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, b"", b"")


def test_a_bad_progress_delay_in_the_environment_breaks_no_command():
    """Issue 20: DIGEST2FEED_PROGRESS_AFTER=abc made every command end in a traceback."""
    env = {**os.environ, "DIGEST2FEED_PROGRESS_AFTER": "abc"}
    r = subprocess.run([str(console_script()), "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert (r.returncode, r.stderr) == (0, "") and r.stdout.startswith("usage: digest2feed")


def test_parse_of_an_imap_folder_reads_only_the_imap_table_of_the_settings(tmp_path, monkeypatch):
    """Issue 20: an unrelated bad setting refused `parse imaps://…`; only [imap] concerns it."""
    cfg = tmp_path / "digest2feed.toml"
    cfg.write_text('max_entries = "many"\n[imap]\ntimeout = 5\n')
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", "not-used")
    r = run_cli("parse", "imaps://reader@127.0.0.1:1/INBOX", "-c", cfg)
    assert r.code == 1 and "max_entries" not in r.err
    assert r.err.startswith("digest2feed: imaps://reader@127.0.0.1:1/INBOX: "), r.err
    cfg.write_text("[imap]\ntimeout = -1\n")
    r = run_cli("parse", "imaps://reader@127.0.0.1:1/INBOX", "-c", cfg)
    assert (r.code, r.err) == (
        1,
        f"digest2feed: {cfg}: imap.timeout must be a number of seconds from 0 to 3600 (got -1)\n",
    )
