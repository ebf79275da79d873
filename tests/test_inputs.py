"""Inputs people really have: text in UTF-16/32 or with a BOM, pages saved from a browser,
list traffic on standard input, and inputs that hold no digest at all."""

from __future__ import annotations

import html
import json
import mailbox
from email.message import EmailMessage

import pytest

from conftest import ROOT, SAMPLE, run_cli, snapshot
from mailgen import digest_part, message, other_mail

WEB = SAMPLE.read_text(encoding="utf-8")
SUBJECT, BODY = digest_part(WEB)


def papers(*inputs) -> list[tuple[str, str, list[dict]]]:
    r = run_cli("parse", *inputs, "--json")
    assert r.code == 0, r.err
    return [(d["date"], d["kind"], d["papers"]) for d in json.loads(r.out)["digests"]]


EXPECTED = papers(SAMPLE)


def test_expected_is_the_sample():
    (date, kind, found), = EXPECTED  # fmt: skip
    assert (date, kind, len(found)) == ("2023-04-30", "weekly", 24)


BOMS = {
    "utf-16": b"\xff\xfe",  # Python writes the BOM and little-endian, as Notepad does
    "utf-16-be": b"\xfe\xff",
    "utf-32": b"\xff\xfe\x00\x00",
    "utf-32-be": b"\x00\x00\xfe\xff",
    "utf-8-sig": b"\xef\xbb\xbf",
}


@pytest.mark.parametrize("encoding", list(BOMS))
def test_unicode_with_a_byte_order_mark(tmp_path, encoding):
    """Windows Notepad's "Unicode" is UTF-16 little-endian with a BOM and CRLF line ends."""
    text = WEB.replace("\n", "\r\n")
    data = (
        text.encode(encoding) if encoding in ("utf-16", "utf-32", "utf-8-sig") else ("\ufeff" + text).encode(encoding)
    )
    assert data.startswith(BOMS[encoding]) and not data[len(BOMS[encoding]) :].startswith(b"\xef\xbb\xbf")
    path = tmp_path / "digest.txt"
    path.write_bytes(data)
    assert papers(path) == EXPECTED
    r = run_cli("update", "-", "-o", tmp_path / "out", stdin=data)  # and on standard input
    assert (r.code, r.err) == (0, "")
    assert run_cli("update", SAMPLE, "-o", tmp_path / "plain").code == 0
    assert snapshot(tmp_path / "out") == snapshot(tmp_path / "plain")


def test_an_e_mail_saved_as_utf16_is_read_as_mail(tmp_path):
    path = tmp_path / "digest.eml"
    path.write_bytes(bytes(message(BODY, SUBJECT, cte="8bit")).decode("utf-8").encode("utf-16"))
    assert papers(path) == EXPECTED


# Constructed, not captured: the structure of a Google Groups conversation page (title,
# navigation, the page lines a web copy also shows, the message body), as a browser saves it.
def groups_page(body_html: str, complete: bool) -> str:
    nav = "".join(f'<li><a href="/g/group{i}">Group {i}</a></li>' for i in range(300))
    saved = "<!-- saved from url=(0058)https://groups.google.com/g/tmlr-announce-weekly/c/x1y2z3 -->\n"
    head = (
        '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
        '<link rel="stylesheet" href="./Weekly TMLR digest_files/css.css">'
        if complete
        else '<meta charset="utf-8"><script nonce="x">var AF_initDataCallback = {"a": "<div>Title: no</div>"};</script>'
    )
    return (
        f'{saved if complete else ""}<!DOCTYPE html>\n<html lang="en"><head>{head}'
        "<title>Weekly TMLR digest for Apr 30, 2023 - Google Groups</title>"
        "<style>.x { white-space: pre-wrap }</style></head>\n"
        f'<body><header><a href="/">Groups</a></header><nav><ul>{nav}</ul></nav>\n'
        '<div role="main"><h1>Weekly TMLR digest for Apr 30, 2023</h1><div>7 views</div>'
        "<div>Skip to first unread message</div><div><span>TMLR</span></div><div>unread,</div>"
        "<div>Apr 29, 2023, 8:00:18 PM</div><div>to tmlr-annou...@googlegroups.com</div>\n"
        f'<div role="region" aria-label="Message body">{body_html}</div>'
        "<div>Reply all</div><div>Reply to author</div><div>Forward</div><div>0 new messages</div></div>"
        "<script>window.WIZ_global_data = {};</script></body></html>\n"
    )


def with_breaks(text: str) -> str:
    return '<div dir="ltr">' + "<br>\n".join(html.escape(line) for line in text.split("\n")) + "</div>"


def pre_wrapped(text: str) -> str:
    return f'<div style="white-space: pre-wrap; font-family: monospace">{html.escape(text)}</div>'


@pytest.mark.parametrize("complete", [False, True], ids=["html-only", "web-page-complete"])
@pytest.mark.parametrize("body", [with_breaks, pre_wrapped], ids=["br-lines", "pre-wrap"])
def test_a_page_saved_from_the_browser_parses_like_the_e_mail(tmp_path, complete, body):
    page = tmp_path / "Weekly TMLR digest for Apr 30, 2023 - Google Groups.html"
    page.write_text(groups_page(body(BODY), complete), encoding="utf-8")
    assert papers(page) == EXPECTED
    # The kind is told by content: the same page under a plain name, and in a searched folder
    # beside the "_files" folder a complete save makes.
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "page").write_bytes(page.read_bytes())
    (tmp_path / "saved" / "page_files").mkdir()
    (tmp_path / "saved" / "page_files" / "css.css").write_text("body { margin: 0 }\n")
    assert papers(tmp_path / "saved") == EXPECTED


