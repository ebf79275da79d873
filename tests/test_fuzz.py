"""Fuzzing with hypothesis: parser, e-mail reader and state reader never raise anything unplanned.

Each runs a bounded number of inputs in CI (FUZZ_EXAMPLES raises it for a long run);
crashers found are pinned below with @example so they stay fixed.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
from pathlib import Path

import feedparser
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, SAMPLE, mtimes, read_state, run_cli, snapshot
from digest2feed.digest import ILLEGAL_RE, NotADigest, clean_text, parse_digest
from digest2feed.pipeline import update
from digest2feed.settings import Settings
from digest2feed.sources.mail import read_message
from digest2feed.state import StateError, scan, state_files
from model_merge import model_state

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
LINES = SAMPLE.read_text(encoding="utf-8").split("\n")
ID_RE = re.compile(r"[A-Za-z0-9_-]+")
NASTY = st.sampled_from(
    ["", "---", "=" * 15, "Title:", "URL:", "Abstract:", "Authors:", "\x00", "\r", "]]>", "<b>", "\ud800", "\ufeff",
     "Featured Certification: x", "URL: https://openreview.net/forum?id=", "https://openreview.net/forum?id=Zz9",
     "Accepted papers", "New certifications", "New submissions"]
)  # fmt: skip


@st.composite
def mutated_sample(draw) -> str:
    """The real sample with lines deleted, duplicated, replaced and cut: what broken mail looks like."""
    lines = list(LINES)
    for _ in range(draw(st.integers(0, 12))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "nasty", "text", "cut"]))
        if op == "delete":
            del lines[i : i + draw(st.integers(1, 30))]
        elif op == "duplicate":
            lines[i:i] = lines[i : i + draw(st.integers(1, 30))]
        elif op == "nasty":
            lines.insert(i, draw(NASTY))
        elif op == "text":
            lines.insert(i, draw(st.text(max_size=80)))
        else:
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        if not lines:
            lines = [""]
    return "\n".join(lines)


def check_digest(text: str) -> None:
    try:
        d = parse_digest(text, "fuzz")
    except NotADigest as e:
        assert e.problem.source == "fuzz"
        return
    for p in d.papers:
        assert ID_RE.fullmatch(p.forum_id)
        assert p.title and p.title == " ".join(p.title.split())
        for field in (p.title, p.abstract or "", *p.authors, *p.certifications):
            assert not ILLEGAL_RE.search(field)


@FUZZ
@given(st.text())
@example("Accepted papers\n===============\nTitle: x\nURL: https://openreview.net/forum?id=a")
def test_parser_on_any_text(text):
    check_digest(text)


@FUZZ
@given(mutated_sample())
# Found by this test: one paper in two sections of one digest gives two rungs, the lower one archived at once.
@example(
    "Weekly TMLR digest for Apr 30, 2023\nAccepted papers\n===============\nTitle: T\nAuthors: A\nAbstract: x\n"
    "URL: https://openreview.net/forum?id=Sb6p5mcefw\n---\nNew submissions\n===============\nTitle: T\n"
    "Abstract: x\nURL: https://openreview.net/forum?id=Sb6p5mcefw\n---\n"
)
def test_parser_on_broken_digests_and_the_feeds_it_leads_to(text):
    check_digest(text)
    try:
        parse_digest(text, "fuzz")
    except NotADigest:
        return
    # Whatever parsed is written into state files (window and archives) that read back to the same state.
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "d.txt").write_text(clean_text(text), encoding="utf-8")  # no lone surrogate on disk
        settings = Settings(output=Path(tmp) / "out", max_entries=3, views=(), formats=("atom",), html=False)
        update(settings, [str(Path(tmp) / "d.txt")], io.BytesIO())
        assert read_state(settings.output) == model_state([parse_digest(clean_text(text), "fuzz")])


@FUZZ
@given(st.binary(max_size=4096))
def test_mail_reader_on_any_bytes(data):
    read_message(data)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 3000), st.binary(max_size=12)), max_size=8))
@example([(164, b"\x00")])  # found by this test: a charset name holding a NUL made the codec lookup raise
def test_mail_reader_on_damaged_mail(edits):
    data = bytearray(
        b"From: a@b\nSubject: Weekly TMLR digest for Apr 30, 2023\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/alternative; boundary="XX"\n\n--XX\nContent-Type: text/plain; charset=utf-8\n'
        b"Content-Transfer-Encoding: quoted-printable\n\nAccepted papers\n===============\n\nTitle: A =C3=A9\n"
        b"--XX\nContent-Type: text/html; charset=koi8-r\nContent-Transfer-Encoding: base64\n\nPGI+eDwvYj4=\n--XX--\n"
    )
    for at, chunk in edits:
        data[at : at + len(chunk)] = chunk
    mail = read_message(bytes(data))
    assert mail.text is None or isinstance(mail.text, str)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A real output folder with a window and archives: the files the fuzzer damages."""
    folder = tmp_path_factory.mktemp("fuzz-state") / "out"
    r = run_cli("update", SAMPLE, FIXTURES / "certifications-2024-03-10.txt", "-o", folder, "--max-entries", "5")
    assert (r.code, r.err) == (0, "")
    assert len(state_files(folder)) >= 3  # atom.xml and at least two archive months
    return folder


