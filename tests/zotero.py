"""A RECONSTRUCTION of how Zotero turns a feed entry into an item: not Zotero's code, rebuilt by hand.

Rebuilt from the public repository zotero/zotero at f2a42bec (main, 2026-08-21; these files are the
same at tag 10.0.0, and the rules below have held since 7.0), read with `fetch github:zotero/zotero`:

- resource/feeds/FeedProcessor.mjs: which element becomes which field of an entry. Its namespace
  table (``gNamespaces``), the elements it handles itself (``_trans``: authors, links, enclosures,
  guid), the text constructs and their default types (``_textConstructs``), the text of every other
  element trimmed (``ExtensionHandler``), and ``searchLists``, where among the elements of one list
  that are present the LAST wins (``fieldsToObj`` keeps overwriting);
- chrome/content/zotero/xpcom/feedReader.js: ``_getFeedItem`` (the fields, their order of preference,
  the fallbacks to the feed's own values), ``_processCreators``, ``_guessItemType``, ``_getEnclosedItems``;
- chrome/content/zotero/xpcom/data/feed.js ``_updateFeed``: an enclosure whose URL or type says "pdf"
  becomes a linked attachment titled "PDF"; data/feedItem.js ``fromJSON`` stores the date as SQL in
  UTC, and ``FeedItem.clone`` (what "Add to My Library" saves when no translator works) copies the
  fields and the creators, not the attachments;
- zotero/utilities utilities.js at 4051881: ``cleanAuthor``, ``trimInternal``, ``cleanTags``,
  ``cleanDOI``, ``cleanISBN``, ``cleanISSN``.

``version=6`` applies instead the three rules of Zotero 6 (branch 6.0, bbf3405) that differ for our
feeds: no ``dc:title`` among the titles, the abstract from the summary as plain text (7.0 prefers
the content, as HTML), and the date from prism:publicationDate, dc:date, pubDate, Atom updated,
Atom published, in that order.

It reads the raw elements with lxml, as Zotero's SAX processor does. feedparser's dictionary
cannot stand in for them: feedparser keeps the first of two titles (``dc:title`` never reaches
it), files the second of two RSS descriptions as content whichever Zotero prefers, and lets
``dc:date`` overwrite Atom ``updated``.
The XML serialisation of HTML (XMLSerializer) is approximated; the checks read its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import escape

import lxml.html
from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
XHTML = "http://www.w3.org/1999/xhtml"
PREFIXES = {  # FeedProcessor.mjs gNamespaces, the part a feed of ours can use
    "": "", ATOM: "atom", "http://purl.org/atom/ns#": "atom03", "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc", "http://purl.org/dc/terms/": "dcterms",
    "http://purl.org/rss/1.0/": "rss1", "http://search.yahoo.com/mrss/": "media",
    "http://www.w3.org/XML/1998/namespace": "xml", "http://prismstandard.org/namespaces/1.2/basic/": "prism",
    "http://prismstandard.org/namespaces/basic/2.0/": "prism",
    "http://prismstandard.org/namespaces/basic/3.0/": "prism",
}  # fmt: skip
TEXT_CONSTRUCTS = {  # _textConstructs: default type of each element that may hold (X)HTML
    "atom:title": "text", "atom:summary": "text", "atom:rights": "text", "atom:content": "text",
    "description": "html", "dc:description": "html", "content:encoded": "html", "title": "text",
    "dc:title": "text", "dc:rights": "text", "copyright": "text", "prism:copyright": "text",
}  # fmt: skip
ENTRY_LISTS = {  # Entry.prototype.searchLists: the last element present wins
    "title": ["title", "rss1:title", "atom03:title", "atom:title", "dc:title"],
    "summary": ["description", "rss1:description", "dc:description", "atom03:summary", "atom:summary"],
    "content": ["content:encoded", "atom03:content", "atom:content"],
    "rights": ["prism:copyright", "dc:rights", "atom03:rights", "atom:rights", "copyright"],
    "published": ["dc:date", "pubDate", "atom03:issued", "dcterms:issued", "atom:published", "prism:publicationDate"],
    "updated": ["pubDate", "atom03:modified", "dc:date", "dcterms:modified", "atom:updated", "prism:modificationDate"],
    "pubTitle": ["pubTitle", "dc:source", "prism:publicationName"],
    "issn": ["prism:issn"],
    "isbn": ["isbn", "prism:isbn"],
    "identifier": ["dc:identifier", "prism:doi"],
    "publisher": ["dc:publisher"],
    "language": ["language", "dc:language"],
    "url": ["prism:url"],
}
FEED_LISTS = {  # Feed.prototype.searchLists, the fields feedReader.js passes on to items
    "pubTitle": ["pubTitle", "dc:source", "prism:publicationName"],
    "rights": ["prism:copyright", "dc:rights", "atom03:rights", "atom:rights", "copyright"],
    "issn": ["prism:issn"],
    "language": ["language", "dc:language"],
    "publisher": ["dc:publisher"],
}
AUTHOR_TAGS = {"atom:author", "dc:creator", "dc:author", "author"}  # _trans: IN_ENTRIES, IN_ITEMS, IN_ATOM, IN_CHANNEL
FEED_AUTHOR_TAGS = {"atom": {"atom:author"}, "rss2": {"managingEditor", "dc:creator", "dc:author"}}
VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr"}


@dataclass
class Text:
    """A TextConstruct: text and its type ("text", "html", "xhtml")."""

    text: str
    type: str


@dataclass
class Creator:
    first: str
    last: str
    type: str = "author"
    single_field: bool = False  # fieldMode 1: no first name


@dataclass
class Item:
    """What Zotero's feed pane holds for an entry; ``clone()`` is what "Add to My Library" saves."""

    fields: dict[str, str] = field(default_factory=dict)
    creators: list[Creator] = field(default_factory=list)
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (title, url): linked PDFs

    def clone(self) -> Item:
        return Item(dict(self.fields), list(self.creators), [])


