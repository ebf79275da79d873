"""Digests as e-mail, mbox, Maildir and standard input give exactly what their web copy gives."""

from __future__ import annotations

import mailbox
import os
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage

import feedparser
import pytest

from conftest import SAMPLE, console_script, mtimes, run_cli, snapshot
from digest2feed.pipeline import load
from mailgen import digest_part, message, other_mail

WEB = SAMPLE.read_text(encoding="utf-8")
SUBJECT, BODY = digest_part(WEB)
LATIN1_WEB = WEB.replace("‘", "'").replace("’", "'").replace("\u202f", " ")


def papers_of(path):
    loaded = load([str(path)], sys.stdin.buffer)
    assert not loaded.errors, loaded.errors
    return [(d.date, d.kind, d.papers) for d in loaded.digests]


def write_eml(tmp_path, msg: EmailMessage, name="digest.eml"):
    path = tmp_path / name
    path.write_bytes(bytes(msg))
    return path


def test_body_is_the_web_copy_without_the_page():
    assert SUBJECT == "Weekly TMLR digest for Apr 30, 2023"
    assert BODY.startswith("Accepted papers\n===============\n") and "Reply all" not in BODY


@pytest.mark.parametrize("cte", ["quoted-printable", "base64", "8bit"])
@pytest.mark.parametrize("kind", ["plain", "html", "alternative"])
def test_every_transfer_encoding_and_part_gives_the_web_copy_entries(tmp_path, cte, kind):
    web = tmp_path / "web.txt"
    web.write_text(WEB, encoding="utf-8")
    eml = write_eml(tmp_path, message(BODY, SUBJECT, cte=cte, kind=kind))
    assert papers_of(eml) == papers_of(web)


@pytest.mark.parametrize("charset", ["utf-8", "iso-8859-1", "windows-1252"])
def test_declared_charsets_give_the_web_copy_entries(tmp_path, charset):
    web_text = WEB if charset != "iso-8859-1" else LATIN1_WEB
    web = tmp_path / "web.txt"
    web.write_text(web_text, encoding="utf-8")
    subject, body = digest_part(web_text)
    eml = write_eml(tmp_path, message(body, subject, charset=charset, cte="8bit" if charset != "utf-8" else "base64"))
    assert charset.encode() in eml.read_bytes()
    got = papers_of(eml)
    assert got == papers_of(web)
    authors = {p.forum_id: p.authors for p in got[0][2]}
    assert authors["OarsigVib0"] == ("Clément Lalanne", "Aurélien Garivier", "Rémi Gribonval")


def test_wrongly_declared_charset_falls_back_sanely(tmp_path):
    # Declared us-ascii, sent as UTF-8: the names must still come out right.
    utf8 = bytes(message(BODY, SUBJECT, cte="8bit")).replace(b'charset="utf-8"', b'charset="us-ascii"')
    # Declared UTF-8, sent as Latin-1: decoded as windows-1252, not rejected.
    _, latin_body = digest_part(LATIN1_WEB)
    latin = bytes(message(latin_body, SUBJECT, cte="8bit", charset="iso-8859-1")).replace(
        b'charset="iso-8859-1"', b'charset="utf-8"'
    )
    for name, data in (("a.eml", utf8), ("b.eml", latin)):
        (tmp_path / name).write_bytes(data)
        got = {p.forum_id: p for p in papers_of(tmp_path / name)[0][2]}
        assert got["OarsigVib0"].authors[0] == "Clément Lalanne", name


def test_same_digest_in_every_form_gives_the_same_files(tmp_path):
    """Web copy, .eml, mbox and Maildir: same ids, dates and content, byte for byte."""
    web = tmp_path / "web.txt"
    web.write_text(WEB, encoding="utf-8")
    eml = write_eml(tmp_path, message(BODY, SUBJECT, cte="base64"))
    box = mailbox.mbox(tmp_path / "inbox.mbox")
    box.add(other_mail(1))
    box.add(message(BODY, SUBJECT))
    box.flush()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(message(BODY, SUBJECT, kind="alternative"))
    outputs = {}
    for name, path in (
        ("web", web),
        ("eml", eml),
        ("mbox", tmp_path / "inbox.mbox"),
        ("maildir", tmp_path / "Maildir"),
    ):
        assert run_cli("update", path, "-o", tmp_path / name).code == 0
        outputs[name] = snapshot(tmp_path / name)
    assert outputs["eml"] == outputs["web"]
    assert outputs["mbox"] == outputs["web"]
    assert outputs["maildir"] == outputs["web"]
    # All forms together: still one entry per paper.
    r = run_cli("update", web, eml, tmp_path / "inbox.mbox", tmp_path / "Maildir", "-o", tmp_path / "all", "-v")
    assert r.code == 0
    assert "entries in the feed: 24" in r.out
    assert snapshot(tmp_path / "all") == outputs["web"]


