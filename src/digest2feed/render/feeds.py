"""Atom 1.0 and RSS 2.0 through feedgen, with its traps avoided (see NOTES.md).

Nothing here reads a clock: every time stamp comes from the entries, so the same
document always gives the same bytes. One generator per file, so each gets its own
self link.
"""

from __future__ import annotations

import json
from datetime import datetime
from html import escape

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedEntry, FeedGenerator
from lxml import etree

from digest2feed.layout import Document
from digest2feed.model import Entry, Rung
from digest2feed.render import content
from digest2feed.render.stamp import xml_stamp
from digest2feed.schema import (
    ABSTRACT,
    ATOM_NS,
    DC_NS,
    DCTERMS_NS,
    FH_NS,
    GENERATOR,
    GENERATOR_URI,
    ISSN_URN,
    JOURNAL,
    JOURNAL_URL,
    PLAIN_TITLE,
    PROVENANCE,
)


class _FeedExt(BaseExtension):
    """Feed level: RFC 5005 links and the ``fh:archive`` marker, which feedgen lacks."""

    doc: Document | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"fh": FH_NS, "dcterms": DCTERMS_NS, "dc": DC_NS}

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        assert self.doc is not None
        # feedgen calls this before it appends the entries: these land among the metadata.
        for rel, href in self.doc.links:
            etree.SubElement(feed, "link", href=href, rel=rel, type="application/atom+xml")
        if self.doc.archive:
            etree.SubElement(feed, f"{{{FH_NS}}}archive")
        return feed


def library(e: Entry, status_titles: bool) -> list[tuple[str, str]]:
    """The Dublin Core elements (name, text) that reference managers read and feed readers
    ignore: the exact title where the shown one says the status (Zotero takes ``dc:title``
    over the title), and for a paper in the journal its name and ISSN. PRISM would name these
    better, but the W3C validator warns about its namespace."""
    out = [("title", e.title)] if content.shown_title(e, status_titles) != e.title else []
    if e.rung >= Rung.ACCEPTED:
        out += [("source", JOURNAL), ("identifier", ISSN_URN)]
    return out


class _EntryExt(BaseEntryExtension):
    """Entry level: links with their attributes (feedgen 1.0 drops rel and type on entry
    links), and in state files the facts Atom has no element for.

    The state must validate without warnings, so it uses Dublin Core terms the W3C
    validator knows: ``dcterms:abstract`` holds the abstract exactly as the digest
    gave it, ``dcterms:provenance`` the date each certification was first announced.
    """

    entry: Entry | None = None
    state = False
    status_titles = False

    def extend_atom(self, node: etree._Element) -> etree._Element:
        e = self.entry
        assert e is not None
        # feedgen writes id, title, updated first and published last; published moves to
        # fourth place, as earlier versions wrote it (the reader finds elements by name).
        node.insert(3, node[-1])
        for given in node.findall("link"):  # an entry without content: the link feedgen was given, ours replaces it
            node.remove(given)
        etree.SubElement(node, "link", href=e.url, rel="alternate", type="text/html")
        etree.SubElement(node, "link", href=e.pdf_url, rel="related", type="application/pdf", title="PDF")
        etree.SubElement(node, "link", href=e.pdf_url, rel="enclosure", type="application/pdf", title="PDF")
        for name, text in library(e, self.status_titles):
            etree.SubElement(node, f"{{{DC_NS}}}{name}").text = text
        if not self.state:
            return node
        if self.status_titles and content.shown_title(e) != e.title:
            etree.SubElement(node, PLAIN_TITLE).text = e.title
        if e.sighting.abstract is not None:
            etree.SubElement(node, ABSTRACT).text = e.sighting.abstract
        if e.certification_dates:
            dates = {name: at.isoformat() for name, at in e.certification_dates}
            etree.SubElement(node, PROVENANCE).text = json.dumps({"certifications": dates}, ensure_ascii=False)
        return node


class _RssHubs(BaseExtension):
    """RSS: an ``atom:link rel="hub"`` per WebSub hub, right after feedgen's atom:link self."""

    hubs: tuple[str, ...] = ()

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        channel = feed[0]
        links = channel.findall(f"{{{ATOM_NS}}}link")
        at = channel.index(links[-1]) + 1 if links else len(channel)
        for i, hub in enumerate(self.hubs):
            link = etree.Element(f"{{{ATOM_NS}}}link", href=hub, rel="hub")
            channel.insert(at + i, link)
        return feed


