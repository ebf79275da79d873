"""IMAP folders as inputs, against a real Dovecot on 127.0.0.1 (tests/dovecot.py starts it once per module).

Messages get onto the server by IMAP APPEND. Nothing stands in for the server or the
client library: failures are real refused ports, silent listeners, a wrong CA, a
server without STARTTLS, a proxy that cuts the connection, wrong credentials.
"""

from __future__ import annotations

import contextlib
import json
import mailbox
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dovecot
from conftest import FIXTURES, SAMPLE, mtimes, need_tool, run_cli, snapshot
from digest2feed.imapurl import UrlError, parse_url
from digest2feed.sources import imap as imap_module
from digest2feed.sources.credentials import Secret, hide
from digestgen import Item, digest_text
from dovecot import PASSWORD, TOKEN, USER, WIDE_PASSWORD, WIDE_USER, url_for
from mailgen import digest_part, message, other_mail

SECRETS = (PASSWORD, TOKEN, "swordfish-from-a-command", WIDE_PASSWORD)


# ---------------------------------------------------------------- servers and helpers


@pytest.fixture(scope="module")
def tools() -> tuple[str, str]:
    found = need_tool("dovecot", "dovecot-imapd"), need_tool("openssl")
    if os.geteuid() != 0:  # its mail processes run as the user `mail`, which only root can switch to
        if os.environ.get("CI"):
            pytest.fail("CI is set but the tests do not run as root: the Dovecot test server needs it")
        pytest.skip("the Dovecot test server needs root")
    return found


@pytest.fixture(scope="module")
def server(tools):
    s = dovecot.start(*tools, name="main")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def plain(tools):
    """A server that offers no STARTTLS (ssl = no)."""
    s = dovecot.start(*tools, starttls=False, name="plain")
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _no_secret_sources(monkeypatch, tmp_path):
    """Every test chooses its credential source itself: no environment, an empty HOME (no ~/.netrc)."""
    monkeypatch.delenv("DIGEST2FEED_IMAP_PASSWORD", raising=False)
    monkeypatch.delenv("DIGEST2FEED_IMAP_TOKEN", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))


def url(s: dovecot.Dovecot, folder: str, tls: str = "imaps", port: int | None = None) -> str:
    return url_for(tls, USER, "127.0.0.1", port or (s.imaps_port if tls == "imaps" else s.imap_port), folder)