def test_mailboxes_take_digests_skip_and_count_the_rest(tmp_path):
    box = mailbox.mbox(tmp_path / "inbox.mbox")
    box.add(other_mail(1))
    box.add(message(BODY, SUBJECT, message_id="<weekly@x>"))
    box.add(other_mail(2))
    box.add(message(BODY, SUBJECT, message_id="<weekly@x>"))  # delivered twice
    box.flush()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(other_mail(3))
    maildir.add(message(BODY.replace("Accepted papers", "New certifications", 0), SUBJECT, message_id="<m2@x>"))
    before = {**snapshot(tmp_path), **{f"t:{k}": v for k, v in mtimes(tmp_path).items()}}
    r = run_cli("update", tmp_path / "inbox.mbox", tmp_path / "Maildir", "-o", tmp_path / "out", "-v")
    assert r.code == 0, r.err
    assert "inputs read: 2 digests (3 other messages or files skipped, 1 duplicates)" in r.out
    assert "papers: 24 added" in r.out
    # Reading never modifies a mailbox.
    after = {**snapshot(tmp_path), **{f"t:{k}": v for k, v in mtimes(tmp_path).items()}}
    assert {k: v for k, v in after.items() if "out/" not in k} == before


def test_damaged_mbox_keeps_the_readable_messages(tmp_path):
    good = bytes(message(BODY, SUBJECT))
    data = (
        b"From a@b Sat Apr 29 20:00:18 2023\n"
        + good
        + b"\nFrom x@y Sun Apr 30 00:00:00 2023\n\x8f\x00garbage without headers\n"
    )
    (tmp_path / "broken.mbox").write_bytes(data)
    r = run_cli("update", tmp_path / "broken.mbox", "-o", tmp_path / "out", "-v")
    assert r.code == 0
    assert f"digest2feed: warning: {tmp_path / 'broken.mbox'} message 2: is damaged (no mail headers); skipped" in r.err
    assert "entries in the feed: 24" in r.out


def test_non_digest_email_named_explicitly_is_an_error(tmp_path, out):
    eml = write_eml(tmp_path, other_mail(1), "lunch.eml")
    r = run_cli("update", eml, "-o", out)
    assert (r.code, r.err) == (1, f"digest2feed: {eml}: holds no TMLR digest\n")
    assert not (out / "atom.xml").exists()


def test_email_without_a_text_part_is_a_one_line_error(tmp_path, out):
    msg = EmailMessage()
    msg["Subject"] = SUBJECT
    msg["From"] = "a@b"
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="x.pdf")
    empty = message("", SUBJECT)
    r = run_cli("update", write_eml(tmp_path, msg, "a.eml"), write_eml(tmp_path, empty, "b.eml"), "-o", out)
    assert r.code == 1
    assert r.err.splitlines() == [
        f"digest2feed: {tmp_path / 'a.eml'}: e-mail has no text part (or an empty one)",
        f"digest2feed: {tmp_path / 'b.eml'}: e-mail has no text part (or an empty one)",  # only the footer
    ]


def test_junk_files_fail_fast(tmp_path, out):
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # 50 MB of NUL bytes, sparse on disk
    text = tmp_path / "text.txt"
    text.write_bytes(b"junk line\n" * (4 * 1024 * 1024))  # 40 MB of text
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    r = run_cli("update", big, text, empty, "-o", out)
    assert r.code == 1
    assert r.err.splitlines() == [
        f"digest2feed: {big}: is a binary file, not a digest",
        f"digest2feed: {text}: is 41943040 bytes, far too large for one digest",
        f"digest2feed: {empty}: is empty",
    ]


def test_folder_is_searched(tmp_path):
    folder = tmp_path / "inbox"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "web.txt").write_text(WEB, encoding="utf-8")
    (folder / "notes.txt").write_text("shopping list\n")
    mailbox.Maildir(folder / "md").add(other_mail(1))
    r = run_cli("update", folder, "-o", tmp_path / "out", "-v")
    assert r.code == 0
    assert "inputs read: 1 digests (2 other messages or files skipped, 0 duplicates)" in r.out


def test_date_from_the_date_header_when_nothing_else_names_it(tmp_path):
    sent = datetime(2023, 4, 29, 20, 0, 18, tzinfo=UTC)
    eml = write_eml(tmp_path, message(BODY, "TMLR announcements", sent=sent))
    ((date, kind, _),) = papers_of(eml)
    assert date == datetime(2023, 4, 29, tzinfo=UTC)


def cli(*args: str, stdin: bytes) -> subprocess.CompletedProcess:
    """The installed command, as procmail and maildrop call it."""
    return subprocess.run([console_script(), *args], input=stdin, capture_output=True, timeout=60)


def test_standard_input_as_a_mail_pipe_hands_it_over(tmp_path):
    """procmail and maildrop pipe the message, procmail with its mbox "From " line first."""
    web = tmp_path / "web"
    assert run_cli("update", SAMPLE, "-o", web).code == 0
    plain = bytes(message(BODY, SUBJECT))
    for name, data in (("eml", plain), ("procmail", b"From tmlr@googlegroups.com Sun Apr 30 00:00:18 2023\n" + plain)):
        r = cli("update", "-", "-o", str(tmp_path / name), stdin=data)
        assert (r.returncode, r.stdout, r.stderr) == (0, b"", b""), name
        assert snapshot(tmp_path / name) == snapshot(web), name
    r = cli("parse", "-", "--json", stdin=WEB.encode())
    assert r.returncode == 0 and b'"source": "<stdin>"' in r.stdout
    r = cli("update", "-", "-o", str(tmp_path / "x"), stdin=b"")
    assert (r.returncode, r.stderr) == (1, b"digest2feed: <stdin>: is empty\n")