EDITS = st.lists(
    st.one_of(
        st.tuples(st.just("overwrite"), st.integers(0, 2**20), st.binary(min_size=1, max_size=16)),
        st.tuples(st.just("insert"), st.integers(0, 2**20), st.binary(min_size=1, max_size=16)),
        st.tuples(st.just("cut"), st.integers(0, 2**20), st.just(b"")),
    ),
    min_size=1,
    max_size=6,
)


def damage(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for op, at, chunk in edits:
        at %= len(out) + 1
        if op == "overwrite":
            out[at : at + len(chunk)] = chunk
        elif op == "insert":
            out[at:at] = chunk
        else:
            del out[at:]
    return bytes(out)


@settings(FUZZ, max_examples=max(EXAMPLES // 3, 1))
@given(st.integers(0, 99), EDITS)
# Found by this test: undecodable bytes came out as "cannot read: Error reading file …", not as a refusal,
@example(0, [("overwrite", 6, b"\x80")])
# and libxml2's message for a NUL held a line break, so the one error took two lines.
@example(0, [("overwrite", 1, b"\x00")])
# and a state file whose fingerprint was hit was called "not written by digest2feed".
@example(86, [("overwrite", 3102, b" ")])
def test_damaged_state_file_through_scan_and_a_full_update_run(site, tmp_path_factory, which, edits):
    """The reader runs use (``state.scan``) and the whole run: damage is either harmless or
    refused with one line naming the file, exit 1 and nothing written."""
    with tempfile.TemporaryDirectory(dir=tmp_path_factory.getbasetemp()) as tmp:
        folder = Path(tmp) / "out"
        shutil.copytree(site, folder)
        files = state_files(folder)
        victim = files[which % len(files)]
        victim.write_bytes(damage(victim.read_bytes(), edits))
        for wanted in (None, {"JkIH4MeOc3"}):
            try:
                scan(folder, wanted)
            except StateError as e:
                assert e.problem.source == str(victim)
        before, times = snapshot(folder), mtimes(folder)
        r = run_cli("update", FIXTURES / "daily-2025-11-06.txt", "-o", folder, "--max-entries", "5", "-q")
        if r.code == 1:
            assert r.err.startswith(f"digest2feed: {victim}") and r.err.count("\n") == 1, r.err
            assert "refusing to touch it" in r.err, r.err
            assert snapshot(folder) == before and mtimes(folder) == times
        else:
            # Damage that left a well-formed entry of ours (say, a changed letter in a title) is data.
            assert (r.code, r.err) == (0, "")
            for path in state_files(folder):
                scan(folder, None)
                assert feedparser.parse(path.read_bytes()).bozo == 0, path


# Every character XML cannot hold, the characters around them, surrogates included, and
# the UTF-8 neighbours of U+FFFE/U+FFFF that a byte-level check could confuse with them.
CLEAN_CHARS = st.one_of(
    st.characters(blacklist_categories=()),
    st.sampled_from(["\t", "\n", "\r", "\x0b", "\x1f", "\x7f", "\ufffd", "\ufffe", "\uffff", "\ud800", "\U0010ffff"]),
)


@FUZZ
@given(st.text(CLEAN_CHARS, max_size=60))
@example("a\x00b")
@example("\ufffe\ufffd")
@example("\uffff\ufffd")
@example("x\ud83d")
@example("\r\n\rok")
def test_clean_text_drops_exactly_what_xml_cannot_hold(text: str) -> None:
    # clean_text checks the UTF-8 bytes before running ILLEGAL_RE; the result must be the
    # regular expression's, character for character.
    unified = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    assert clean_text(text) == ILLEGAL_RE.sub("", unified)