def config(tmp_path: Path, s: dovecot.Dovecot | None, **imap: object) -> Path:
    """A settings file with a log file, and an [imap] table that trusts the test CA (unless ca_file is given)."""
    if s is not None:
        imap.setdefault("ca_file", str(s.ca))
    lines = [f"log_file = {json.dumps(str(tmp_path / 'run.log'))}", "[imap]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in imap.items()]
    path = tmp_path / "digest2feed.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def update(*args: object, cfg: Path):
    return run_cli("update", *args, "-c", cfg)


def folder_lines(out: str) -> list[str]:
    return [line.split(": ", 1)[1] for line in out.splitlines() if "messages looked at" in line]


def counts(looked: int, fetched: int, other: int, merged: int, dups: int = 0) -> str:
    return (
        f"{looked} messages looked at, {fetched} fetched, {looked - fetched} skipped "
        f"({other} not digests by Subject, {merged} already merged, {dups} duplicates)"
    )


def wait_for(predicate, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


# ---------------------------------------------------------------- the messages

WEB_SUBJECT, WEB_BODY = digest_part(SAMPLE.read_text(encoding="utf-8"))
DAILY = (FIXTURES / "daily-2025-11-06.txt").read_text(encoding="utf-8")
CERTS = (FIXTURES / "certifications-2024-03-10.txt").read_text(encoding="utf-8")
LATIN = digest_text(
    date(2024, 6, 2),
    accepted=[Item("LaTiN1xYz0", "Robust señales", ("José Núñez", "Zoë Ångström"), "An abstract, naïvely.")],
)


def reply(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "colleague@example.org"
    msg["Subject"] = "Re: Weekly TMLR digest for Apr 30, 2023"
    msg["Message-ID"] = f"<reply-{n}@example.org>"
    msg["In-Reply-To"] = "<sample@googlegroups.com>"
    msg.set_content("Have you seen the second paper? Worth a look.\n\n> Accepted papers\n> ===============\n")
    return msg


def mixed_messages() -> list[bytes]:
    """Digests in every MIME form the mail tests build, a reply, other mail and a second delivery."""
    sample = message(WEB_BODY, WEB_SUBJECT, message_id="<sample@googlegroups.com>")
    return [
        bytes(m)
        for m in (
            other_mail(1),
            sample,
            message(DAILY, "Daily TMLR digest for Nov 06, 2025", kind="html", cte="base64", message_id="<daily@g>"),
            reply(1),
            message(CERTS, "Weekly TMLR digest for Mar 10, 2024", kind="alternative", message_id="<certs@g>"),
            message(
                LATIN, "Weekly TMLR digest for Jun 02, 2024", charset="iso-8859-1", cte="8bit", message_id="<latin@g>"
            ),
            other_mail(2),
            sample,  # delivered twice: read once
        )
    ]


def weekly(day: date, forum: str) -> bytes:
    """A small constructed digest with one submission, dated ``day``."""
    text = digest_text(day, submitted=[Item(forum, f"Paper {forum}", abstract=f"About {forum}.")])
    return bytes(message(text, f"Weekly TMLR digest for {day:%b %d, %Y}", message_id=f"<{forum}@g>"))


# ---------------------------------------------------------------- URLs (no server)


def test_url_forms():
    u = parse_url("imaps://me%40gmail.com@imap.gmail.com/TMLR")
    assert (u.scheme, u.user, u.host, u.port, u.folder) == ("imaps", "me@gmail.com", "imap.gmail.com", 993, "TMLR")
    u = parse_url("imap://alice@mail.example.edu:1143/Lecture%2FJ%C3%BCnger%20TMLR")
    assert (u.scheme, u.user, u.port, u.folder) == ("imap", "alice", 1143, "Lecture/Jünger TMLR")
    assert parse_url("imaps://u@h/Lecture/J%C3%BCnger%20TMLR").folder == "Lecture/Jünger TMLR"
    assert parse_url("imaps://me%40gmail.com@imap.gmail.com/%5BGmail%5D/All%20Mail").folder == "[Gmail]/All Mail"
    assert parse_url("imap://u@h/INBOX").port == 143
    assert parse_url("IMAPS://u@[::1]:9993/INBOX").host == "::1"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("imaps://imap.gmail.com/TMLR", "names no user"),
        ("imaps://u@imap.gmail.com/", "names no folder"),
        ("imaps://u@imap.gmail.com", "names no folder"),
        ("imaps://u@h/a?b", "percent-encode '?'"),
        ("imaps://u@h/a#b", "percent-encode '?' and '#'"),
        ("imaps://u@h/a;UIDVALIDITY=4", "percent-encode ';'"),
        ("imaps://u;AUTH=XOAUTH2@h/INBOX", "set auth in [imap]"),
        ("imaps://u@h:99999/INBOX", "a bad port"),
    ],
)
def test_bad_urls_say_why(text, says):
    with pytest.raises(UrlError, match=None) as e:
        parse_url(text)
    assert says in str(e.value)


@given(
    user=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20),
    folder=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30).filter(lambda f: f.strip("/")),
)
def test_any_user_and_folder_survive_percent_encoding(user, folder):
    u = parse_url(url_for("imaps", user, "imap.example.org", 993, folder))
    assert (u.user, u.folder) == (user, folder)


def test_provider_hints():
    assert "app password" in imap_module.login_hint("imap.gmail.com")
    assert "xoauth2" in imap_module.login_hint("outlook.office365.com")
    assert imap_module.login_hint("mail.example.edu") is None


# ---------------------------------------------------------------- settings


def test_imap_table_is_checked_on_its_own(tmp_path):
    cfg = tmp_path / "d.toml"
    cfg.write_text('[imap]\nauth = "oauth"\npasword_command = "pass tmlr"\ncafile = "x"\ntimeout = 0\n')
    r = run_cli("update", "-c", cfg, "-o", tmp_path / "out")
    assert r.code == 1
    assert r.err.splitlines() == [  # every problem of the table at once, each named imap.KEY
        f"digest2feed: {cfg}: unknown setting 'imap.cafile' (did you mean 'imap.ca_file'?)",
        f"digest2feed: {cfg}: unknown setting 'imap.pasword_command' (did you mean 'imap.password_command'?)",
        f'digest2feed: {cfg}: imap.auth must be "password" or "xoauth2" (got \'oauth\')',
        f"digest2feed: {cfg}: imap.timeout must be a number of seconds from 0 to 3600 (got 0)",
    ]
    assert not (tmp_path / "out").exists()
    cfg.write_text("[imap]\npassword_command = 7\n")  # a command may hold a secret: never echoed
    assert run_cli("update", "-c", cfg).err == (
        f"digest2feed: {cfg}: imap.password_command must be a non-empty string (got <hidden>)\n"
    )
    cfg.write_text('inputs = ["imaps://u:pw-in-url@h/INBOX"]\n')
    r = run_cli("update", "-c", cfg)
    assert r.code == 1 and "pw-in-url" not in r.err and "a password in the URL is refused" in r.err


# ---------------------------------------------------------------- reading a folder