# --- FeedProcessor.mjs: elements → fields ------------------------------------------------------------


def key(el: etree._Element) -> str:
    """``_prefixForNS(uri) + localName``: a namespace it does not know gives the prefix "null"."""
    q = etree.QName(el)
    prefix = PREFIXES.get(q.namespace or "")
    return ("null" if prefix is None else f"{prefix}:" if prefix else "") + q.localname


def _attrs(el: etree._Element) -> dict[str, str]:
    return {key_of_attr(name): value for name, value in el.attrib.items()}


def key_of_attr(name: str) -> str:
    q = etree.QName(name)
    prefix = PREFIXES.get(q.namespace or "")
    return ("null" if prefix is None else f"{prefix}:" if prefix else "") + q.localname


def _rss_author(text: str) -> str:
    """rssAuthor: "mail (Name)" or "Name (mail)" split; otherwise the whole text is the name."""
    chars = text.strip()
    m = re.match(r"(.*)\((.*)\)", chars)
    if not m:
        return chars
    one, two = m[1].strip(), m[2].strip().removeprefix("mailto:")
    mail = re.compile(r"^([a-zA-Z0-9_.-])+@(([a-zA-Z0-9-])+\.)+([a-zA-Z0-9]{2,4})+$")
    if mail.match(one):
        return two
    if mail.match(two):
        return one
    return f"{one} ({two})"


def _person(el: etree._Element, tag: str) -> str:
    if tag in ("atom:author",):  # a Person: its name child
        return next((c.text or "" for c in el if key(c) == "atom:name"), "")
    return _rss_author("".join(el.itertext()))


def _fields(el: etree._Element, version: str, authors: set[str]) -> dict:
    """The property bag of an entry (or of the feed): handled elements and every other child's trimmed text."""
    out: dict = {"authors": [], "links": []}
    for child in el:
        if not isinstance(child.tag, str):
            continue
        tag = key(child)
        if tag in authors:
            out["authors"].append(_person(child, tag))
        elif tag == "atom:link":
            out["links"].append(_attrs(child))
        elif tag in ("enclosure", "guid"):
            out[tag] = {**_attrs(child), "text": (child.text or "").strip()}
        elif tag in ("atom:entry", "item", "category", "atom:category"):
            continue
        else:
            text = None if len(child) else "".join(child.itertext()).strip()
            if tag in TEXT_CONSTRUCTS:
                kind = child.get("type") if version == "atom" and child.get("type") else TEXT_CONSTRUCTS[tag]
                out[tag] = Text(text or "", kind)
            else:
                out[tag] = text
    return out


