"""Hostile input from the internet: state files built to hurt, and digests built to break."""

from __future__ import annotations

import re
import resource
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from conftest import FIXTURES, SAMPLE, run_cli, snapshot
from digest2feed.digest import MAX_ABSTRACT, MAX_TITLE

SECRET = "TOP-SECRET-d2f-marker"
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE feed [\n<!ENTITY l0 "lol">\n'
    + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">\n' for i in range(1, 10))
    + ']>\n<feed xmlns="http://www.w3.org/2005/Atom"><generator uri="https://github.com/digest2feed/digest2feed">'
    "digest2feed</generator><title>&l9;</title></feed>\n"
)


def xxe(secret: Path) -> str:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY x SYSTEM "{secret.as_uri()}">]>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom"><generator uri="https://github.com/digest2feed/digest2feed">'
        "digest2feed</generator><entry><id>https://openreview.net/forum?id=A#accepted</id><title>&x;</title>"
        "<published>2023-01-01T12:00:00+00:00</published></entry></feed>\n"
    )


def late(document: str) -> str:
    declaration, rest = document.split("\n", 1)
    return f"{declaration}\n<!--{'x' * 10000}-->\n{rest}"


def bounded(limit: int = 1024**3):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # an expanding bomb would die here

    return apply


@pytest.fixture
def site(tmp_path):
    out = tmp_path / "out"
    digests = [FIXTURES / "certifications-2024-03-10.txt", SAMPLE]
    assert run_cli("update", *digests, "-o", out, "--max-entries", "5").code == 0
    return out


DOCTYPE = "holds a document type declaration, which digest2feed never writes"
BROKEN_BODY = '<?xml version="1.0"?>\n<!DOCTYPE feed>\n<feed>&undefined; <<<\n'