def test_same_bytes_from_dovecot_as_from_an_mbox_and_nothing_marked_seen(server, tmp_path, monkeypatch):
    folder = "TMLR digests/Jünger (2023)"  # hierarchy, a space, non-ASCII: modified UTF-7 on the wire
    messages = mixed_messages()
    dovecot.append(server, folder, messages)
    box = mailbox.mbox(tmp_path / "same.mbox")
    for data in messages:
        box.add(data)
    box.flush()
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    cfg = config(tmp_path, server)

    from_file = run_cli("update", tmp_path / "same.mbox", "-o", tmp_path / "file", "-v")
    from_imap = update(url(server, folder), "-o", tmp_path / "imap", "-v", cfg=cfg)
    assert from_file.code == 0 and from_imap.code == 0, from_imap.err
    # The daily fixture has a section the parser does not know: the same warning, named by UID.
    assert from_imap.err == from_file.err.replace(
        f"{tmp_path / 'same.mbox'} message 3", f"{url(server, folder)} message UID 3"
    )
    # 8 messages: 3 other (two unrelated, whose Subject says nothing; the reply's does), 5 found by Subject,
    # of which the second delivery of the sample is skipped by its Message-ID before its body is fetched.
    assert folder_lines(from_imap.out) == [counts(8, 5, 2, 0, 1)]
    assert "inputs read: 4 digests (3 other messages or files skipped" in from_imap.out
    assert "inputs read: 4 digests (3 other messages or files skipped" in from_file.out
    files = snapshot(tmp_path / "imap")
    assert files == snapshot(tmp_path / "file")
    atom = files["atom.xml"].decode()
    for forum in ("LaTiN1xYz0", "José Núñez"):
        assert forum in atom
    assert "HTML Fairness" not in atom  # the text part of multipart/alternative was read

    with dovecot.client(server) as c:
        c.select_folder(folder, readonly=True)
        flags = c.get_flags(c.search("ALL"))
    assert len(flags) == 8
    assert all(b"\\Seen" not in f for f in flags.values()), flags


def test_gmail_style_folder_and_starttls(server, tmp_path, monkeypatch):
    folder = "[Gmail]/All Mail"
    dovecot.append(server, folder, [weekly(date(2024, 1, 7), "GmAiL00001"), bytes(other_mail(9))])
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    cfg = config(tmp_path, server)
    r = update(url(server, folder, tls="imap"), "-o", tmp_path / "out", "-v", cfg=cfg)
    assert r.code == 0, r.err
    assert folder_lines(r.out) == [counts(2, 1, 1, 0)]
    assert "GmAiL00001" in (tmp_path / "out" / "atom.xml").read_text()
    assert "method=PLAIN" in server.log and ", TLS," in server.log  # STARTTLS before the password
    # The log file's line for a run nobody watches names the folder by its URL (no secret in it):
    # one digest, the other mail skipped, 12 feeds, 3 papers.bib, index.html, feeds.opml, the week
    # page, the index of weeks and the two search files written.
    (line,) = (tmp_path / "run.log").read_text().splitlines()
    assert line.split(" ", 1)[1] == (
        "update ok: 1 digests read, 1 skipped; papers 1 added, 0 promoted; 21 files written; 1 entries; "
        f"0 warnings; inputs: {url(server, folder, tls='imap')}"
    )


def test_second_run_fetches_only_the_new_digest_and_a_late_old_one_is_still_taken(server, tmp_path, monkeypatch):
    folder = "Incremental"
    days = [date(2024, 3, 3), date(2024, 3, 10), date(2024, 3, 17), date(2024, 3, 24)]
    dovecot.append(
        server,
        folder,
        [weekly(days[0], "InCr000001"), bytes(other_mail(1)), weekly(days[1], "InCr000002"), bytes(reply(2))],
    )
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    cfg = config(tmp_path, server)
    out = tmp_path / "out"
    first = update(url(server, folder), "-o", out, "-v", cfg=cfg)
    assert folder_lines(first.out) == [counts(4, 3, 1, 0)]  # the reply's Subject matches: fetched, told apart

    dovecot.append(server, folder, [weekly(days[3], "InCr000004")])
    second = update(url(server, folder), "-o", out, "-v", cfg=cfg)
    assert folder_lines(second.out) == [counts(5, 1, 1, 3)]
    assert second.err == ""
    assert "papers: 1 added" in second.out

    dovecot.append(server, folder, [weekly(days[2], "InCr000003")])  # moved in late, with an old date
    third = update(url(server, folder), "-o", out, "-v", cfg=cfg)
    assert folder_lines(third.out) == [counts(6, 1, 1, 4)]
    assert "papers: 1 added" in third.out

    before = mtimes(out)
    again = update(url(server, folder), "-o", out, "-v", cfg=cfg)
    assert folder_lines(again.out) == [counts(6, 0, 1, 5)] and "files written: 0" in again.out
    assert mtimes(out) == before
    assert again.err == ""  # nothing new is not "no digest found": cron stays silent

    whole = update(url(server, folder), "-o", tmp_path / "whole", "-v", cfg=cfg)
    assert folder_lines(whole.out) == [counts(6, 5, 1, 0)]
    assert snapshot(out) == snapshot(tmp_path / "whole")


