"""Reuse the entries of a file's previous version: a feed that gained one entry renders one.

An entry's rendered bytes depend only on the entry (named by its content digest, see
``stamp.py``) and on a few document-wide choices (format, rendering version, status
in titles). Every subscription feed therefore stores its entries' digests beside
them, under a ``style`` token naming those choices. When a feed has to be written
again, the entries whose digest the old file holds keep their old bytes, and only
the others are rendered: the result is the same bytes a full render gives, since
the head and tail come from rendering the new document (``assemble``). State files
are always rendered whole; so is everything when a run regenerates.

In Atom and RSS, an entry is the text from its ``<entry>``/``<item>`` line to the next
(every ``<`` inside an entry's text is escaped, so the markers cannot occur there);
in JSON Feed, an item of the ``items`` array.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from digest2feed.layout import Document

BLOCKS = "digest2feed-blocks"
OPEN = {"atom": b"  <entry>\n", "rss": b"    <item>\n"}
CLOSE = {"atom": b"</feed>\n", "rss": b"  </channel>\n"}
COMMENT_RE = re.compile(rb"<!-- " + BLOCKS.encode() + rb" ([^>]*) -->")


def spliceable(doc: Document) -> bool:
    return doc.format in ("atom", "rss", "json") and not doc.state


def style(doc: Document) -> str:
    from digest2feed.render.stamp import RENDERING

    return hashlib.sha256(repr((RENDERING, doc.format, doc.status_titles)).encode()).hexdigest()[:12]


def keys(doc: Document) -> list[str]:
    """What a spliceable file stores: its style, then each entry's digest in order."""
    return [style(doc), *(r.digest for r in doc.refs)]


def stored(path: Path, doc: Document) -> set[str]:
    """The digests of the entries whose bytes ``path`` holds in ``doc``'s style (none: empty)."""
    try:
        data = path.read_bytes()
    except OSError:
        return set()
    found = _stored(data, doc.format)
    if not found or found[0] != style(doc) or _count(data, doc.format) != len(found) - 1:
        return set()  # another style, or a file that no longer holds what its comment says
    return set(found[1:])


def _count(data: bytes, fmt: str) -> int:
    if fmt == "json":
        return len(json.loads(data)["items"])
    try:
        return len(_split(data, fmt)[1])
    except ValueError:  # no closing tag
        return -1


def _stored(data: bytes, fmt: str) -> list[str]:
    if fmt == "json":
        try:
            return list(json.loads(data)["_digest2feed"]["blocks"])
        except (ValueError, KeyError, TypeError):
            return []
    m = COMMENT_RE.search(data, max(0, data.rfind(b"<!-- " + BLOCKS.encode())))
    return m.group(1).decode().split() if m else []


def assemble(doc: Document, old: bytes, fresh: bytes, fresh_digests: list[str]) -> bytes:
    """``doc`` from the entries ``old`` holds and ``fresh`` (a render of ``doc`` with only the
    entries named by ``fresh_digests``, in that order)."""
    order = [r.digest for r in doc.refs]
    if doc.format == "json":
        previous = json.loads(old)
        known = dict(zip(previous["_digest2feed"]["blocks"][1:], previous["items"], strict=True))
        feed = json.loads(fresh)
        new = dict(zip(fresh_digests, feed["items"], strict=True))
        feed["items"] = [new[d] if d in new else known[d] for d in order]
        return (json.dumps(feed, ensure_ascii=False, separators=(",", ": ")) + "\n").encode("utf-8")
    _, blocks, _ = _split(old, doc.format)
    known = dict(zip(_stored(old, doc.format)[1:], blocks, strict=True))
    head, fresh_blocks, tail = _split(fresh, doc.format)
    new = dict(zip(fresh_digests, fresh_blocks, strict=True))
    return head + b"".join(new[d] if d in new else known[d] for d in order) + tail


def _split(data: bytes, fmt: str) -> tuple[bytes, list[bytes], bytes]:
    """Head, entries, tail of an Atom or RSS file."""
    end = data.rindex(CLOSE[fmt])
    start = data.find(OPEN[fmt], 0, end)
    if start < 0:
        return data[:end], [], data[end:]
    body = data[start:end]
    return data[:start], [OPEN[fmt] + b for b in body.split(OPEN[fmt])[1:]], data[end:]