def hostile_files(tmp_path: Path, good: bytes) -> dict[str, tuple[bytes | None, str]]:
    """Each hostile state file, and the start of the reason that must refuse it: which defence
    (README, "hostile state files are refused") stops it."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    return {
        # A DOCTYPE in the first 4 KiB is refused before any parsing...
        "billion laughs": (LAUGHS.encode(), DOCTYPE),
        "external entity": (xxe(secret).encode(), DOCTYPE),
        "doctype": (b'<?xml version="1.0"?><!DOCTYPE feed SYSTEM "feed.dtd"><feed/>', DOCTYPE),
        "doctype, then no XML": (BROKEN_BODY.encode(), DOCTYPE),  # a parser would have called it malformed
        # ...behind a 10 KB comment the parser (no entity expansion, no DTD, no network) meets it:
        # libxml2's entity amplification limit stops the bomb, the parsed document's DOCTYPE the rest.
        "late bomb": (late(LAUGHS).encode(), "is not well-formed XML (Maximum entity amplification factor exceeded"),
        "late external entity": (late(xxe(secret)).encode(), DOCTYPE),
        "late doctype, then no XML": (late(BROKEN_BODY).encode(), "is not well-formed XML (Entity 'undefined'"),
        "500 MB": (None, f"is {500 * 1024 * 1024} bytes, larger than any feed digest2feed writes"),
        "another tool": (
            b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x</id>'
            b"<title>x</title><updated>2024-01-01T00:00:00Z</updated><generator>python-feedgen</generator></feed>",
            "is not an Atom feed written by digest2feed",
        ),
        "truncated": (good[: len(good) // 3], "is not well-formed XML (Premature end of data"),
        "binary": (b"\x00\x01\x02" * 1000, "is not well-formed XML (Document is empty"),
        "empty": (b"", "is not well-formed XML (Document is empty"),
    }


@pytest.mark.parametrize("target", ["atom.xml", "archive"])
def test_hostile_state_files_are_refused_untouched_by_the_defence_meant_for_them(tmp_path, site, target):
    victim = site / "atom.xml" if target == "atom.xml" else sorted(site.glob("archive/*.xml"))[0]
    for name, (data, reason) in hostile_files(tmp_path, victim.read_bytes()).items():
        if data is None:
            with victim.open("wb") as f:
                f.write(b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">')
                f.truncate(500 * 1024 * 1024)  # sparse: 500 MB to read, nothing on disk
        else:
            victim.write_bytes(data)
        before = snapshot(site)
        r = subprocess.run(
            [sys.executable, "-m", "digest2feed", "update", str(FIXTURES / "daily-2025-11-06.txt"), "-o", str(site)],
            capture_output=True,
            text=True,
            preexec_fn=bounded(),
            timeout=60,
        )
        assert r.returncode == 1, (name, r.stderr)
        lines = r.stderr.splitlines()
        where = re.match(rf"digest2feed: {re.escape(str(victim))}(:\d+)?: ", lines[0])
        assert len(lines) == 1 and where, (name, r.stderr)
        assert lines[0][where.end() :].startswith(reason), (name, r.stderr)
        assert lines[0].endswith("; refusing to touch it"), (name, r.stderr)
        assert "Traceback" not in r.stderr and SECRET not in r.stderr and "lollol" not in r.stderr
        assert snapshot(site) == before, name
        for path in site.rglob("*.*"):
            if path != victim and path.stat().st_size < 10**8:
                assert SECRET.encode() not in path.read_bytes()


def feeds_are_valid(out: Path) -> None:
    """The main Atom and RSS files (the views come from the same renderers)."""
    for path in (out / "atom.xml", out / "rss.xml"):
        feed = feedparser.parse(path.read_bytes())
        assert feed.bozo == 0, (path, feed.get("bozo_exception"))


def test_markup_and_cdata_end_in_titles_and_abstracts_stay_text(tmp_path):
    out = tmp_path / "out"
    assert run_cli("update", FIXTURES / "daily-2025-11-06.txt", "-o", out, "-q").code == 0
    feeds_are_valid(out)
    atom = feedparser.parse((out / "atom.xml").read_bytes())
    sub = next(e for e in atom.entries if e.id.endswith("DailySub01#submitted"))
    assert "Abstract with &lt;b&gt;markup&lt;/b&gt; &amp; an ampersand ]]&gt; and" in sub.content[0].value
    assert b"<b>markup" not in (out / "atom.xml").read_bytes()


def test_control_bytes_invalid_utf8_huge_abstract_and_long_line(tmp_path):
    text = SAMPLE.read_bytes()
    cases = {
        "controls.txt": text.replace(b"Group Fairness", b"Group\x00\x07\x1b Fairness\x0c", 1),
        "latin1.txt": text.replace("Clément".encode(), "Clément".encode("latin-1")),  # invalid UTF-8
        # At the limits of one entry (digest.py; over them an entry is skipped: test_bounds.py).
        "huge.txt": text.replace(b"We pose", b"word $x<1$ " * ((MAX_ABSTRACT - 2600) // 11) + b"We pose", 1),
        "longline.txt": text.replace(b"Title: Offline Equilibrium Finding", b"Title: " + b"x" * MAX_TITLE, 1),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        out = tmp_path / name.replace(".txt", "")
        r = run_cli("update", tmp_path / name, "-o", out)
        assert (r.code, r.err) == (0, ""), name
        feeds_are_valid(out)
        root = etree.fromstring((out / "atom.xml").read_bytes(), etree.XMLParser(huge_tree=True))
        assert len(root.findall("{http://www.w3.org/2005/Atom}entry")) == 24
    atom = feedparser.parse((tmp_path / "controls" / "atom.xml").read_bytes())
    assert atom.entries[0].title == "Accepted: Group Fairness in Reinforcement Learning"
    latin = feedparser.parse((tmp_path / "latin1" / "atom.xml").read_bytes())
    assert "Clément Lalanne" in [a.name for a in latin.entries[1].authors]
    huge = feedparser.parse((tmp_path / "huge" / "atom.xml").read_bytes()).entries[0]
    assert huge.content[0].value.count("word $x&lt;1$") == (MAX_ABSTRACT - 2600) // 11  # the whole abstract


def test_binary_and_empty_digests_are_one_line_errors(tmp_path):
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_bytes(b"\n  \n")
    r = run_cli("update", tmp_path / "a.png", tmp_path / "empty.txt", tmp_path / "blank.txt", "-o", tmp_path / "o")
    assert r.code == 1
    assert r.err.splitlines() == [
        f"digest2feed: {tmp_path / 'a.png'}: is a binary file, not a digest",
        f"digest2feed: {tmp_path / 'empty.txt'}: is empty",
        f"digest2feed: {tmp_path / 'blank.txt'}: is empty",
    ]
    assert not (tmp_path / "o" / "atom.xml").exists()