def test_checkpoint_is_void_once_the_state_it_describes_is_gone(server, tmp_path, monkeypatch):
    folder = "Checkpoint"
    dovecot.append(server, folder, [weekly(date(2024, 4, 7), "ChEcK00001"), weekly(date(2024, 4, 14), "ChEcK00002")])
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    cfg = config(tmp_path, server)
    out = tmp_path / "out"
    assert folder_lines(update(url(server, folder), "-o", out, "-v", cfg=cfg).out) == [counts(2, 2, 0, 0)]
    expected = snapshot(out)

    (out / "atom.xml").unlink()  # the state is gone, the checkpoint stays: it must not be believed
    r = update(url(server, folder), "-o", out, "-v", cfg=cfg)
    assert folder_lines(r.out) == [counts(2, 2, 0, 0)]
    assert snapshot(out) == expected

    (out / "atom.xml").write_bytes(expected["atom.xml"])  # replaced by a copy (a restore): void again
    assert folder_lines(update(url(server, folder), "-o", out, "-v", cfg=cfg).out) == [counts(2, 2, 0, 0)]

    # A run with other inputs carries a valid checkpoint forward: the merge only adds facts.
    assert run_cli("update", SAMPLE, "-o", out).code == 0
    assert folder_lines(update(url(server, folder), "-o", out, "-v", cfg=cfg).out) == [counts(2, 0, 0, 2)]

    # A new UIDVALIDITY (the folder recreated) voids that folder's part: everything is fetched once.
    with dovecot.client(server) as c:
        c.delete_folder(folder)
    dovecot.append(server, folder, [weekly(date(2024, 4, 14), "ChEcK00002"), weekly(date(2024, 4, 7), "ChEcK00001")])
    before = snapshot(out)
    assert folder_lines(update(url(server, folder), "-o", out, "-v", cfg=cfg).out) == [counts(2, 2, 0, 0)]
    assert snapshot(out) == before


def test_inputs_setting_and_regenerate(server, tmp_path, monkeypatch):
    folder = "Settings"
    dovecot.append(server, folder, [weekly(date(2024, 5, 5), "SeTtInG001")])
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    cfg = config(tmp_path, server)
    out = tmp_path / "out"
    cfg.write_text(f'inputs = ["{url(server, folder)}", "{SAMPLE}"]\noutput = "{out}"\n' + cfg.read_text())
    r = run_cli("update", "-q", "-c", cfg)
    assert (r.code, r.out, r.err) == (0, "", "")
    atom = (out / "atom.xml").read_text()
    assert "SeTtInG001" in atom and "Group Fairness" in atom

    # --regenerate reads nothing: the server is not even asked (its port is now wrong).
    cfg.write_text(cfg.read_text().replace(str(server.imaps_port), str(dovecot.free_port())))
    before = snapshot(out)
    r = run_cli("update", "--regenerate", "-c", cfg, "-v")
    assert r.code == 0 and "inputs read: 0 digests" in r.out
    assert snapshot(out) == before
    r = run_cli("update", "--regenerate", SAMPLE, "-c", cfg)
    assert r.code == 2 and "--regenerate reads no input" in r.err


def test_a_folder_without_digests_is_warned_about(server, tmp_path, monkeypatch):
    dovecot.append(server, "Other mail", [bytes(other_mail(n)) for n in range(3)])
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    r = update(url(server, "Other mail"), "-o", tmp_path / "out", cfg=config(tmp_path, server))
    assert r.code == 0
    said = "no TMLR digest found (3 other messages or files skipped)"
    assert r.err == f"digest2feed: warning: {url(server, 'Other mail')}: {said}\n"


def test_parse_reads_a_folder(server, tmp_path, monkeypatch):
    folder = "Parse me"
    dovecot.append(server, folder, [weekly(date(2024, 5, 12), "PaRsE00001")])
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    r = run_cli("parse", url(server, folder), "-c", config(tmp_path, server))
    assert r.code == 0, r.err
    assert r.out.splitlines()[0] == f"{url(server, folder)} message UID 1: weekly digest of 2024-05-12, 1 papers"


# ---------------------------------------------------------------- credentials


def test_password_from_a_command(server, tmp_path):
    folder = "Sources"
    dovecot.append(server, folder, [weekly(date(2024, 6, 9), "SoUrCe0001")])
    (tmp_path / "pw").write_text(PASSWORD + "\nthe second line is not read\n")
    cfg = config(tmp_path, server, password_command=f"cat {tmp_path / 'pw'}")
    r = update(url(server, folder), "-o", tmp_path / "out", cfg=cfg)
    assert (r.code, r.err) == (0, "")
    assert "SoUrCe0001" in (tmp_path / "out" / "atom.xml").read_text()