def _search(bag: dict, lists: dict[str, list[str]]) -> dict:
    """fieldsToObj: for each field, the last element of its list that is present (and not empty)."""
    found = {}
    for name, candidates in lists.items():
        for tag in candidates:
            if bag.get(tag):
                found[name] = bag[tag]
    return found


@dataclass
class Entry:
    fields: dict
    values: dict
    authors: list[str]
    link: str | None
    id: str | None
    enclosures: list[dict]


def entries(data: bytes) -> tuple[dict, list[Entry]]:
    """The feed's properties and its entries, as FeedProcessor.mjs hands them to feedReader.js."""
    root = etree.fromstring(data)
    version = "atom" if root.tag == f"{{{ATOM}}}feed" else "rss2"
    container = root if version == "atom" else root.find("channel")
    feed = _fields(container, version, FEED_AUTHOR_TAGS[version])
    out = []
    items = container.findall(f"{{{ATOM}}}entry") if version == "atom" else container.findall("item")
    for el in items:
        bag = _fields(el, version, AUTHOR_TAGS - {"managingEditor"})
        values = _search(bag, ENTRY_LISTS)
        link = bag.get("link")
        alternates = [a for a in bag["links"] if a.get("href") and a.get("rel", "alternate") == "alternate"]
        if alternates:  # _atomLinksToURI
            link = alternates[0]["href"]
        enclosures = [{"url": a["href"], "type": a.get("type", "")} for a in bag["links"]
                      if a.get("href") and a.get("rel") == "enclosure"]  # fmt: skip
        if "enclosure" in bag and bag["enclosure"].get("url"):
            enclosures.append({"url": bag["enclosure"]["url"], "type": bag["enclosure"].get("type", "")})
        enclosures = list({e["url"]: e for e in reversed(enclosures)}.values())[::-1]  # _addToEnclosures: one per URL
        ident = bag.get("atom:id") or (bag["guid"]["text"] if "guid" in bag else None)
        if not link and "guid" in bag and bag["guid"].get("isPermaLink", "true").lower() != "false":
            link = bag["guid"]["text"]
        out.append(Entry(bag, values, bag["authors"], link, ident, enclosures))
    return {**_search(feed, FEED_LISTS), "authors": feed["authors"]}, out


# --- zotero/utilities ---------------------------------------------------------------------------------


def trim_internal(s: str) -> str:
    return re.sub(r"[\xa0\r\n\s]+", " ", s).strip()


def clean_tags(x: str) -> str:
    x = re.sub(r"<br[^>]*>", "\n", x, flags=re.I)
    x = re.sub(r"</p>", "\n\n", x, flags=re.I)
    return re.sub(r"<[^>]+>", "", x)


