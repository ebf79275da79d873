"""feeds.opml: every feed in one OPML 2.0 file (http://opml.org/spec2.opml), for a reader's import.

One outline per feed (main, views, your own), pointing at its Atom file: Atom is
always written, and one format per feed keeps an import free of duplicates. No
``docs`` element: it is optional, and the W3C validator does not know it.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime

from lxml import etree

from digest2feed.layout import Document
from digest2feed.render.stamp import xml_stamp


def render(doc: Document, entries: list, stamp: str) -> bytes:
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = doc.title
    etree.SubElement(head, "dateModified").text = format_datetime(datetime.fromisoformat(doc.updated))
    body = etree.SubElement(root, "body")
    for label, title, href, fmt in doc.feeds:
        if fmt == "atom":
            etree.SubElement(
                body, "outline", type="rss", text=label, title=title, xmlUrl=href, htmlUrl=doc.alternate_url
            )
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True) + xml_stamp(doc, stamp)