def test_password_from_netrc(server, tmp_path):
    folder = "Sources"
    dovecot.append(server, folder, [weekly(date(2024, 6, 9), "SoUrCe0001")])
    netrc = Path(os.environ["HOME"]) / ".netrc"
    netrc.write_text(f'machine 127.0.0.1 login {USER} password "{PASSWORD}"\n')
    netrc.chmod(0o600)
    r = update(url(server, folder), "-o", tmp_path / "out", cfg=config(tmp_path, server))
    assert (r.code, r.err) == (0, "")
    assert "SoUrCe0001" in (tmp_path / "out" / "atom.xml").read_text()

    netrc.chmod(0o644)  # readable by others: refused, as ftp and curl do
    r = update(url(server, folder), "-o", tmp_path / "out2", cfg=config(tmp_path, server))
    assert r.code == 1 and r.err.endswith(": ~/.netrc: permissions too open (chmod 600 it)\n")
    assert PASSWORD not in r.err


def test_xoauth2_with_a_good_token(server, tmp_path, monkeypatch):
    folder = "OAuth"
    dovecot.append(server, folder, [weekly(date(2024, 6, 16), "OaUtH00001")])
    monkeypatch.setenv("DIGEST2FEED_IMAP_TOKEN", TOKEN)
    r = update(url(server, folder), "-o", tmp_path / "out", cfg=config(tmp_path, server, auth="xoauth2"))
    assert (r.code, r.err) == (0, "")
    assert "OaUtH00001" in (tmp_path / "out" / "atom.xml").read_text()
    assert TOKEN in server.tokens_seen  # Dovecot asked the introspection server
    assert "method=XOAUTH2" in server.log

    monkeypatch.delenv("DIGEST2FEED_IMAP_TOKEN")
    (tmp_path / "tok").write_text(TOKEN + "\n")
    cfg = config(tmp_path, server, auth="xoauth2", token_command=f"cat {tmp_path / 'tok'}")
    assert update(url(server, folder), "-o", tmp_path / "out2", cfg=cfg).code == 0


@pytest.mark.parametrize("tls", ["imaps", "imap"])
def test_a_password_login_cannot_carry_logs_in_by_authenticate_plain(server, tmp_path, monkeypatch, tls):
    """Non-ASCII, quotes, a backslash, '/', '%', '@' and spaces: LOGIN's quoted string carries none
    of the non-ASCII (imaplib refused it with a UnicodeEncodeError naming a character and its
    position). AUTHENTICATE PLAIN, in UTF-8, logs in, over implicit TLS and after STARTTLS."""
    folder = f"Wide {tls}"
    dovecot.append(server, folder, [weekly(date(2024, 8, 4), "WiDePaSs01")], user=WIDE_USER, password=WIDE_PASSWORD)
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", WIDE_PASSWORD)
    address = url_for(tls, WIDE_USER, "127.0.0.1", server.imaps_port if tls == "imaps" else server.imap_port, folder)
    start = len(server.log)
    r = update(address, "-o", tmp_path / "out", "-v", cfg=config(tmp_path, server))
    assert (r.code, r.err) == (0, "")
    assert folder_lines(r.out) == [counts(1, 1, 0, 0)]
    assert "WiDePaSs01" in (tmp_path / "out" / "atom.xml").read_text()
    assert wait_for(lambda: f"Login: user=<{WIDE_USER}>, method=PLAIN" in server.log[start:]), server.log[start:]
    text = r.out + (tmp_path / "run.log").read_text()
    assert WIDE_PASSWORD not in text and "Grüße" not in text


def test_a_wrong_non_ascii_password_is_refused_by_the_server_and_never_shown(server, site, tmp_path, monkeypatch):
    wrong = "Grüße-falsch-ü"
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", wrong)
    address = url_for("imaps", WIDE_USER, "127.0.0.1", server.imaps_port, "INBOX")
    err = fails(
        site,
        address,
        config(tmp_path, server),
        f"authentication refused for {WIDE_USER} (password; the server said: "
        "[AUTHENTICATIONFAILED] Authentication failed.)",
    )
    assert wrong not in err and "Grü" not in err and "\\xfc" not in err and "position" not in err


# ---------------------------------------------------------------- failures: one line, exit 1, nothing written


@pytest.fixture
def site(tmp_path) -> Path:
    """An output folder with feeds in it, which no failed run may touch."""
    out = tmp_path / "site"
    assert run_cli("update", SAMPLE, "-o", out).code == 0
    return out


