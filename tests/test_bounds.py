"""Every input is bounded before it is read, and what one run writes the next reads (issue 19).

All inputs here are constructed: nested MIME, oversized messages, devices and FIFOs,
digests with too many or too large entries.
"""

from __future__ import annotations

import mailbox
import os
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest

from conftest import SAMPLE, run_cli, snapshot
from digest2feed import schema
from digest2feed.digest import MAX_ABSTRACT, MAX_AUTHORS, MAX_ENTRIES, MAX_NAME, MAX_TITLE, parse_digest
from digest2feed.sources.items import MAX_TEXT
from digestgen import Item, digest_text
from mailgen import message

SAMPLE_TEXT = SAMPLE.read_text(encoding="utf-8")
SUBJECT = "Weekly TMLR digest for Apr 30, 2023"


def nested(depth: int) -> bytes:
    """A message whose multipart parts nest ``depth`` deep."""
    head = b"From: a@example.org\nSubject: Weekly TMLR digest for May 07, 2023\nMIME-Version: 1.0\n"
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(depth))
    closing = b"".join(b"\n--b%d--\n" % i for i in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\n\nhello\n" + closing


def maildir_with(tmp_path: Path, *messages: bytes | EmailMessage) -> Path:
    box = mailbox.Maildir(tmp_path / "Mail", create=True)
    for m in messages:
        box.add(m)
    return tmp_path / "Mail"


def test_mime_nested_a_thousand_deep_is_one_line_and_the_good_digest_beside_it_is_merged(tmp_path, out):
    folder = maildir_with(tmp_path, nested(1000), message(SAMPLE_TEXT, SUBJECT))
    r = run_cli("update", folder, "-o", out)
    assert r.code == 0
    lines = r.err.splitlines()
    assert len(lines) == 1, r.err
    assert "message " in lines[0] and "nested more than 16 deep; skipped" in lines[0]
    assert (out / "atom.xml").read_text().count("<entry>") == 24


def test_mime_nested_too_deep_named_as_input_is_an_error(tmp_path, out):
    (tmp_path / "deep.eml").write_bytes(nested(40))
    r = run_cli("update", tmp_path / "deep.eml", "-o", out)
    assert r.code == 1
    assert r.err == f"digest2feed: {tmp_path / 'deep.eml'}: has MIME parts nested more than 16 deep; skipped\n"
    assert not out.exists()


def test_an_mbox_message_over_the_limit_is_skipped_unread_and_the_others_are_merged(tmp_path, out):
    big = EmailMessage()
    big["From"], big["Subject"] = "x@example.org", "Weekly TMLR digest for May 07, 2023"
    big.set_content(b"\0" * (MAX_TEXT // 4 * 3 + 1024), maintype="application", subtype="octet-stream")  # base64
    box = mailbox.mbox(tmp_path / "box.mbox")
    box.add(big)
    box.add(message(SAMPLE_TEXT, SUBJECT))
    box.close()
    r = run_cli("update", tmp_path / "box.mbox", "-o", out)
    assert r.code == 0
    assert r.err == (
        f"digest2feed: warning: {tmp_path / 'box.mbox'} message 1: is over {MAX_TEXT} bytes,"
        " far too large for one digest; skipped\n"
    )
    assert (out / "atom.xml").read_text().count("<entry>") == 24


def test_an_mbox_with_a_line_longer_than_a_message_is_refused_unread(tmp_path, out):
    path = tmp_path / "one-line.mbox"
    with path.open("wb") as f:
        f.write(b"From x@example.org Sun Apr 30 00:00:00 2023\n")
        f.write(b"A" * (MAX_TEXT + 10))
    r = run_cli("update", path, "-o", out)
    assert (r.code, r.err) == (1, f"digest2feed: {path}: has a line over {MAX_TEXT} bytes: not a mailbox of digests\n")


def test_a_device_named_as_input_is_refused(out):
    r = run_cli("update", "/dev/urandom", "-o", out)
    assert (r.code, r.err) == (1, "digest2feed: /dev/urandom: is a device, not a file; refused\n")
    assert not out.exists()


def test_a_fifo_named_as_input_is_refused_without_waiting_for_a_writer(tmp_path, out):
    os.mkfifo(tmp_path / "pipe")
    r = run_cli("update", tmp_path / "pipe", "-o", out)
    assert (r.code, r.err) == (1, f"digest2feed: {tmp_path / 'pipe'}: is a FIFO, not a file; refused\n")


def test_a_fifo_inside_a_folder_is_skipped_with_a_warning_and_the_rest_is_merged(tmp_path, out):
    (tmp_path / "in").mkdir()
    os.mkfifo(tmp_path / "in" / "a-pipe")
    (tmp_path / "in" / "b-digest.txt").write_text(SAMPLE_TEXT, encoding="utf-8")
    r = run_cli("update", tmp_path / "in", "-o", out)
    assert r.code == 0
    assert r.err == f"digest2feed: warning: {tmp_path / 'in' / 'a-pipe'}: is a FIFO, not a file; skipped\n"
    assert (out / "atom.xml").read_text().count("<entry>") == 24


def test_a_mailbox_on_stdin_names_the_message_of_each_problem(tmp_path, out):
    box = mailbox.mbox(tmp_path / "box.mbox")
    box.add(nested(30))
    box.add(message(SAMPLE_TEXT, SUBJECT))
    box.close()
    r = run_cli("update", "-", "-o", out, stdin=(tmp_path / "box.mbox").read_bytes())
    assert r.code == 0
    assert r.err == "digest2feed: warning: <stdin> message 1: has MIME parts nested more than 16 deep; skipped\n"


def entry(n: int, **fields) -> Item:
    base = {"forum_id": f"Id{n:07d}", "title": f"Paper {n}", "authors": ("Ada Lovelace",), "abstract": "Short."}
    return Item(**(base | fields))


def test_a_digest_past_the_entry_limit_keeps_the_first_entries_and_warns_at_the_first_dropped():
    text = digest_text(date(2023, 5, 7), submitted=[entry(n) for n in range(MAX_ENTRIES + 5)])
    d = parse_digest(text, "big.txt")
    assert len(d.announcements) == MAX_ENTRIES
    assert d.announcements[-1].forum_id == f"Id{MAX_ENTRIES - 1:07d}"
    (warning,) = d.warnings
    line = text.split("\n").index(f"Title: Paper {MAX_ENTRIES}") + 1
    assert str(warning) == f"big.txt:{line}: more than 2,000 entries in one digest; this one and the rest skipped"


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"title": "T" * (MAX_TITLE + 1)}, "a title of 1,001 characters, over the limit of 1,000"),
        ({"abstract": "a" * (MAX_ABSTRACT + 1)}, "an abstract of 20,001 characters, over the limit of 20,000"),
        ({"authors": ("A B",) * (MAX_AUTHORS + 1)}, "a list of 501 authors, over the limit of 500"),
        ({"authors": ("N" * (MAX_NAME + 1),)}, "an author name of 201 characters, over the limit of 200"),
    ],
)
def test_an_entry_with_a_field_past_its_limit_is_skipped_with_a_warning_naming_the_line(fields, why):
    text = digest_text(date(2023, 5, 7), accepted=[entry(1), entry(2, **fields), entry(3)])
    d = parse_digest(text, "d.txt")
    assert [a.forum_id for a in d.announcements] == ["Id0000001", "Id0000003"]
    (warning,) = d.warnings
    shown = "T" * 60 if "title" in fields else "Paper 2"
    assert warning.message == f"entry {shown!r} has {why}; skipped"
    assert text.split("\n")[warning.line - 1] == f"Title: {fields.get('title', 'Paper 2')}"