class _RssEntryExt(BaseEntryExtension):
    """RSS items: ``dc:description`` (the abstract) before ``description`` (the HTML body).
    feedparser takes the first of the two as the summary and the second as the content, as
    Atom has them; Zotero takes ``dc:description`` wherever it stands, newsboat ``description``."""

    def extend_rss(self, item: etree._Element) -> etree._Element:
        abstract = item.find(f"{{{DC_NS}}}description")
        if abstract is not None:
            item.find("description").addprevious(abstract)
        return item


def _generator(doc: Document) -> FeedGenerator:
    fg = FeedGenerator()
    fg.title(doc.title)
    fg.subtitle(doc.subtitle)
    fg.language("en")
    fg.generator(GENERATOR, uri=GENERATOR_URI)
    fg.updated(datetime.fromisoformat(doc.updated))
    return fg


def _entry(fg: FeedGenerator, e: Entry, doc: Document) -> FeedEntry:
    fe = fg.add_entry(order="append")
    fe.id(e.id)
    fe.title(content.shown_title(e, doc.status_titles))
    fe.updated(e.updated)
    fe.published(e.published)
    return fe


def atom(doc: Document, entries: list[Entry], stamp: str) -> bytes:
    fg = _generator(doc)
    fg.id(doc.feed_id)
    fg.author({"name": JOURNAL, "uri": JOURNAL_URL})
    if doc.self_url:
        fg.link(href=doc.self_url, rel="self", type="application/atom+xml")
    for hub in doc.hubs:  # WebSub: the hubs to subscribe at, beside the self link they push
        fg.link(href=hub, rel="hub")
    fg.link(href=doc.alternate_url, rel="alternate", type="text/html")
    fg.register_extension("d2f", _FeedExt, _EntryExt, rss=False)
    fg.d2f.doc = doc
    for e in entries:
        fe = _entry(fg, e, doc)
        if e.authors:  # one call: feedgen re-checks every author given so far on each
            fe.author([{"name": name} for name in e.authors])
        fe.category([{"term": term} for term in e.categories])
        if not doc.body and (abstract := content.summary(e)):
            # For reference managers: the abstract alone, no HTML body (README: Reference managers).
            # An entry with no abstract keeps its body: with no text at all the validator warns.
            fe.summary(abstract, type="text")
            fe.link(href=e.url, rel="alternate")  # feedgen wants one in an entry without content
        else:
            if not doc.archive and (abstract := content.summary(e)):  # archives: history, for no list or library
                fe.summary(abstract)
            fe.content(content.html(e, doc.math), type="html")
        fe.d2f.entry = e
        fe.d2f.state = doc.state
        fe.d2f.status_titles = doc.status_titles
    return fg.atom_str(pretty=True) + xml_stamp(doc, stamp)


def rss(doc: Document, entries: list[Entry], stamp: str) -> bytes:
    fg = _generator(doc)
    fg.description(doc.subtitle)
    fg.load_extension("dc", atom=False, rss=True)
    fg.register_extension("d2f", BaseExtension, _RssEntryExt, atom=False)  # after dc: it moves dc's element
    if doc.self_url:  # channel <link> is the last link given: self first (NOTES.md, 3)
        fg.link(href=doc.self_url, rel="self", type="application/rss+xml")
    fg.link(href=doc.alternate_url, rel="alternate", type="text/html")
    if doc.hubs:
        fg.register_extension("d2f_hubs", _RssHubs, atom=False)
        fg.d2f_hubs.hubs = doc.hubs
    for e in entries:
        fe = _entry(fg, e, doc)
        fe.link(href=e.url)
        fe.link(href=e.pdf_url, rel="enclosure", type="application/pdf", length="0")  # 0: size unknown
        if e.authors:
            fe.dc.dc_creator(", ".join(e.authors))
        if abstract := content.summary(e):
            # Zotero takes dc:description over description as the abstract; like description it is HTML.
            fe.dc.dc_description(escape(abstract, quote=False))
        for name, text in library(e, doc.status_titles):
            getattr(fe.dc, f"dc_{name}")(text)
        for term in e.categories:
            fe.category(term=term)
        fe.content(content.html(e, doc.math))  # alone, it becomes <description>, escaped
    return fg.rss_str(pretty=True) + xml_stamp(doc, stamp)
