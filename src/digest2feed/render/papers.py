"""papers.bib: the BibTeX of every accepted or certified paper a feed holds, in OpenReview's form.

One entry per paper, newest first, each exactly as ``bibtex.entry`` writes it for the feeds
and the page, with its key made unique within the file (``bibtex.unique_keys``). Entries
are separated by a blank line; the file ends with its fingerprint in an ``@comment`` entry,
which every BibTeX reader skips (render/stamp.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from digest2feed.layout import Document
from digest2feed.model import Entry
from digest2feed.render import bibtex
from digest2feed.render.stamp import bib_stamp

HEAD = "@comment{digest2feed: the accepted and certified papers of this feed, newest first}\n\n"
OPEN = "@article{\n"


def render(doc: Document, entries: Iterable[Entry], stamp: str) -> bytearray:
    """``entries`` may be an iterator: a view's file holds every accepted paper of the history
    (14 MB at 30,000). The keys are settled as ``bibtex.unique_keys`` settles them, each entry's
    text is let go once written, and the buffer itself is returned (the store writes any bytes-like
    object), so memory holds the file about once, not four times."""
    cites = [(e.forum_id, cite) for e in entries if (cite := bibtex.entry(e))]
    keys = bibtex.unique([(cite[len(OPEN) : cite.index(",\n")], forum) for forum, cite in cites])
    out = bytearray(HEAD.encode())
    cites.reverse()
    for key in keys:
        cite = cites.pop()[1]
        head = f"{OPEN}{key},\n"
        out += (cite if cite.startswith(head) else head + cite.split("\n", 2)[2]).encode() + b"\n\n"
    out += bib_stamp(stamp)
    return out
