"""Reuse the entries of a file's previous version: a feed that gained one entry renders one.

An entry's rendered bytes depend only on the entry (named by its content digest, see
``stamp.py``) and on a few document-wide choices (format, rendering version, status
in titles). Every subscription feed therefore stores its entries' digests beside
them, under a ``style`` token naming those choices. When a feed has to be written
again, the entries whose digest the old file holds keep their old bytes, and only
the others are rendered: the result is the same bytes a full render gives, since
the head and tail come from rendering the new document (``assemble``). An entry new
to several files (the main feed's formats, the views, your own feeds) is rendered
once per style and reused by the others. State files are always rendered whole; so
is everything when a run regenerates.

In Atom and RSS, an entry is the text from its ``<entry>``/``<item>`` line to the next
(every ``<`` inside an entry's text is escaped, so the markers cannot occur there);
in JSON Feed, a line of the ``items`` array (compact JSON holds no raw line break).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from digest2feed.layout import Document
from digest2feed.render import search

BLOCKS = "digest2feed-blocks"
TAIL = 64 * 1024  # holds the digests of 2,500 entries
OPEN = {"atom": b"  <entry>\n", "rss": b"    <item>\n"}
CLOSE = {"atom": b"</feed>\n", "rss": b"  </channel>\n"}
COMMENT_RE = re.compile(rb"<!-- " + BLOCKS.encode() + rb" ([^>]*) -->")
JSON_ITEMS, JSON_END = b'"items": [\n', b'\n],"_digest2feed": '
JSON_BLOCKS_RE = re.compile(rb'"blocks": \[([^\]]*)\]')


def spliceable(doc: Document) -> bool:
    return doc.format in ("atom", "rss", "json") and not doc.state


def reusable(doc: Document) -> bool:
    """Whether a new version of ``doc`` can keep what its old file holds: a subscription feed's
    entries, or the search index's items (render/search.py, which does its own splicing)."""
    return spliceable(doc) or doc.format == "search"


def style(doc: Document) -> str:
    from digest2feed.render.stamp import RENDERING

    return hashlib.sha256(repr((RENDERING, doc.format, doc.status_titles, doc.math)).encode()).hexdigest()[:12]


def keys(doc: Document) -> list[str]:
    """What a spliceable file stores: its style, then each entry's digest in order."""
    return [style(doc), *(r.digest for r in doc.refs)]


def stored(path: Path, doc: Document) -> set[str]:
    """The digests of the entries ``path`` says it holds in ``doc``'s style (none: empty). Only
    the file's end is read; ``assemble`` checks that the entries are really there."""
    if doc.format == "search":
        try:
            return search.stored(path.read_bytes(), doc)
        except OSError:
            return set()
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - TAIL))
            data = f.read()
            if size > TAIL and (b"<!-- " + BLOCKS.encode() not in data and JSON_END not in data):
                f.seek(0)
                data = f.read()
    except OSError:
        return set()
    found = _stored(data, doc.format)
    return set(found[1:]) if found and found[0] == style(doc) else set()


def _stored(data: bytes, fmt: str) -> list[str]:
    if fmt == "json":
        m = JSON_BLOCKS_RE.search(data, max(0, data.rfind(JSON_END)))
        return re.findall(r'"([0-9a-f]+)"', m.group(1).decode()) if m else []
    m = COMMENT_RE.search(data, max(0, data.rfind(b"<!-- " + BLOCKS.encode())))
    return m.group(1).decode().split() if m else []


def assemble(
    doc: Document, old: bytes, fresh: bytes, fresh_digests: list[str], shared: dict[tuple[str, str], bytes]
) -> bytes:
    """``doc`` from the entries ``old`` holds, those another file of this run rendered in the
    same style (``shared``, by style and digest), and ``fresh`` (a render of ``doc`` with only
    the entries named by ``fresh_digests``, in that order), whose entries join ``shared``.
    ValueError when ``old`` does not hold what its comment lists (a damaged file): the caller
    then renders the document whole. The search index is put together by render/search.py.

    Entries that follow each other in ``old`` and in ``doc`` are copied as one slice: a feed
    that gained a few entries at the top and lost as many at the bottom is three copies."""
    if doc.format == "search":
        return search.assemble(doc, old, fresh)
    key, joiner = style(doc), b",\n" if doc.format == "json" else b""
    _, spans, _ = _spans(old, doc.format)
    listed = _stored(old, doc.format)[1:]
    if len(listed) != len(spans):
        raise ValueError("the file does not hold the entries its comment lists")
    at = {d: i for i, d in enumerate(listed)}
    head, fresh_blocks, tail = _split(fresh, doc.format)
    new = dict(zip(fresh_digests, fresh_blocks, strict=True))
    shared.update(((key, d), block) for d, block in new.items())
    pieces: list[bytes] = []
    first = last = -2  # the run of consecutive old entries being gathered
    for d in (r.digest for r in doc.refs):
        i = -1 if d in new else at.get(d, -1)
        if i >= 0 and first >= 0 and i == last + 1:
            last = i
            continue
        if first >= 0:
            pieces.append(old[spans[first][0] : spans[last][1]])
        first = last = i
        if i < 0:
            pieces.append(new[d] if d in new else shared[key, d])
    if first >= 0:
        pieces.append(old[spans[first][0] : spans[last][1]])
    return head + joiner.join(pieces) + tail


def _spans(data: bytes, fmt: str) -> tuple[int, list[tuple[int, int]], int]:
    """Where a file's entries begin and end, and where each one does (JSON Feed: without the
    ",\n" between items), so that any run of them, first start to last end, is one slice.
    ValueError when the file is not laid out as this module expects."""
    if fmt == "json":
        start, end = data.index(JSON_ITEMS) + len(JSON_ITEMS), data.rindex(JSON_END)
        if end <= start:
            return start, [], end
        cuts = _found(data, b",\n", start, end)
        return start, list(zip([start, *(c + 2 for c in cuts)], [*cuts, end], strict=True)), end
    end = data.rindex(CLOSE[fmt])
    starts = _found(data, OPEN[fmt], 0, end)
    if not starts:
        return end, [], end
    return starts[0], list(zip(starts, [*starts[1:], end], strict=True)), end


def _found(data: bytes, sep: bytes, start: int, end: int) -> list[int]:
    """Every place ``sep`` stands in ``data[start:end]``, not overlapping, as ``split`` cuts."""
    out = []
    at = data.find(sep, start, end)
    while at >= 0:
        out.append(at)
        at = data.find(sep, at + len(sep), end)
    return out


def _split(data: bytes, fmt: str) -> tuple[bytes, list[bytes], bytes]:
    """Head, entries, tail of a file (ValueError: not laid out as this module expects)."""
    start, spans, end = _spans(data, fmt)
    return data[:start], [data[a:b] for a, b in spans], data[end:]
