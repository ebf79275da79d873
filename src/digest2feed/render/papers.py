"""papers.bib: the BibTeX of every accepted or certified paper a feed holds, in OpenReview's form.

One entry per paper, newest first, each exactly as ``bibtex.entry`` writes it for the feeds
and the page, with its key made unique within the file (``bibtex.unique``). Entries are
separated by a blank line. The file ends with two ``@comment`` entries, which every BibTeX
reader skips: the entry hash of each paper in file order, and the fingerprint (render/stamp.py).

The hashes let the next run keep each unchanged paper's entry (``kept``) instead of reading
its record back from the archives and rendering it again: the file holds every accepted
paper of the history, and a weekly run adds a few.
"""

from __future__ import annotations

from collections.abc import Iterable

from digest2feed.layout import Document
from digest2feed.model import Entry
from digest2feed.render import bibtex
from digest2feed.render.pieces import listed
from digest2feed.render.stamp import bib_stamp, listing
from digest2feed.schema import PIECES

HEAD = "@comment{digest2feed: the accepted and certified papers of this feed, newest first}\n\n"
OPEN = "@article{\n"
HASHES = f"@comment{{{PIECES} "


def render(doc: Document, entries: Iterable[Entry | str], stamp: str) -> bytearray:
    """``entries``, one per ref: the paper's entry, or its BibTeX kept from the file's last version
    (``kept``). They may come from an iterator: a view's file holds every accepted paper of the
    history (14 MB at 30,000); the buffer itself is returned (the store writes any bytes-like
    object), so memory holds the file about once."""
    cites = [e if isinstance(e, str) else bibtex.entry(e) or "" for e in entries]  # the plan cites no submission
    keys = bibtex.unique([(c[len(OPEN) : c.index(",\n")], r.forum_id) for c, r in zip(cites, doc.refs, strict=True)])
    out = bytearray(HEAD.encode())
    cites.reverse()
    for key in keys:
        cite = cites.pop()
        head = f"{OPEN}{key},\n"
        out += (cite if cite.startswith(head) else head + cite.split("\n", 2)[2]).encode() + b"\n\n"
    out += f"{HASHES}{listing(doc)}}}\n".encode()
    out += bib_stamp(stamp)
    return out


def kept(doc: Document, data: bytes) -> dict[str, str]:
    """Entry hash → BibTeX entry, of a papers.bib rendered in this style (else nothing): what a
    run may take back instead of rendering. Anything unexpected gives nothing, never a guess."""
    text = data.decode("utf-8", "replace")
    body, found, tail = text.rpartition(HASHES)
    cites = body[len(HEAD) :].split("\n\n")
    if not found or not body.startswith(HEAD) or cites.pop() != "":
        return {}
    hashes = listed(doc, tail.partition("}")[0].split(), len(cites))
    return {} if hashes is None else dict(zip(hashes, cites, strict=True))
