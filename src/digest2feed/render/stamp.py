"""Fingerprints: a digest of everything a file's bytes depend on, kept inside the file.

Before rendering a document, its fingerprint is compared with the one stored at the
end of the file already on disk; when they match, the file is current and is
neither rendered nor written. Kept inside the file, the fingerprint can never
disagree with the bytes, whatever happened to the folder in between.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from digest2feed.layout import Document
from digest2feed.model import Entry

RENDERING = "1"  # bump whenever the renderers change their output for the same document
TAIL = 256
STAMP_RE = re.compile(rb'(?:<!-- digest2feed |"fingerprint": ")([0-9a-f]{64})')


def fingerprint(doc: Document) -> str:
    h = hashlib.sha256()
    meta = (RENDERING, doc.path, doc.format, doc.title, doc.subtitle, doc.feed_id, doc.self_url, doc.alternate_url)
    h.update(repr((*meta, doc.updated, doc.links, doc.archive, doc.state, doc.feeds)).encode())
    for e in doc.entries:
        h.update(_entry_key(e))
    return h.hexdigest()


def _entry_key(e: Entry) -> bytes:
    # \x1e and \x1f never occur in a field: the parser drops C0 controls and XML cannot hold them.
    s = e.sighting
    fields = [
        "\x1e", e.forum_id, e.rung.slug, e.title, "\x1f".join(e.authors), e.abstract or "\x00",
        repr(e.certification_dates), repr(e.milestones), e.published.isoformat(), e.updated.isoformat(),
        str(e.current), s.title, "\x1f".join(s.authors), s.abstract or "\x00",
    ]  # fmt: skip
    return "\x1f".join(fields).encode()


def xml_stamp(print_: str) -> bytes:
    """A comment after the root element: ignored by every XML and HTML reader."""
    return f"<!-- digest2feed {print_} -->\n".encode()


def stored(path: Path) -> str | None:
    """The fingerprint at the end of ``path``, if it has one."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, 2) - TAIL))
            tail = f.read()
    except OSError:
        return None
    m = STAMP_RE.search(tail)
    return m.group(1).decode() if m else None
