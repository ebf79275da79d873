"""Settings and usage errors as the user meets them, and the log file for runs nobody watches."""

from __future__ import annotations

import re
import stat
from dataclasses import fields

from conftest import FIXTURES, SAMPLE, run_cli, snapshot
from digest2feed.settings import Settings, unknown


def test_bad_flag_values_are_wrong_usage(out):
    """The README promises exit 2 for wrong usage; a bad flag value is one."""
    for flag, value, line in (
        ("--max-entries", "abc", "--max-entries: max_entries must be a positive integer (got 'abc')"),
        ("--max-entries", "0", "--max-entries: max_entries must be a positive integer (got 0)"),
        ("--base-url", "ftp://x", "--base-url: base_url must be an http:// or https:// URL (got 'ftp://x')"),
    ):
        r = run_cli("update", SAMPLE, "-o", out, flag, value)
        assert (r.code, r.err) == (2, f"digest2feed: {line}\n"), (flag, value)
        assert not out.exists()


def test_every_unknown_setting_is_reported_in_one_run_with_the_closest_name(tmp_path, out):
    cfg = tmp_path / "digest2feed.toml"
    cfg.write_text(
        'base-url = "https://example.org/tmlr/"\n'
        "max_entires = 50\n"
        'Title = "Mine"\n'
        "colour = 1\n"
        'title = ""\n'  # a bad value is reported in the same run
    )
    r = run_cli("update", SAMPLE, "-c", cfg, "-o", out)
    assert r.code == 1
    assert r.err.splitlines() == [
        f"digest2feed: {cfg}: unknown setting 'Title' (did you mean 'title'?)",
        f"digest2feed: {cfg}: unknown setting 'base-url' (did you mean 'base_url'?)",
        f"digest2feed: {cfg}: unknown setting 'colour'",
        f"digest2feed: {cfg}: unknown setting 'max_entires' (did you mean 'max_entries'?)",
        f"digest2feed: {cfg}: title must be a non-empty string (got '')",
    ]
    assert not out.exists()


def test_known_names_come_from_the_settings_and_tables_check_their_own_keys():
    """Settings other issues add (fields of Settings) are known without touching the check."""
    assert unknown({f.name: 1 for f in fields(Settings)}, [f.name for f in fields(Settings)]) == []
    assert unknown({"hots": "x"}, ["host", "port"], prefix="imap.") == [
        "unknown setting 'imap.hots' (did you mean 'imap.host'?)"
    ]


STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"


def test_log_file_gets_one_line_per_run(tmp_path, out):
    log = tmp_path / "logs" / "digest2feed.log"
    log.parent.mkdir()
    cfg = tmp_path / "digest2feed.toml"
    cfg.write_text(f'log_file = "{log}"\noutput = "{out}"\n')
    assert run_cli("update", SAMPLE, "-c", cfg, "-q").code == 0
    assert run_cli("update", SAMPLE, FIXTURES / "certifications-2024-03-10.txt", "-c", cfg, "-q").code == 0
    before = snapshot(out)
    bad = run_cli("update", FIXTURES / "not-a-digest.txt", "-c", cfg, "-q")
    assert bad.code == 1 and snapshot(out) == before
    assert run_cli("update", "-c", cfg).code == 0  # a regeneration, which changes nothing
    lines = log.read_text().splitlines()
    assert len(lines) == 4
    assert all(re.fullmatch(STAMP + r" update .*", line) for line in lines), lines
    body = [line.split(" ", 1)[1] for line in lines]
    assert body[0] == (  # 14: the twelve feeds, index.html and feeds.opml
        "update ok: 1 digests read, 0 skipped; papers 24 added, 0 promoted; 21 files written; 24 entries; "
        f"0 warnings; inputs: {SAMPLE}"
    )
    assert body[1].startswith("update ok: 2 digests read, 0 skipped; papers 2 added, 0 promoted; ")
    assert body[2] == (
        f"update failed: {FIXTURES / 'not-a-digest.txt'}: holds no TMLR digest; inputs: {FIXTURES / 'not-a-digest.txt'}"
    )
    assert body[3] == (
        "update ok: 0 digests read, 0 skipped; papers 0 added, 0 promoted; 0 files written; 26 entries; "
        "0 warnings; inputs: (none: regenerated from the state)"
    )
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_a_log_that_cannot_be_written_is_said_but_the_run_stands(tmp_path, out):
    cfg = tmp_path / "digest2feed.toml"
    cfg.write_text(f'log_file = "{tmp_path / "no" / "such" / "folder.log"}"\n')
    r = run_cli("update", SAMPLE, "-c", cfg, "-o", out, "-q")
    assert r.code == 0
    assert r.err == (
        f"digest2feed: {tmp_path / 'no' / 'such' / 'folder.log'}: cannot append to the log file: "
        "No such file or directory\n"
    )
    assert (out / "atom.xml").exists()


def test_the_log_never_holds_a_password_given_in_a_url(tmp_path, out):
    log = tmp_path / "d2f.log"
    cfg = tmp_path / "digest2feed.toml"
    cfg.write_text(f'log_file = "{log}"\n')
    r = run_cli("update", "imaps://me:hunter2@mail.example.org/TMLR", "-c", cfg, "-o", out)
    assert r.code == 1 and "hunter2" not in r.err and "a password in the URL is refused" in r.err
    assert not out.exists()
    text = log.read_text()
    assert "hunter2" not in text and "mail.example.org" not in text and "imaps://me:<hidden>" in text


def test_did_you_mean_reads_names_whatever_their_case_and_dashes(tmp_path, out):
    """A name typed as a command-line flag or in capitals still gets its suggestion."""
    cfg = tmp_path / "digest2feed.toml"
    cfg.write_text('LOG-FILE = "run.log"\nStatus-In-Title = false\n')
    r = run_cli("update", SAMPLE, "-c", cfg, "-o", out)
    assert r.code == 1 and not out.exists()
    assert r.err.splitlines() == [
        f"digest2feed: {cfg}: unknown setting 'LOG-FILE' (did you mean 'log_file'?)",
        f"digest2feed: {cfg}: unknown setting 'Status-In-Title' (did you mean 'status_in_title'?)",
    ]