def clean_author(author: str, kind: str, use_comma: bool) -> Creator:
    caps = "A-Z\u0400-\u042f"
    author = re.sub(r"^[\s\u00a0.,/\[\]:]+", "", author)
    author = re.sub(r"[\s\u00a0.,/\[\]:]+$", "", author)
    author = re.sub(r"[\s\u00a0]+", " ", author, count=1)  # a JavaScript replace without /g: the first run only
    first: str | None = None
    if use_comma:
        author = re.sub(r"\.([^ ])", r". \1", author, count=1)
        parts = re.split(r"[,،] ?", author)
        last, first = (parts[0], parts[1]) if len(parts) > 1 else (author, None)
    else:
        at = len(author)
        while True:  # the last space before a word that starts with a letter
            at = author.rfind(" ", 0, max(at - 1, 0) + 1)
            last, first = author[at + 1 :], author[: max(at, 0)]
            if (last[:1] or "u").isalpha() or at <= 0:  # JavaScript's "undefined"[0] is a letter
                break
    if first and re.fullmatch(f"[{caps}]+", first) and len(first) < 4 and (len(first) == 1 or last.upper() != last):
        first = " ".join(c + "." for c in first)
    if first:
        first = re.sub(r"[\s,]+$", "", re.sub(r"^[\s.]+", "", first))
        first = re.sub(r"\s*([\u002d\u00ad\u2010-\u2015\u2212\u2e3a\u2e3b])\s*", "-", first, count=1)
        names = re.split(r"(?:[\s.]+|(?=-))", first)
        first = "".join(n + ("." if re.fullmatch(f"-?[{caps}]", n) else "") + " " for n in names)
        first = first.replace(" -", "-").strip()
    return Creator(first or "", last, kind, not first)


def _checksum_issn(digits: str) -> bool:
    total = sum(int(digits[i]) * (8 - i) for i in range(7)) + (10 if digits[7] == "X" else int(digits[7]))
    return total % 11 == 0


def clean_issn(text: str) -> str | None:
    s = re.sub(r"[\x2d\xad\u2010-\u2015\u2043\u2212]+", "", text.upper())
    for m in re.finditer(r"(?=\b((?:\d\s*){7}[\dX])\b)", s):
        digits = re.sub(r"\s+", "", m[1])
        if _checksum_issn(digits):
            return f"{digits[:4]}-{digits[4:]}"
    return None


def clean_isbn(text: str) -> str | None:
    s = re.sub(r"[\x2d\xad\u2010-\u2015\u2043\u2212]+", "", text.upper())
    for m in re.finditer(r"(?=\b(97[89]\s*(?:\d\s*){9}\d|(?:\d\s*){9}[\dX])\b)", s):
        isbn = re.sub(r"\s+", "", m[1])
        if len(isbn) == 10:
            ok = (sum(int(isbn[i]) * (10 - i) for i in range(9)) + (10 if isbn[9] == "X" else int(isbn[9]))) % 11 == 0
        else:
            ok = (sum(int(isbn[i]) * (1 if i % 2 == 0 else 3) for i in range(12)) + int(isbn[12])) % 10 == 0
        if ok:
            return isbn
    return None


def clean_doi(text: str) -> str | None:
    m = re.search(r"10(?:\.[0-9]{4,})?/\S*[^\s.,]", text)
    return m[0] if m else None


# --- feedReader.js ---------------------------------------------------------------------------------


def process_creators(names: list[str], role: str = "author") -> list[Creator]:
    """_processCreators: one name holding separators ("A, B and C") is split; several stay as given."""
    found: list[str] = []
    single = None
    for person in names:
        name = clean_tags(trim_internal(person))
        if not name:
            continue
        commas = name.count(",")
        other = len(re.split(r"\s(?:and|&)\s|;", name)) - 1
        if len(names) == 1 and (other or commas > 1 or (commas == 1 and " " in re.split(r"\s*,", name)[0])):
            single = name
            break
        found.append(name)
    if single:
        found = re.split(r"\s(?:and|&)\s|\s*[,;]\s*", single)
    creators = [clean_author(n, role, len(n.split(",")) == 2) for n in found]
    return [c for c in creators if c.first or c.last]


def rich_text(value: Text) -> str:
    """_getRichText: the text of the construct's fragment, whitespace folded."""
    if value.type == "text":
        return trim_internal(value.text)
    return trim_internal(lxml.html.fromstring(f"<div>{value.text}</div>").text_content())


def serialized(value: Text) -> str:
    """The abstract as feedReader.js stores it: the construct's fragment through XMLSerializer."""
    if value.type == "text":
        return escape(value.text, quote=False)
    body = lxml.html.document_fromstring(f"<html><body>{value.text}</body></html>").find("body")
    return escape(body.text or "", quote=False) + "".join(_xml(child, top=True) for child in body)