def test_an_entry_at_every_limit_is_kept_whole():
    big = entry(1, title="T" * MAX_TITLE, abstract="a" * MAX_ABSTRACT, authors=("N" * MAX_NAME,) * MAX_AUTHORS)
    (a,) = parse_digest(digest_text(date(2023, 5, 7), accepted=[big]), "d.txt").announcements
    assert (len(a.title), len(a.abstract or ""), len(a.authors)) == (MAX_TITLE, MAX_ABSTRACT, MAX_AUTHORS)


def test_a_state_file_is_never_written_larger_than_a_run_reads_back(tmp_path, monkeypatch):
    """At the limit: the same run with the limit one byte below atom.xml's size fails and writes
    nothing; at exactly its size it succeeds, and the next run reads what it wrote."""
    probe = tmp_path / "probe"
    assert run_cli("update", SAMPLE, "-o", probe).code == 0
    size = (probe / "atom.xml").stat().st_size
    monkeypatch.setattr(schema, "MAX_STATE_BYTES", size - 1)
    r = run_cli("update", SAMPLE, "-o", tmp_path / "over")
    assert r.code == 1
    assert r.err == (
        f"digest2feed: {tmp_path / 'over' / 'atom.xml'}: would be {size:,} bytes, more than the {size - 1:,}"
        " a run reads back; no file was changed\n"
    )
    assert not (tmp_path / "over").exists()
    monkeypatch.setattr(schema, "MAX_STATE_BYTES", size)
    assert run_cli("update", SAMPLE, "-o", tmp_path / "at").code == 0
    assert (tmp_path / "at" / "atom.xml").stat().st_size == size
    again = run_cli("update", SAMPLE, "-o", tmp_path / "at", "-v")
    assert again.code == 0 and "papers: 0 added, 0 promoted, 0 changed, 24 unchanged" in again.out