def fails(site: Path, address: str, cfg: Path, says: str) -> str:
    before, times = snapshot(site), mtimes(site)
    r = update(address, "-o", site, "-v", cfg=cfg)
    assert r.code == 1, r
    assert r.out == ""
    assert r.err.count("\n") == 1 and r.err.startswith(f"digest2feed: {address}: "), r.err
    assert says in r.err, r.err
    assert "Traceback" not in r.err
    for secret in SECRETS:
        assert secret not in r.err
    assert snapshot(site) == before and mtimes(site) == times
    if cfg.name == "digest2feed.toml":  # written by config(): the run's log line, which holds no secret either
        log = (cfg.parent / "run.log").read_text()
        assert "update failed: " in log and says.split(" (")[0] in log, log
        for secret in SECRETS:
            assert secret not in log
    return r.err


def test_connection_refused(site, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    port = dovecot.free_port()
    fails(
        site,
        url_for("imaps", USER, "127.0.0.1", port, "INBOX"),
        config(tmp_path, None),
        f"connection to 127.0.0.1:{port} refused",
    )


def test_unknown_host(site, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    fails(
        site,
        url_for("imaps", USER, "no-such-host.invalid", 993, "INBOX"),
        config(tmp_path, None),
        "unknown host no-such-host.invalid",
    )


def test_timeout_and_the_password_never_in_argv(site, tmp_path):
    """A server that accepts the connection and never greets. Run as a real process, so its argv
    (and its children's) can be read meanwhile."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    address = url_for("imaps", USER, "127.0.0.1", port, "INBOX")
    cfg = config(tmp_path, None, timeout=1.5)
    env = {**os.environ, "DIGEST2FEED_IMAP_PASSWORD": PASSWORD}
    before = snapshot(site)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "digest2feed", "update", address, "-o", str(site), "-c", str(cfg)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(0.7)
        argvs = [p.read_bytes() for p in Path("/proc").glob("[0-9]*/cmdline") if _readable(p)]
        out, err = proc.communicate(timeout=20)
    finally:
        listener.close()
    assert not any(PASSWORD.encode() in a for a in argvs)
    assert any(address.encode() in a for a in argvs)  # the check saw the run itself
    assert proc.returncode == 1 and out == b""
    assert err.decode() == f"digest2feed: {address}: 127.0.0.1:{port} gave no answer within 1.5 s (timeout in [imap])\n"
    assert snapshot(site) == before


def _readable(p: Path) -> bool:
    try:
        p.read_bytes()
    except OSError:
        return False
    return True


def test_untrusted_certificate_names_ca_file(server, site, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    cfg = tmp_path / "system-store.toml"
    cfg.write_text("")  # the system's store, which does not know the test CA
    fails(
        site,
        url(server, "INBOX"),
        cfg,
        "is not trusted (unable to get local issuer certificate); "
        "for a server with its own CA, set ca_file in [imap] to that CA's PEM file",
    )


def test_wrong_ca_never_sends_the_password(server, site, tmp_path, monkeypatch, tools):
    other = tmp_path / "other-ca"
    other.mkdir()
    wrong_ca, _, _ = dovecot.make_certs(other, tools[1])
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    start = len(server.log)
    fails(site, url(server, "INBOX", tls="imap"), config(tmp_path, server, ca_file=str(wrong_ca)), "is not trusted")
    assert wait_for(lambda: "no auth attempts" in server.log[start:]), server.log[start:]
    assert "Login:" not in server.log[start:] and "auth:" not in server.log[start:]


def test_no_starttls_is_refused_before_any_credential(plain, site, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    address = url_for("imap", USER, "127.0.0.1", plain.imap_port, "INBOX")
    fails(
        site,
        address,
        config(tmp_path, plain),
        "the server does not offer STARTTLS; refused before sending "
        "any credential (use imaps:// if it has an implicit-TLS port)",
    )
    assert wait_for(lambda: "no auth attempts" in plain.log), plain.log
    assert "Login:" not in plain.log and "auth:" not in plain.log


def test_folder_not_found_names_the_closest(server, site, tmp_path, monkeypatch):
    dovecot.append(server, "TMLR digests/Weekly", [bytes(other_mail(3))])
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    err = fails(
        site,
        url(server, "TMLR digests/Weekley"),
        config(tmp_path, server),
        "folder 'TMLR digests/Weekley' not found (or not selectable); the closest the server has: ",
    )
    assert err.split("the closest the server has: ")[1].startswith("'TMLR digests/Weekly'")


def test_no_credential_anywhere(server, site, tmp_path):
    fails(
        site,
        url(server, "INBOX"),
        config(tmp_path, server),
        "no password for reader@example.org on 127.0.0.1: "
        "set DIGEST2FEED_IMAP_PASSWORD, password_command in [imap], or a line",
    )


def test_failing_password_command_shows_none_of_its_output(server, site, tmp_path):
    say = "echo swordfish-from-a-command"
    cfg = config(tmp_path, server, password_command=f"{say}; {say} >&2; exit 3")
    fails(site, url(server, "INBOX"), cfg, "password_command failed with exit status 3 (its output is not shown)")


def test_oversize_message_is_skipped_unfetched_and_the_digest_beside_it_merged(server, site, tmp_path, monkeypatch):
    """A real message over the per-message limit (16 MiB), refused from its size before its body
    is fetched; the folder's other digest is merged, and a later run does not warn again."""
    big = EmailMessage()
    big["Subject"] = "Weekly TMLR digest for Jan 07, 2024"
    big["Message-ID"] = "<big@g>"
    big.set_content(("x" * 75 + "\n") * (17 * 1024 * 1024 // 76), cte="7bit")
    dovecot.append(server, "Oversize", [weekly(date(2024, 1, 14), "OvErSiZe01"), bytes(big)])
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    size = len(bytes(big).replace(b"\n", b"\r\n"))  # RFC822.SIZE counts CRLF line ends
    assert size > 16 * 1024 * 1024
    address = url(server, "Oversize")
    r = update(address, "-o", site, cfg=config(tmp_path, server))
    assert r.code == 0
    assert r.err == (
        f"digest2feed: warning: {address} message UID 2: is {size} bytes,"
        " over the 16777216-byte limit for one message; skipped\n"
    )
    assert "OvErSiZe01" in (site / "atom.xml").read_text()
    again = update(address, "-o", site, cfg=config(tmp_path, server))
    assert (again.code, again.err) == (0, "")


class Cutter:
    """A TCP relay to the server that hangs up once ``limit`` bytes came back: a connection dropped mid-fetch."""

    def __init__(self, port: int, limit: int) -> None:
        self.port, self.limit = port, limit
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        upstream = socket.create_connection(("127.0.0.1", self.port))
        sent = [0]

        def pipe(src: socket.socket, dst: socket.socket, count: bool) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
                    if count:
                        sent[0] += len(data)
                        if sent[0] > self.limit:
                            break
            except OSError:
                pass
            for s in (conn, upstream):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

        up = threading.Thread(target=pipe, args=(conn, upstream, False), daemon=True)
        up.start()
        pipe(upstream, conn, True)
        up.join(5)
        conn.close()
        upstream.close()
        self.listener.close()


def test_connection_dropped_mid_fetch(server, site, tmp_path, monkeypatch):
    body = digest_text(
        date(2024, 2, 4), submitted=[Item(f"DrOp{n:06d}", f"Paper {n}", abstract="word " * 2000) for n in range(60)]
    )
    dovecot.append(server, "Dropped", [bytes(message(body, "Weekly TMLR digest for Feb 04, 2024"))])
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    cutter = Cutter(server.imaps_port, limit=200_000)  # the message is ~600 KB; all before it a few KB
    fails(
        site,
        url(server, "Dropped", port=cutter.address),
        config(tmp_path, server),
        f"127.0.0.1:{cutter.address} closed the connection in the middle of the run; nothing was written",
    )
    cutter.thread.join(5)


def test_wrong_password_with_the_provider_hint_rules(server, site, tmp_path, monkeypatch):
    dovecot.append(server, "INBOX", [weekly(date(2024, 1, 7), "DeNiEd0001")])
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", "not " + PASSWORD)
    err = fails(
        site,
        url(server, "INBOX"),
        config(tmp_path, server),
        "authentication refused for reader@example.org (password; the server said: "
        "[AUTHENTICATIONFAILED] Authentication failed.)",
    )
    assert "not correct horse" not in err


def test_bad_xoauth2_token(server, site, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGEST2FEED_IMAP_TOKEN", "ya29.expired-" + TOKEN)
    err = fails(
        site,
        url(server, "INBOX"),
        config(tmp_path, server, auth="xoauth2"),
        "authentication refused for reader@example.org (XOAUTH2 token; the server said: ",
    )
    assert "expired" not in err
    assert "ya29.expired-" + TOKEN in server.tokens_seen  # it was really checked, and refused


# ---------------------------------------------------------------- added by the outside review


def sent_commands(caplog) -> list[str]:
    """The IMAP commands the client really wrote on the wire, tag dropped (IMAPClient logs each line)."""
    out = []
    for rec in caplog.records:
        msg = rec.getMessage()
        if rec.name.startswith("imapclient") and msg.startswith("> b"):
            out.append(msg[4:-1].split(" ", 1)[1])
    return out


def test_the_folder_is_only_examined_and_bodies_only_peeked(server, tmp_path, monkeypatch, caplog):
    """Read-only on the wire, both ways (EXAMINE, and BODY.PEEK even so): a mail client the user
    reads the folder with never sees a digest turned read. Bodies come a batch at a time."""
    import logging

    folder = "Read only"
    days = [date(2023, 1, 1 + 7 * n) for n in range(5)]
    dovecot.append(server, folder, [weekly(d, f"ReAdOnLy{n:02d}") for n, d in enumerate(days)])
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    monkeypatch.setattr(imap_module, "BATCH_COUNT", 2)  # 5 messages: batches of 2, 2, 1
    caplog.set_level(logging.DEBUG, logger="imapclient")
    r = update(url(server, folder), "-o", tmp_path / "out", "-v", cfg=config(tmp_path, server))
    assert r.code == 0, r.err
    assert folder_lines(r.out) == [counts(5, 5, 0, 0)]
    sent = sent_commands(caplog)
    verbs = [c.split(" ", 2)[1] if c.startswith("UID ") else c.split(" ", 1)[0] for c in sent]
    assert verbs.count("EXAMINE") == 1 and "SELECT" not in verbs and "SEARCH" in verbs, sent
    assert not {"STORE", "EXPUNGE", "COPY", "MOVE", "APPEND", "DELETE", "CREATE"} & set(verbs), sent
    bodies = [c for c in sent if "BODY" in c and "HEADER.FIELDS" not in c]
    assert bodies == ["UID FETCH 1,2 (BODY.PEEK[])", "UID FETCH 3,4 (BODY.PEEK[])", "UID FETCH 5 (BODY.PEEK[])"], sent
    assert all(PASSWORD not in rec.getMessage() for rec in caplog.records)


def test_a_netrc_line_for_another_login_is_not_used(tmp_path):
    """~/.netrc names a password for the host but for someone else: that password is not sent."""
    netrc = Path(os.environ["HOME"]) / ".netrc"
    netrc.write_text(f'machine 127.0.0.1 login someone-else password "{PASSWORD}"\n')
    netrc.chmod(0o600)
    address = url_for("imaps", USER, "127.0.0.1", dovecot.free_port(), "INBOX")  # never reached
    r = update(address, "-o", tmp_path / "out", cfg=config(tmp_path, None))
    assert r.code == 1 and r.out == ""
    assert r.err.startswith(f"digest2feed: {address}: no password for {USER} on 127.0.0.1: set ")
    assert PASSWORD not in r.err and not (tmp_path / "out" / "atom.xml").exists()


def test_a_secret_shows_itself_nowhere_but_reveal():
    s = Secret(PASSWORD)
    for shown in (repr(s), str(s), f"{s}", f"{s!r}", repr([s]), repr({"pw": s})):
        assert PASSWORD not in shown and "hidden" in shown
    assert s.reveal() == PASSWORD


@given(st.text(st.characters(codec="utf-8"), min_size=1, max_size=40), st.integers(0, 2))
def test_an_error_line_never_carries_the_secret_nor_its_xoauth2_blob(secret, pad):
    """Whatever a library's exception text quotes back — the secret, its base64, or the XOAUTH2
    blob holding it at any alignment — the line shown holds none of it."""
    import base64
    import re

    blob = base64.b64encode(("x" * pad + f"user={USER}\x01auth=Bearer {secret}\x01\x01").encode()).decode()
    line = f"the server refused a command (AUTHENTICATE XOAUTH2 {blob}) for {secret}"
    shown = hide(line, [Secret(secret)])
    if len(secret.encode()) >= 12:  # shorter ones are too short to tell apart inside base64 anyway
        assert blob not in shown
        # no base64 run left decodes to text holding the secret
        for run in re.findall(r"[A-Za-z0-9+/=]{8,}", shown):
            for cut in range(4):
                with contextlib.suppress(ValueError):  # not base64 at this cut
                    assert secret.encode() not in base64.b64decode(run[cut:] + "==", validate=False)
    assert f"for {secret}" not in shown or secret in "<hidden>"


def test_a_run_refused_for_a_foreign_file_remembers_nothing_it_fetched(server, tmp_path, monkeypatch):
    """Combination: an IMAP input into a folder holding someone's index.html. The run fails and
    writes nothing, so the checkpoint must not hold the messages it fetched: once the file is
    moved away, the next run fetches them again and the papers reach the feeds."""
    folder = "Foreign"
    dovecot.append(server, folder, [weekly(date(2024, 7, 7), "FoReIgN001"), weekly(date(2024, 7, 14), "FoReIgN002")])
    monkeypatch.setenv("DIGEST2FEED_IMAP_PASSWORD", PASSWORD)
    cfg = config(tmp_path, server)
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("<html><body>My home page</body></html>\n")
    r = update(url(server, folder), "-o", out, "-v", cfg=cfg)
    assert r.code == 1 and r.err == (
        f"digest2feed: {out / 'index.html'}: was not written by digest2feed (no fingerprint); "
        "refusing to overwrite it\n"
    )
    assert not (out / "atom.xml").exists() and not (out / ".digest2feed.imap.json").exists()
    (out / "index.html").unlink()
    r = update(url(server, folder), "-o", out, "-v", cfg=cfg)
    assert (r.code, r.err) == (0, "")
    assert folder_lines(r.out) == [counts(2, 2, 0, 0)]
    atom = (out / "atom.xml").read_text()
    assert "FoReIgN001" in atom and "FoReIgN002" in atom
