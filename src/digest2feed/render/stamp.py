"""Digests of what files show, kept inside the files, so unchanged files are left alone.

Every entry has a hash of what it shows (the entry hash); every document a fingerprint of
its metadata and its entries' hashes. Each file stores its fingerprint in a
closing comment (JSON Feed: an extension field), and each state file also the
hashes of its entries. A run compares the fingerprint it plans with the one on
disk and renders only documents that differ. Kept inside the file, a fingerprint
can never disagree with the bytes, whatever happened to the folder in between.
"""

from __future__ import annotations

import hashlib
from importlib import metadata

from digest2feed.layout import Document, Ref
from digest2feed.model import Entry
from digest2feed.schema import ENTRY_HASHES, FEED_BITS, PIECES

RENDERING = "7"  # bump whenever the renderers change their output for the same document (7: kept pieces)
# Their output also depends on these libraries: after an upgrade every file is rendered and
# rewritten once (its fingerprint changed), so output of the old and the new never mix.
LIBRARIES = tuple(f"{name} {metadata.version(name)}" for name in ("feedgen", "lxml", "math-core"))
# What a piece of a file (one paper's BibTeX or search line) was rendered with: a file keeps
# its pieces for the next run (render/papers.py, render/search.py) only under the same style.
STYLE = hashlib.sha256(repr((RENDERING, LIBRARIES)).encode()).hexdigest()[:16]


def entry_hash(e: Entry, published: str | None = None, updated: str | None = None) -> str:
    """``published`` and ``updated``: the entry's times in ISO 8601, when the caller has them."""
    # \x1e and \x1f never occur in a field: the parser drops C0 controls and XML cannot hold them.
    # The milestones are written as repr() of their list writes them (slugs and ISO times hold no
    # quote), which is a fifth of a backfill's digest time less than calling repr().
    stages = ", ".join(f"('{rung.slug}', '{at.isoformat()}')" for rung, at in e.milestones)
    fields = [
        e.forum_id, e.rung.slug, e.title, "\x1e".join(e.authors), e.abstract or "\x1e", e.sighting.abstract or "\x1e",
        repr([(name, at.isoformat()) for name, at in e.certification_dates]) if e.certification_dates else "[]",
        f"[{stages}]", published or e.published.isoformat(), updated or e.updated.isoformat(),
    ]  # fmt: skip
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()[:24]


def ref_of(e: Entry, feeds: int = 0) -> Ref:
    published, updated = e.published.isoformat(), e.updated.isoformat()
    return Ref(published, updated, e.forum_id, e.rung, e.current, entry_hash(e, published, updated), feeds)


def fingerprint(doc: Document) -> str:
    meta = (
        RENDERING,
        LIBRARIES,
        doc.path,
        doc.format,
        doc.title,
        doc.subtitle,
        doc.feed_id,
        doc.self_url,
        doc.alternate_url,
    )
    styles = (doc.status_titles, doc.math)
    head = repr((*meta, doc.updated, doc.links, doc.archive, doc.state, doc.feeds, *styles))
    if doc.hubs:
        head += repr(("hubs", doc.hubs))
    if not doc.body:  # only then: the fingerprints of the documents with a body stay what they were
        head += repr(("body", False))
    lines = [head, *(r.hash for r in doc.refs)]
    if doc.filters_key:
        lines += [doc.filters_key, *(format(r.feeds, "x") for r in doc.refs)]
    if doc.weeks:  # only then: the fingerprints of every other document stay what they were
        lines.append(repr(doc.weeks))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def style(doc: Document) -> str:
    """What a piece of a file was rendered with (render/pieces.py): kept only under the same style."""
    return hashlib.sha256(repr((STYLE, doc.format, doc.status_titles, doc.math, doc.body)).encode()).hexdigest()[:16]


def listing(doc: Document) -> str:
    """What a file that keeps pieces says of them: its style, then each entry's hash in order."""
    return " ".join([style(doc), *(r.hash for r in doc.refs)])


def xml_stamp(doc: Document, print_: str) -> bytes:
    """Comments after the root element: ignored by every XML and HTML reader."""
    hashes = f"<!-- {ENTRY_HASHES} {' '.join(r.hash for r in doc.refs)} -->\n" if doc.state else ""
    if doc.format in ("atom", "rss") and not doc.state:
        hashes = f"<!-- {PIECES} {listing(doc)} -->\n"
    bits = ""
    if doc.filters_key:
        bits = f"<!-- {FEED_BITS} {' '.join([doc.filters_key, *(format(r.feeds, 'x') for r in doc.refs)])} -->\n"
    return f"{hashes}{bits}<!-- digest2feed {print_} -->\n".encode()


def bib_stamp(print_: str) -> bytes:
    """The fingerprint of a .bib file, as an ``@comment`` entry that BibTeX readers skip."""
    return f"@comment{{digest2feed {print_}}}\n".encode()