def test_a_page_cut_down_by_hand_to_its_meta_and_body_is_still_a_page(tmp_path):
    """Constructed: no DOCTYPE, no <html>: the saved page trimmed to a <meta> line and the message."""
    page = tmp_path / "trimmed.html"
    page.write_text(
        '<meta charset="utf-8">\n<title>Weekly TMLR digest for Apr 30, 2023 - Google Groups</title>\n'
        + with_breaks(BODY),
        encoding="utf-8",
    )
    assert papers(page) == EXPECTED


def test_an_e_mail_html_part_and_a_saved_page_agree(tmp_path):
    eml = tmp_path / "a.eml"
    eml.write_bytes(bytes(message(BODY, SUBJECT, kind="html")))
    page = tmp_path / "a.html"
    page.write_text(groups_page(with_breaks(BODY), True), encoding="utf-8")
    assert papers(eml) == papers(page) == EXPECTED


def reply() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Someone <someone@example.org>"
    msg["To"] = "tmlr-announce-weekly@googlegroups.com"
    msg["Subject"] = "Re: " + SUBJECT
    msg["Message-ID"] = "<reply-1@example.org>"
    msg.set_content("Thanks, very useful!\n\n" + "".join(f"> {line}\n" for line in BODY.split("\n")))
    return msg


def test_mail_on_standard_input_that_is_no_digest_is_skipped_with_a_warning(tmp_path):
    """The rule for mail filters: an e-mail that holds no digest (a reply, a welcome message) is
    skipped, exit 0, one warning unless -q; text that is not mail and not a digest is an error."""
    out = tmp_path / "out"
    for msg in (reply(), other_mail(1)):
        data = bytes(msg)
        r = run_cli("update", "-", "-o", out, stdin=data)
        assert (r.code, r.err) == (
            0,
            "digest2feed: warning: <stdin>: no TMLR digest found (1 other message or file skipped)\n",
        )
        assert run_cli("update", "-", "-o", out, "-q", stdin=data).err == ""
        r = run_cli("update", "-", "-o", out, "-v", stdin=b"From x@y Sun Apr 30 00:00:18 2023\n" + data)
        assert r.code == 0 and "inputs read: 0 digests (1 other messages or files skipped, 0 duplicates)" in r.out
    assert json.loads((out / "feed.json").read_bytes())["items"] == []
    r = run_cli("update", "-", "-o", out, stdin=b"shopping list\n")
    assert (r.code, r.err) == (1, "digest2feed: <stdin>: holds no TMLR digest\n")


def test_an_input_that_holds_no_digest_is_warned_about(tmp_path):
    """A cron job pointed at the wrong folder is noticed: one warning naming each such INPUT."""
    empty = tmp_path / "empty"
    empty.mkdir()
    other = tmp_path / "Maildir"
    box = mailbox.Maildir(other)
    box.add(other_mail(1))
    box.add(other_mail(2))
    mbox = mailbox.mbox(tmp_path / "inbox.mbox")
    mbox.add(other_mail(3))
    mbox.flush()
    good = tmp_path / "digests"
    good.mkdir()
    (good / "weekly.txt").write_text(WEB, encoding="utf-8")
    (good / "notes.txt").write_text("not a digest\n")
    unrelated = tmp_path / "Downloads"
    unrelated.mkdir()
    (unrelated / "notes.txt").write_text("shopping list\n")
    (unrelated / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(4096))
    out = tmp_path / "out"
    r = run_cli("update", empty, other, tmp_path / "inbox.mbox", unrelated, good, "-o", out, "-v")
    assert r.code == 0
    assert r.err.splitlines() == [
        f"digest2feed: warning: {empty}: no TMLR digest found (nothing in it to read)",
        f"digest2feed: warning: {other}: no TMLR digest found (2 other messages or files skipped)",
        f"digest2feed: warning: {tmp_path / 'inbox.mbox'}: no TMLR digest found (1 other message or file skipped)",
        f"digest2feed: warning: {unrelated}: no TMLR digest found (2 other messages or files skipped)",
    ]
    assert "entries in the feed: 24" in r.out
    assert run_cli("update", empty, "-o", out, "-q").err == ""
    again = run_cli("update", good, good, "-o", out)  # read twice: the second time holds only duplicates
    assert (again.code, again.err) == (0, "")


def test_the_rule_is_in_help_and_readme():
    r = run_cli("update", "--help")
    assert r.code == 0
    help_text = " ".join(r.out.split())
    assert "On standard input (-), an e-mail that holds no digest (a reply, a welcome message) is skipped" in help_text
    assert "2 wrong usage (including a bad flag value)" in help_text
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert (
        "An e-mail that holds no TMLR digest (a reply, a welcome message, whatever a looser pattern lets "
        "through) is skipped" in readme
    )
