"""Read the merged state back from the Atom files digest2feed wrote, refusing anything else.

Each entry is one rung of one paper: the forum id and rung come from its id, the
announcement's time from ``published``, title and authors from their Atom
elements, the abstract from ``dcterms:abstract`` and certification dates from
``dcterms:provenance``. The parser never expands entities, loads a DTD or touches
the network, and a document type declaration is refused before parsing, so a
hostile file can neither blow up memory nor make us read a local file.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from lxml import etree

from digest2feed.layout import ARCHIVE_DIR
from digest2feed.merge import join
from digest2feed.model import Problem, Record, Rung, Sighting
from digest2feed.render.feeds import ABSTRACT, ATOM_NS, GENERATOR_URI, PROVENANCE

MAX_BYTES = 256 * 1024 * 1024
A = f"{{{ATOM_NS}}}"
ID_RE = re.compile(r"https://openreview\.net/forum\?id=([A-Za-z0-9_-]+)#(submitted|accepted|certified)")
RUNGS = {r.slug: r for r in Rung}


class StateError(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def state_files(folder: Path) -> list[Path]:
    """atom.xml and every archive document: together they hold the state."""
    files = [folder / "atom.xml"] if (folder / "atom.xml").exists() else []
    archive = folder / ARCHIVE_DIR
    if archive.is_dir():
        files += sorted(archive.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9].xml"))
    return files


def read_state(folder: Path) -> tuple[dict[str, Record], list[str]]:
    """The merged state, and the archive documents found (relative paths)."""
    state: dict[str, Record] = {}
    files = state_files(folder)
    for path in files:
        for rec in read_file(path):
            state[rec.forum_id] = join(state[rec.forum_id], rec) if rec.forum_id in state else rec
    return state, [p.relative_to(folder).as_posix() for p in files if p.parent.name == ARCHIVE_DIR]


def read_file(path: Path) -> list[Record]:
    def refuse(why: str, line: int | None = None) -> StateError:
        return StateError(Problem(str(path), f"{why}; refusing to touch it", line))

    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise refuse(f"is {size} bytes, larger than any feed digest2feed writes")
        data = path.read_bytes()
    except OSError as e:
        raise StateError(Problem(str(path), f"cannot read: {e.strerror}")) from None
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise refuse("holds a document type declaration, which digest2feed never writes")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise refuse(f"is not well-formed XML ({e.msg})", e.lineno) from None
    generator = root.find(f"{A}generator")
    if root.tag != f"{A}feed" or generator is None or generator.get("uri") != GENERATOR_URI:
        raise refuse("is not an Atom feed written by digest2feed")
    records = []
    for entry in root.iterfind(f"{A}entry"):
        try:
            records.append(_record(entry))
        except (KeyError, ValueError, TypeError, AttributeError):
            raise refuse("has a damaged entry", entry.sourceline) from None
    return records


ID, TITLE, PUBLISHED, AUTHOR, NAME = (f"{A}{n}" for n in ("id", "title", "published", "author", "name"))


def _record(entry: etree._Element) -> Record:
    """One pass over the entry's children: this runs once per entry of the whole history."""
    ident = title = published = provenance = abstract = None
    authors = []
    for child in entry:
        tag = child.tag
        if tag == AUTHOR:
            authors.append(child.findtext(NAME) or "")
        elif tag == ID:
            ident = child.text
        elif tag == TITLE:
            title = child.text
        elif tag == PUBLISHED:
            published = child.text
        elif tag == ABSTRACT:
            abstract = child.text or ""
        elif tag == PROVENANCE:
            provenance = child.text
    m = ID_RE.fullmatch(ident or "")
    if not m or not title:
        raise ValueError("not a digest2feed entry")
    certs: tuple[tuple[str, datetime], ...] = ()
    if provenance:
        dates = json.loads(provenance)["certifications"]
        certs = tuple(sorted((str(name), _time(at)) for name, at in dates.items()))
    sighting = Sighting(_time(published), title, tuple(authors), abstract)
    return Record(m.group(1), ((RUNGS[m.group(2)], sighting),), certs)


def _time(text: str | None) -> datetime:
    at = datetime.fromisoformat(text or "")
    if at.tzinfo is None:
        raise ValueError("naive time")
    return at
