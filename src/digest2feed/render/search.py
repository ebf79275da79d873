"""The search over the whole history: search-index.js (what is searched) and search.js (the code).

**The index** holds every paper once, at its newest rung, newest first: forum id, rung,
title, authors and certifications, one paper a line, each digest day's papers after a
line naming the day and its week. It is one JSON document wrapped in one call,
``digest2feed.index({...});``, so that a ``<script>`` element loads it from a server and
from a folder opened in a browser alike (file:// refuses fetch()). Its JSON cannot end
a script holding it: every ``<``, ``>`` and ``&`` is written as ``\\u003c``, ``\\u003e``,
``\\u0026``, and U+2028/U+2029 escaped too.

It ends with the first 8 base64 characters of each item's entry digest, so that a run
writing it again keeps the lines of the items whose entry has not changed and builds only the others
(``stored`` and ``assemble``, called by render/splice.py), without reading their papers
from the archives. A kept item must also name the same paper and rung.

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
from binascii import b2a_base64
from collections.abc import Iterable
from functools import cache, lru_cache
from importlib.resources import files
from itertools import chain

from digest2feed.filters import fold
from digest2feed.layout import Document, Ref
from digest2feed.model import Entry
from digest2feed.weeks import label, week_of

CALL = b"digest2feed.index("
HEAD = CALL + b'{"version":2,"items":[\n'
END = b");\n"
SEP = b",\n"
TAIL_START = b'\n],\n"weeks":'
DAY_LINE = re.compile(rb'\["\d{4}-\d\d-\d\d","\d{4}-\d\d-\d\d"\]')
ITEM_LINE = re.compile(rb'\["([A-Za-z0-9_-]+)",([012]),"')
KEY = 8  # base64 characters of the entry digest kept per item: 48 bits, with the forum id and rung beside them
UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
UNSAFE_RE = re.compile("[<>&\u2028\u2029]")


def key(digest: str) -> str:
    """An entry digest (hex) as the index stores it: its first 48 bits in base64."""
    return b2a_base64(bytes.fromhex(digest[:12]), newline=False).decode()


def item(e: Entry) -> list:
    """What the search shows and searches of one paper."""
    row: list = [e.forum_id, int(e.rung), e.title, ",".join(e.authors)]  # no name holds a comma (digest.py)
    if e.certifications:
        row.append(list(e.certifications))
    return row


def index(doc: Document, entries: list[Entry], stamp: str) -> bytes:
    """search-index.js for ``entries`` (every paper of ``doc``, or some of them when splicing).

    One JSON value a line: ``[day, week]`` before the papers of each digest day, then one
    line per paper (``item``); after them the weeks' labels and the items' digests. Lines
    are bytes from the start: the whole history's index is built once, in little memory."""
    refs: Iterable[Ref] = doc.refs
    if len(entries) != len(doc.refs) or any(e.forum_id != r.forum_id for e, r in zip(entries, refs, strict=True)):
        by_key = {(r.forum_id, r.rung): r for r in doc.refs}  # some entries only: the dates and digest planned
        refs = [by_key[e.forum_id, e.rung] for e in entries]
    return _write(zip(refs, (_json(item(e)).encode() for e in entries), strict=True), stamp)


def _write(rows: Iterable[tuple[Ref, bytes]], stamp: str) -> bytes:
    parts: list[bytes] = [HEAD]  # each line and the separator after it: the file is joined once
    labels: dict[str, str] = {}
    keys: list[str] = []
    day = ""
    for ref, line in rows:
        if ref.published[:10] != day:
            day, week = ref.published[:10], week_of(ref.published)
            labels.setdefault(week, label(week))
            parts += (f'["{day}","{week}"]'.encode(), SEP)
        parts += (line, SEP)
        keys.append(key(ref.digest))
    if keys:
        parts.pop()  # no separator after the last line
    tail = TAIL_START + f'{_json(labels)},\n"digests":"{"".join(keys)}"}}'.encode()
    parts += (tail, END, _stamp(stamp))
    return b"".join(parts)


def _stamp(print_: str) -> bytes:
    """The fingerprint line stamp.STAMP_RE finds (as stamp.xml_stamp writes it), in a JavaScript comment.
    Written here: stamp.py imports render/splice.py, which calls this module."""
    return f"// <!-- digest2feed {print_} -->\n".encode()


def _json(value: object) -> str:
    return UNSAFE_RE.sub(lambda m: UNSAFE[m.group()], json.dumps(value, ensure_ascii=False, separators=(",", ":")))


@lru_cache(maxsize=1)  # stored() and then assemble() read the same old file
def _lines(data: bytes) -> dict[tuple[str, str, int], bytes]:
    """The item lines a previous index holds, by (key, forum id, rung), exactly as written.
    ValueError: not an index as ``_write`` writes it. Only the short end is parsed as JSON:
    the lines are told apart by how they start, as ``_write`` writes them (a paper's line
    starts with its forum id and rung, a day's with two dates), which keeps a run that adds
    one digest to 50,000 papers from building every item again in memory."""
    end = data.rfind(TAIL_START)
    if not data.startswith(HEAD) or end < 0:
        raise ValueError("not a search index")
    try:
        keys = json.loads(b"{" + data[end + len(b"\n],\n") : data.rindex(END)])["digests"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"not a search index: {e}") from None
    body = data[len(HEAD) : end]
    out = {}
    for piece in body.split(SEP) if body else ():
        if DAY_LINE.fullmatch(piece):
            continue  # written anew
        m = ITEM_LINE.match(piece)
        if not m or not piece.endswith(b"]") or b"\n" in piece:
            raise ValueError("the index is not one item a line")
        n = len(out)
        out[keys[n * KEY : (n + 1) * KEY], m.group(1).decode(), int(m.group(2))] = piece
        if len(out) == n:
            raise ValueError("two items of the index share a key")
    if not isinstance(keys, str) or len(keys) != KEY * len(out):
        raise ValueError("the index does not hold one digest per item")
    return out


def stored(data: bytes, doc: Document) -> set[str]:
    """The digests of ``doc``'s entries whose items the old index ``data`` holds."""
    try:
        old = _lines(data)
    except ValueError:
        return set()
    kept = {r.digest for r in doc.refs if (key(r.digest), r.forum_id, int(r.rung)) in old}
    if not kept:  # the index is built whole: assemble() will not be called to let the old one go
        _lines.cache_clear()
    return kept


def assemble(doc: Document, old: bytes, fresh: bytes) -> bytes:
    """``doc``'s index from the item lines of ``old`` and those of ``fresh`` (an index of the
    other entries, rendered now); the stamp is ``fresh``'s. ValueError when an item is in neither."""
    lines = _lines(old) | _lines(fresh)
    _lines.cache_clear()
    try:
        rows = [(r, lines[key(r.digest), r.forum_id, int(r.rung)]) for r in doc.refs]
    except KeyError as e:
        raise ValueError(f"no item for {e}") from None
    stamp = fresh[fresh.rindex(b"<!-- digest2feed ") + len(b"<!-- digest2feed ") :].split()[0].decode()
    return _write(rows, stamp)


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
