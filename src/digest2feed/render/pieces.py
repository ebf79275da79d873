"""What a file keeps of its last version: one piece per entry, named by the entry hash.

A feed's entry renders to the same bytes wherever it stands, given the document's style
(format, status in titles, math, the rendering version and the libraries' versions). So
every subscription feed (Atom, RSS, JSON Feed; never a state file, which is always rendered
whole), papers.bib and the search index list, at their end, their style and the entry hash
of each piece in order. When such a file has to be written again, a run keeps the pieces of
the entries whose hash it lists and renders only the others: it reads back from the archives
only the papers that changed, and the bytes are those of a file rendered whole (tests/test_kept.py).
A regeneration, or a run after one that died mid-commit, keeps nothing.

A piece: in Atom and RSS, the text from an entry's ``<entry>`` / ``<item>`` line to the next
one (every ``<`` inside an entry's text is escaped, so the markers cannot occur there); in
JSON Feed, one line of the ``items`` array (compact JSON holds no raw line break); in
papers.bib and the search index, see render/papers.py and render/search.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from digest2feed.layout import Document
from digest2feed.model import Entry
from digest2feed.render.stamp import style
from digest2feed.schema import PIECES

START = {"atom": b"  <entry>\n", "rss": b"    <item>\n"}
END = {"atom": b"</feed>\n", "rss": b"  </channel>\n"}
JSON_START, JSON_END, JSON_SEP = b'"items": [\n', b"\n]", b",\n"
XML_LIST = re.compile(rb"<!-- " + PIECES.encode() + rb" ([0-9a-f ]+) -->\n")
JSON_LIST = re.compile(rb'"pieces": "([0-9a-f ]+)"')  # in the feed's _digest2feed, before the fingerprint
FEEDS = ("atom", "rss", "json")


def keeps(doc: Document) -> bool:
    return doc.format in (*FEEDS, "bib", "search") and not doc.state


def listed(doc: Document, words: Iterable[str], count: int) -> list[str] | None:
    """The hashes a file lists, if it was rendered in ``doc``'s style with ``count`` pieces."""
    words = list(words)
    return words[1:] if words[:1] == [style(doc)] and len(words) == count + 1 else None


def kept(doc: Document, data: bytes) -> dict[str, bytes]:
    """Entry hash → piece, of a feed's last version in this style; anything unexpected gives nothing."""
    found = (JSON_LIST if doc.format == "json" else XML_LIST).findall(data)
    if len(found) != 1:
        return {}
    head, pieces, _ = _split(doc.format, data)
    hashes = listed(doc, found[0].decode().split(), len(pieces))
    return dict(zip(hashes, pieces, strict=True)) if hashes is not None and head else {}


def assemble(
    doc: Document, items: Iterable[Entry | bytes], render: Callable[[Document, list[Entry], str], bytes], stamp: str
) -> bytes:
    """The feed with ``items`` (an entry to render, or a kept piece) in order: the document is
    rendered with the entries alone (its head and end are the document's own), then the kept
    pieces are put back in their places."""
    items = list(items)
    head, fresh, end = _split(doc.format, render(doc, [e for e in items if isinstance(e, Entry)], stamp))
    todo = iter(fresh)
    pieces = [e if isinstance(e, bytes) else next(todo) for e in items]
    sep = JSON_SEP if doc.format == "json" else b""
    return head + sep.join(pieces) + end


def _split(fmt: str, data: bytes) -> tuple[bytes, list[bytes], bytes]:
    """(head, pieces, end) of a feed; an empty head when it is not one we can take apart."""
    if fmt == "json":
        start, stop = data.find(JSON_START), data.rfind(JSON_END)
        if start < 0 or stop < start:
            return b"", [], b""
        body = data[start + len(JSON_START) : stop]
        return data[: start + len(JSON_START)], body.split(JSON_SEP) if body else [], data[stop:]
    start, stop = data.find(START[fmt]), data.rfind(END[fmt])
    if stop < 0:
        return b"", [], b""
    if start < 0 or start > stop:  # no entry
        return data[:stop], [], data[stop:]
    parts = data[start:stop].split(START[fmt])
    return data[:start], [START[fmt] + p for p in parts[1:]], data[stop:]