def _xml(el: etree._Element, top: bool) -> str:
    attrs = ([f' xmlns="{XHTML}"'] if top else []) + [f' {k}="{escape(v)}"' for k, v in el.attrib.items()]
    tail = escape(el.tail or "", quote=False)
    if el.tag in VOID:
        return f"<{el.tag}{''.join(attrs)} />{tail}"
    inner = escape(el.text or "", quote=False) + "".join(_xml(c, top=False) for c in el)
    return f"<{el.tag}{''.join(attrs)}>{inner}</{el.tag}>{tail}"


def sql_date(text: str) -> str:
    """FeedItem.fromJSON: an ISO 8601 or HTTP date, stored as SQL in UTC."""
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        at = parsedate_to_datetime(text)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def item(entry: Entry, feed: dict, version: int = 7) -> Item | None:
    """_getFeedItem, then Feed._updateFeed's PDF attachments and FeedItem.fromJSON's date."""
    if not entry.id and not entry.link:
        return None
    out = Item()
    f, v = out.fields, entry.values
    titles = ENTRY_LISTS["title"] if version >= 7 else ENTRY_LISTS["title"][:-1]
    title = next((entry.fields[t] for t in reversed(titles) if entry.fields.get(t)), None)
    if title:
        f["title"] = rich_text(title)
    elif v.get("summary"):  # no title: the summary's first 50 characters or so, cut at a space
        text = trim_internal(rich_text(v["summary"]))
        cut = text.rfind(" ", 0, 51)
        cut = 50 if cut == -1 else cut
        f["title"] = text[:cut] + ("..." if cut <= len(text) else "")
    if version >= 7 and (v.get("content") or v.get("summary")):
        f["abstractNote"] = serialized(v.get("content") or v["summary"])
    elif version < 7 and v.get("summary"):
        f["abstractNote"] = rich_text(v["summary"])
    if entry.link or v.get("url"):
        f["url"] = entry.link or v["url"]
    if v.get("rights"):
        f["rights"] = rich_text(v["rights"])
    out.creators = process_creators(entry.authors) or [c for c in process_creators(feed["authors"])]
    date = (v.get("updated") or v.get("published")) if version >= 7 else _zotero6_date(entry.fields)
    if date:
        f["date"] = sql_date(date)
    if v.get("pubTitle"):
        f["publicationTitle"] = v["pubTitle"]
    if v.get("issn"):
        f["ISSN"] = v["issn"]
    if v.get("isbn"):
        f["ISBN"] = v["isbn"]
    if v.get("identifier"):
        for kind, clean in (("DOI", clean_doi), ("ISBN", clean_isbn), ("ISSN", clean_issn)):
            if found := clean(v["identifier"]):
                f.setdefault(kind, found)
                break
    for name in ("publisher", "language"):
        if v.get(name):
            f[name] = v[name]
    for name, source in (("publicationTitle", "pubTitle"), ("ISSN", "issn"), ("publisher", "publisher"),
                         ("rights", "rights"), ("language", "language")):  # fmt: skip
        if not f.get(name) and feed.get(source):
            f[name] = rich_text(feed[source]) if isinstance(feed[source], Text) else feed[source]
    f["itemType"] = "journalArticle"  # _guessItemType: its default, and the type an ISSN gives
    if entry.enclosures:  # _getEnclosedItems takes enclosures[0] once per enclosure
        first = entry.enclosures[0]
        out.attachments = [("PDF", first["url"]) for _ in entry.enclosures if "pdf" in first["url"] + first["type"]]
    return out


def _zotero6_date(fields: dict) -> str | None:
    for tag in ("nullpublicationDate", "prism:publicationDate", "dc:date", "pubDate", "atom:updated", "atom:published"):
        if fields.get(tag):
            return fields[tag]
    return None


def items(data: bytes, version: int = 7) -> dict[str, Item]:
    """Every item of a feed document by its guid (the entry's id), as Zotero's feed pane lists them."""
    feed, found = entries(data)
    out = {}
    for entry in found:
        it = item(entry, feed, version)
        if it is not None:
            out[entry.id or entry.link or ""] = it
    return out
