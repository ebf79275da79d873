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
from digest2feed.render.feeds import ABSTRACT, ATOM_NS, FINGERPRINT, GENERATOR_URI, PROVENANCE

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


def read_state(folder: Path) -> tuple[dict[str, Record], dict[str, str]]:
    """The merged state, and each state file's stored fingerprint by its relative path."""
    state: dict[str, Record] = {}
    prints: dict[str, str] = {}
    for path in state_files(folder):
        records, prints[path.relative_to(folder).as_posix()] = read_file(path)
        for rec in records:
            state[rec.forum_id] = join(state[rec.forum_id], rec) if rec.forum_id in state else rec
    return state, prints


def read_file(path: Path) -> tuple[list[Record], str]:
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
    stamp = root.findtext(PROVENANCE) or ""
    return records, stamp.removeprefix(FINGERPRINT)


def _record(entry: etree._Element) -> Record:
    m = ID_RE.fullmatch(entry.findtext(f"{A}id") or "")
    if not m:
        raise ValueError("not a digest2feed entry id")
    title = entry.findtext(f"{A}title")
    if not title:
        raise ValueError("no title")
    abstract = entry.find(ABSTRACT)
    sighting = Sighting(
        at=_time(entry.findtext(f"{A}published")),
        title=title,
        authors=tuple(a.findtext(f"{A}name") or "" for a in entry.iterfind(f"{A}author")),
        abstract=None if abstract is None else abstract.text or "",
    )
    certs: tuple[tuple[str, datetime], ...] = ()
    provenance = entry.findtext(PROVENANCE)
    if provenance:
        dates = json.loads(provenance)["certifications"]
        certs = tuple(sorted((str(name), _time(at)) for name, at in dates.items()))
    return Record(m.group(1), ((RUNGS[m.group(2)], sighting),), certs)


def _time(text: str | None) -> datetime:
    at = datetime.fromisoformat(text or "")
    if at.tzinfo is None:
        raise ValueError("naive time")
    return at