# Loaded into each delivery process (sitecustomize.py on its PYTHONPATH): every process waits
# here, just before it asks for the output folder's lock, until all of them have arrived, so
# they reach the lock at the same moment. A barrier of files: the processes share nothing else.
BARRIER = """
import os, time
from pathlib import Path
import digest2feed.store as store

_locked, _here = store.locked, Path(os.environ["D2F_BARRIER"])

def locked(folder):
    (_here / str(os.getpid())).touch()
    deadline = time.monotonic() + 30
    while len(list(_here.iterdir())) < int(os.environ["D2F_PARTIES"]) and time.monotonic() < deadline:
        time.sleep(0.005)
    return _locked(folder)

store.locked = locked
"""


def test_two_deliveries_at_once_are_both_merged(tmp_path):
    """Two mail filters pipe a digest each at the same moment: the lock serialises the runs,
    so neither digest is lost. Both processes wait at a barrier just before the lock, so
    they contend for it for real (remove the flock and this test fails)."""
    out = tmp_path / "out"
    assert run_cli("update", SAMPLE, "-o", out).code == 0  # the site as it was before the two mails
    may = "New certifications\n==================\n\nFeatured Certification: A Paper\n\nA B\n\n"
    may += "https://openreview.net/forum?id=NewPaper01\n\n---\n"
    june = "New submissions\n===============\n\nTitle: Another Paper\n\nAbstract: Text.\n\n"
    june += "URL: https://openreview.net/forum?id=NewPaper02\n\n---\n"
    mails = [
        bytes(message(may, "Weekly TMLR digest for May 07, 2023", message_id="<may@x>")),
        bytes(message(june, "Weekly TMLR digest for Jun 04, 2023", message_id="<june@x>")),
    ]
    hook, barrier = tmp_path / "hook", tmp_path / "barrier"
    hook.mkdir()
    barrier.mkdir()
    (hook / "sitecustomize.py").write_text(BARRIER)
    env = {**os.environ, "PYTHONPATH": str(hook), "D2F_BARRIER": str(barrier), "D2F_PARTIES": "2"}
    procs = [
        subprocess.Popen(
            [console_script(), "update", "-", "-o", out],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )  # fmt: skip
        for _ in mails
    ]
    for p, data in zip(procs, mails, strict=True):
        p.stdin.write(data)
        p.stdin.close()
    for p in procs:
        assert (p.wait(timeout=60), p.stderr.read(), p.stdout.read()) == (0, b"", b"")
    assert len(list(barrier.iterdir())) == 2  # both really went through the barrier
    ids = [e.id for e in feedparser.parse((out / "atom.xml").read_bytes()).entries]
    assert len(ids) == 26
    assert ids[:2] == [
        "https://openreview.net/forum?id=NewPaper02#submitted",
        "https://openreview.net/forum?id=NewPaper01#certified",
    ]


def test_kind_is_told_by_content_not_by_name(tmp_path):
    """An mbox called .txt, an e-mail called .mbox, a web copy called .eml: all read right."""
    box = mailbox.mbox(tmp_path / "notes.txt")
    box.add(other_mail(1))
    box.add(message(BODY, SUBJECT))
    box.flush()
    (tmp_path / "inbox.mbox").write_bytes(bytes(message(BODY, SUBJECT, cte="base64")))
    (tmp_path / "digest.eml").write_text(WEB, encoding="utf-8")
    outputs = []
    for name in ("notes.txt", "inbox.mbox", "digest.eml"):
        r = run_cli("update", tmp_path / name, "-o", tmp_path / f"out-{name}", "-v")
        assert r.code == 0 and "papers: 24 added" in r.out, (name, r.err)
        outputs.append(snapshot(tmp_path / f"out-{name}"))
    assert outputs[0] == outputs[1] == outputs[2]


def test_format_flowed_is_unwrapped(tmp_path):
    """A mailer that wraps long lines (RFC 3676) must not break abstracts or titles."""

    def flow(text: str, width: int = 60) -> str:
        lines = []
        for line in text.split("\n"):
            while len(line) > width and " " in line[:width]:  # a longer word stays whole
                cut = line.rfind(" ", 0, width) + 1
                lines.append(line[:cut])  # ends in a space: a soft break
                line = line[cut:]
            lines.append(" " + line if line.startswith((" ", "From ")) else line)
        return "\n".join(lines)

    msg = message(BODY, SUBJECT, cte="8bit")
    msg.set_content(flow(BODY), cte="8bit", params={"format": "flowed"})
    assert 'format="flowed"' in msg["Content-Type"] or "format=flowed" in msg["Content-Type"]
    eml = write_eml(tmp_path, msg)
    web = tmp_path / "web.txt"
    web.write_text(WEB, encoding="utf-8")
    assert papers_of(eml) == papers_of(web)
