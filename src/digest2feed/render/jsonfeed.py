"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), same entries as the Atom file."""

from __future__ import annotations

import json
from datetime import datetime

from digest2feed.layout import Document
from digest2feed.model import Entry
from digest2feed.render import content
from digest2feed.render.stamp import listing

VERSION = "https://jsonfeed.org/version/1.1"
SEPARATORS = (",", ": ")


def _time(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _item(e: Entry, status_titles: bool, math: str) -> dict:
    item = {
        "id": e.id,
        "url": e.url,
        "title": content.shown_title(e, status_titles),
        "content_html": content.html(e, math),
        "content_text": content.text(e),
    }
    if abstract := content.summary(e):
        item["summary"] = abstract
    item |= {
        "date_published": _time(e.published),
        "date_modified": _time(e.updated),
        "tags": list(e.categories),
        "attachments": [{"url": e.pdf_url, "mime_type": "application/pdf", "title": "PDF"}],
        "_digest2feed": {
            "forum_id": e.forum_id,
            "title": e.title,  # as announced, without the status
            "status": e.rung.slug,
            "certifications": list(e.certifications),
            "milestones": {rung.slug: _time(at) for rung, at in e.milestones},
        },
    }
    if e.authors:  # an anonymous submission has no author at all: no item or feed inherits one
        item["authors"] = [{"name": name} for name in e.authors]
    return item


def render(doc: Document, entries: list[Entry], stamp: str) -> bytes:
    feed: dict = {
        "version": VERSION,
        "title": doc.title,
        "home_page_url": doc.alternate_url,
    }
    if doc.self_url:
        feed["feed_url"] = doc.self_url
    if doc.hubs:
        feed["hubs"] = [{"type": "WebSub", "url": hub} for hub in doc.hubs]
    feed |= {
        "description": doc.subtitle,
        "language": "en",
        "items": [],
        # The fingerprint last: the store reads it from the file's tail.
        "_digest2feed": {"pieces": listing(doc), "fingerprint": stamp},
    }
    # Compact: indentation would switch json to its pure-Python encoder, ten times slower; one
    # item a line (compact JSON holds no raw line break), so a diff of two versions reads well.
    head, tail = json.dumps(feed, ensure_ascii=False, separators=SEPARATORS).split('"items": []', 1)
    items = ",\n".join(
        json.dumps(_item(e, doc.status_titles, doc.math), ensure_ascii=False, separators=SEPARATORS) for e in entries
    )
    return f'{head}"items": [\n{items}\n]{tail}\n'.encode()