def test_a_name_holding_control_characters_is_printed_escaped_on_one_line(tmp_path, out):
    bad = tmp_path / "evil\nname\x1b[2J.txt"
    bad.write_bytes(b"")
    r = run_cli("update", bad, "-o", out)
    assert r.code == 1
    assert r.err == f"digest2feed: {tmp_path}/evil\\nname\\x1b[2J.txt: is empty\n"


def test_a_digest_text_over_its_limit_is_refused_unparsed_and_warned_about_inside_a_folder(tmp_path, out):
    from digest2feed.digest import MAX_DIGEST

    (tmp_path / "in").mkdir()
    huge = tmp_path / "in" / "huge.txt"
    huge.write_text(SAMPLE_TEXT + "x" * MAX_DIGEST, encoding="utf-8")
    (tmp_path / "in" / "sample.txt").write_text(SAMPLE_TEXT, encoding="utf-8")
    why = f"holds {len(SAMPLE_TEXT) + MAX_DIGEST:,} characters of text, more than the {MAX_DIGEST:,} of any digest"
    r = run_cli("update", tmp_path / "in", "-o", out)
    assert (r.code, r.err) == (0, f"digest2feed: warning: {huge}: {why}; skipped\n")
    assert (out / "atom.xml").read_text().count("<entry>") == 24
    r = run_cli("update", huge, "-o", out)
    assert (r.code, r.err) == (1, f"digest2feed: {huge}: {why}; skipped\n")


def test_feeds_of_your_own_past_their_limit_are_one_settings_error(tmp_path, out):
    from digest2feed.settings import MAX_FEEDS

    table = '[[feeds]]\nname = "f{}"\nmatch = ["word {}"]\n\n'
    (tmp_path / "ok.toml").write_text("".join(table.format(i, i) for i in range(MAX_FEEDS)))
    (tmp_path / "over.toml").write_text("".join(table.format(i, i) for i in range(MAX_FEEDS + 1)))
    r = run_cli("feeds", "-o", out, "-c", tmp_path / "over.toml")
    assert (r.code, r.err) == (
        1,
        f"digest2feed: {tmp_path / 'over.toml'}: feeds holds 1,001 tables, more than the 1,000 a run writes\n",
    )
    assert run_cli("update", SAMPLE, "-o", out, "-c", tmp_path / "ok.toml").code == 0
    assert (out / "f999" / "atom.xml").is_file()


def test_a_state_file_holding_one_entry_twice_is_refused_as_damaged(out):
    assert run_cli("update", SAMPLE, "-o", out).code == 0
    atom = out / "atom.xml"
    text = atom.read_text(encoding="utf-8")
    first = text[text.index("<entry>") : text.index("</entry>") + len("</entry>")]
    atom.write_text(text.replace(first, first + "\n" + first, 1), encoding="utf-8")
    before = snapshot(out)
    line = atom.read_text(encoding="utf-8")[: text.index(first) + len(first) + 1].count("\n") + 1
    ident = first[first.index("<id>") + 4 : first.index("</id>")]
    r = run_cli("update", SAMPLE, "-o", out)
    assert (r.code, r.err) == (
        1,
        f"digest2feed: {atom}:{line}: has the entry {ident} twice (damaged); refusing to touch it\n",
    )
    assert snapshot(out) == before
