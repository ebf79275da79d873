"""papers.bib: the BibTeX of every accepted or certified paper a feed holds, in OpenReview's form.

One entry per paper, newest first, each exactly as ``bibtex.entry`` writes it for the feeds
and the page, with its key made unique within the file (``bibtex.unique_keys``). Entries
are separated by a blank line; the file ends with two ``@comment`` entries, which every
BibTeX reader skips: the digests of the entries (so a later run reuses their bytes,
render/splice.py) and the fingerprint (render/stamp.py).
"""

from __future__ import annotations

from digest2feed.layout import Document
from digest2feed.model import Entry
from digest2feed.render import bibtex
from digest2feed.render.stamp import bib_stamp

HEAD = "@comment{digest2feed: the accepted and certified papers of this feed, newest first}\n\n"


def render(doc: Document, entries: list[Entry], stamp: str) -> bytes:
    blocks = "".join(f"{cite}\n\n" for e in entries if (cite := bibtex.entry(e)))
    return bibtex.unique_keys(f"{HEAD}{blocks}".encode()) + bib_stamp(doc, stamp)
