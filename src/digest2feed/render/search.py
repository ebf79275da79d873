"""The search over the whole history: search-index.js (what is searched) and search.js (the code).

**The index** holds every paper once, at its newest rung, newest first: forum id, rung,
title, authors and certifications, one paper a line, each digest day's papers after a
line naming the day and its week. It is one JSON document wrapped in one call,
``digest2feed.index({...});``, so that a ``<script>`` element loads it from a server and
from a folder opened in a browser alike (file:// refuses fetch()). Its JSON cannot end
a script holding it: every ``<``, ``>`` and ``&`` is written as ``\\u003c``, ``\\u003e``,
``\\u0026``, and U+2028/U+2029 escaped too.

**The code** is search.js beside this module, after two tables that make its folding
that of ``filters.fold`` (the ``[[feeds]]`` phrases): the characters whose canonical
combining class is not 0 (dropped after NFKD), and the characters whose fold is not
what NFKD, that drop and lowercasing give (``ß`` → ``ss``, Cherokee, ...). Both come from
Python's Unicode data, and the table of the second kind is built with ``filters.fold``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from importlib.resources import files
from itertools import chain

from digest2feed.filters import fold
from digest2feed.layout import Document
from digest2feed.model import Entry
from digest2feed.render.pieces import listed
from digest2feed.render.stamp import listing
from digest2feed.schema import PIECES
from digest2feed.weeks import label, week_of

CALL = b"digest2feed.index("
HEAD = CALL + b'{"version":2,"items":[\n'
END = b");\n"
SEP = b",\n"
TAIL_START = b'\n],\n"weeks":'
UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
UNSAFE_RE = re.compile("[<>&\u2028\u2029]")
DAY_RE = re.compile(rb'\["\d{4}-\d\d-\d\d","[^"]*"\]')  # a day's line; a paper's has a number second
HASHES = f"// {PIECES} "


def item(e: Entry) -> list:
    """What the search shows and searches of one paper."""
    row: list = [e.forum_id, int(e.rung), e.title, ",".join(e.authors)]  # no name holds a comma (digest.py)
    if e.certifications:
        row.append(list(e.certifications))
    return row


def index(doc: Document, entries: Iterable[Entry | bytes], stamp: str) -> bytes:
    """search-index.js: one JSON value a line, ``[day, week]`` before the papers of each digest
    day, then one line per paper (``item``); after them the weeks' labels, then each paper's entry
    hash in a comment. ``entries``, one per ref: the paper's entry, or its line kept from the file's
    last version (``kept``)."""
    parts: list[bytes] = [HEAD]  # each line and the separator after it: the file is joined once
    labels: dict[str, str] = {}
    day = ""
    for ref, e in zip(doc.refs, entries, strict=True):
        if ref.published[:10] != day:
            day, week = ref.published[:10], week_of(ref.published)
            labels.setdefault(week, label(week))
            parts += (f'["{day}","{week}"]'.encode(), SEP)
        parts += (e if isinstance(e, bytes) else _json(item(e)).encode(), SEP)
    if len(parts) > 1:
        parts.pop()  # no separator after the last line
    hashes = f"{HASHES}{listing(doc)}\n".encode()
    parts += (TAIL_START + f"{_json(labels)}}}".encode(), END, hashes, _stamp(stamp))
    return b"".join(parts)


def kept(doc: Document, data: bytes) -> dict[str, bytes]:
    """Entry hash → line, of a search index rendered in this style (else nothing): what a run may
    take back instead of reading the paper's record again. Anything unexpected gives nothing."""
    body, found, tail = data.rpartition(HASHES.encode())
    items, end, _ = body.partition(TAIL_START)
    if not found or not end or not items.startswith(HEAD):
        return {}
    lines = [line for line in items[len(HEAD) :].split(SEP) if line and not DAY_RE.fullmatch(line)]
    hashes = listed(doc, tail.partition(b"\n")[0].decode("ascii", "replace").split(), len(lines))
    return {} if hashes is None else dict(zip(hashes, lines, strict=True))


def _stamp(print_: str) -> bytes:
    """The fingerprint line schema.FINGERPRINT_RE finds (as stamp.xml_stamp writes it), in a JavaScript comment."""
    return f"// <!-- digest2feed {print_} -->\n".encode()


def _json(value: object) -> str:
    return UNSAFE_RE.sub(lambda m: UNSAFE[m.group()], json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def code(doc: Document, entries: list[Entry], stamp: str) -> bytes:
    """search.js: the folding tables of this Python's Unicode data, then the code."""
    marks, special = _tables()
    head = (
        f"// Folding tables for Unicode {unicodedata.unidata_version} (Python's unicodedata), written by digest2feed.\n"
        f"{{\nconst MARKS = /[{marks}]/gu;\nconst SPECIAL = {_json(special)};\n"
    )
    return (head + _source() + "}\n").encode() + _stamp(stamp)


@cache
def _source() -> str:
    return files("digest2feed.render").joinpath("search.js").read_text(encoding="utf-8")


# Where a character can have a decomposition, a case or a combining class: planes 0 and 1, the
# CJK compatibility ideographs of plane 2 (they decompose) and plane 14 (tags, variation
# selectors). The rest is ideographs, private use and unassigned: folded to themselves. Eight
# times fewer to look at; test_site_browser.py compares the folds of every code point.
_CODE_POINTS = (range(0x80, 0xD800), range(0xE000, 0x20000), range(0x2F800, 0x2FA20), range(0xE0000, 0xE1000))


@cache
def _tables() -> tuple[str, dict[str, str]]:
    """The combining marks as a regular expression's ranges, and the characters to fold by table.

    A character needs the table when ``fold`` gives something else than NFKD, the marks
    dropped and lowercasing (with a final sigma read as any sigma, as ``fold`` does): that
    can only be a character with a decomposition or whose case fold is not its lowercase."""
    marks: list[list[int]] = []
    special: dict[str, str] = {}
    for cp in chain.from_iterable(_CODE_POINTS):
        c = chr(cp)
        if unicodedata.combining(c):
            if marks and marks[-1][1] == cp - 1:
                marks[-1][1] = cp
            else:
                marks.append([cp, cp])
        if unicodedata.decomposition(c) or c.casefold() != c.lower():
            plain = "".join(d for d in unicodedata.normalize("NFKD", c) if not unicodedata.combining(d))
            if fold(c) != plain.lower().replace("\u03c2", "\u03c3"):
                special[c] = fold(c)
    ranges = "".join(_js_char(a) if a == b else f"{_js_char(a)}-{_js_char(b)}" for a, b in marks)
    return ranges, special


def _js_char(cp: int) -> str:
    return f"\\u{{{cp:x}}}"
