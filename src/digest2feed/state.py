"""Read the merged state back from the Atom files digest2feed wrote, refusing anything else.

Each entry is one rung of one paper: the forum id and rung come from its id, the
announcement's time from ``published``, title and authors from their Atom
elements (the title from ``dcterms:alternative`` when the shown one says the
status), the abstract from ``dcterms:abstract`` and certification dates from
``dcterms:provenance``. The parser never expands entities, loads a DTD or touches
the network, and a document type declaration is refused before parsing, so a
hostile file can neither blow up memory nor make us read a local file.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from digest2feed import schema
from digest2feed.merge import join
from digest2feed.model import FORUM_URL, Problem, Record, Rung, Sighting
from digest2feed.schema import (
    ABSTRACT,
    ARCHIVE_DIR,
    ARCHIVE_GLOB,
    ATOM_NS,
    BACKUP_SUFFIX,
    ENTRY_HASHES,
    ENTRY_ID_RE,
    FEED_BITS,
    GENERATOR_URI,
    MAIN,
    PLAIN_TITLE,
    PROVENANCE,
    TIME_RE,
)
from digest2feed.store import LINKED, NOT_A_FILE, backups, pending

PROLOG = 4096
A = f"{{{ATOM_NS}}}"
NS = {"a": ATOM_NS}
# One XPath call per file and column; plain strings (no "smart" back-references) keep it cheap.
COLUMNS = [
    etree.XPath(f"a:entry/a:{tag}/text()", namespaces=NS, smart_strings=False) for tag in ("id", "published", "updated")
]
RUNGS = {r.slug: r for r in Rung}
ID_COLUMN = re.compile(f"(?:{ENTRY_ID_RE.pattern}\n)*")  # a column checked in one pass
TIME_COLUMN = re.compile(f"(?:{TIME_RE.pattern}\n)*")


class StateError(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def state_files(folder: Path) -> list[Path]:
    """atom.xml and every archive document: together they hold the state; after a run
    died mid-commit, also the old versions it kept (store.commit)."""
    main, archive = folder / MAIN, folder / ARCHIVE_DIR
    _no_link(main)
    _no_link(archive)
    files = [main] if main.exists() else []
    if archive.is_dir():
        files += sorted(archive.glob(ARCHIVE_GLOB))
    if pending(folder):
        old = backups(folder)
        files += [p for p in old if p.parent == archive or (p.parent == folder and p.name.startswith(f".{MAIN}."))]
    for path in files:
        _no_link(path)
    return files


def _no_link(path: Path) -> None:
    """Never read another site's files into ours through a link (store.Linked, said as a state problem)."""
    if path.is_symlink():
        raise StateError(Problem(str(path), LINKED))


@dataclass
class Scan:
    """What the state files hold: full records for the papers asked for, an index of the rest.

    Reading a record costs far more than parsing the XML it comes from, so a run
    asks only for the papers it merges into; everything else is known by its
    ``Ref`` (identity, dates, stored entry hash) and read in full later only
    if a file holding it has to be rendered.
    """

    records: dict[str, Record] = field(default_factory=dict)
    # forum id → (rung, published, updated, stored entry hash, feed bits, file) of each of its entries
    index: dict[str, list[tuple[Rung, str, str, str | None, int, Path]]] = field(default_factory=dict)
    archives: list[str] = field(default_factory=list)  # relative paths of the archive documents found
    hashes: bool = True  # every entry's hash was stored beside it
    bits: bool = True  # and its feed bits, under the filters asked for


def scan(folder: Path, wanted: set[str] | None, filters_key: str = "") -> Scan:
    """Read every state file; build records for ``wanted`` papers (all when None).

    ``filters_key`` is the key of the feeds of your own (filters.py): the feed
    bits stored under it are taken; stored under any other, they are not trusted.
    """
    out = Scan()
    for path in state_files(folder):
        if path.parent.name == ARCHIVE_DIR and not path.name.endswith(BACKUP_SUFFIX):
            out.archives.append(path.relative_to(folder).as_posix())
        root = _parse(path)
        entries = root.findall(f"{A}entry")
        columns = _columns(root, entries)
        if not columns:
            raise _refuse(path, "has an entry whose id or dates digest2feed did not write")
        ids, published, updated = columns
        if len(set(ids)) != len(ids):
            _refuse_twice(path, ids, entries)
        if wanted is not None and path.name == MAIN:  # the window: any change renders it again
            wanted = wanted | {ident[len(FORUM_URL) :].partition("#")[0] for ident in ids}
        hashes = _comment(root, ENTRY_HASHES)
        if len(hashes) != len(entries):
            out.hashes, hashes = False, [None] * len(entries)
        bits = _bits(root, filters_key, len(entries))
        if bits is None:
            out.bits, bits = False, [0] * len(entries)
        index, records, prefix = out.index, out.records, len(FORUM_URL)
        for i, ident in enumerate(ids):
            forum, _, rung = ident[prefix:].partition("#")
            index.setdefault(forum, []).append((RUNGS[rung], published[i], updated[i], hashes[i], bits[i], path))
            if wanted is None or forum in wanted:
                try:
                    rec = _record(entries[i])
                except (KeyError, ValueError, TypeError, AttributeError):
                    raise _refuse(path, "has a damaged entry", entries[i].sourceline) from None
                records[forum] = join(records[forum], rec) if forum in records else rec
    return out


def records_in(paths: set[Path], wanted: set[str]) -> dict[str, Record]:
    """Full records of ``wanted`` papers from the files that hold them."""
    records: dict[str, Record] = {}
    for path in sorted(paths):
        for entry in _parse(path).iterfind(f"{A}entry"):
            m = ENTRY_ID_RE.fullmatch(entry.findtext(f"{A}id") or "")
            if m and m.group(1) in wanted:
                try:
                    rec = _record(entry)
                except (KeyError, ValueError, TypeError, AttributeError):
                    raise _refuse(path, "has a damaged entry", entry.sourceline) from None
                records[rec.forum_id] = join(records[rec.forum_id], rec) if rec.forum_id in records else rec
    return records


def _refuse_twice(path: Path, ids: list[str], entries: list[etree._Element]) -> None:
    """One entry twice in a file would be published twice: the file is damaged."""
    seen: set[str] = set()
    for ident, entry in zip(ids, entries, strict=True):
        if ident in seen:
            raise _refuse(path, f"has the entry {ident} twice (damaged)", entry.sourceline)
        seen.add(ident)


def _refuse(path: Path, why: str, line: int | None = None) -> StateError:
    return StateError(Problem(str(path), f"{why}; refusing to touch it", line))


def _parse(path: Path) -> etree._Element:
    """The root of a state file, or StateError: never a hostile or foreign document.

    The parser expands no entity, loads no DTD and opens no URL, so an entity bomb
    or an external entity stays an inert declaration; any document type declaration
    is then refused outright (digest2feed never writes one). Files too big to be
    ours are refused unread.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # a FIFO never holds the run
    except OSError as e:
        why = LINKED if e.errno == errno.ELOOP else f"cannot read: {e.strerror}"
        raise StateError(Problem(str(path), why)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # before open(): Python refuses a folder's descriptor
        os.close(fd)
        raise StateError(Problem(str(path), NOT_A_FILE))
    with open(fd, "rb") as f:
        tree = _tree(path, f)
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise _refuse(path, "holds a document type declaration, which digest2feed never writes")
    root = tree.getroot()
    generator = root.find(f"{A}generator")
    if root.tag != f"{A}feed" or generator is None or generator.get("uri") != GENERATOR_URI:
        raise _refuse(path, "is not an Atom feed written by digest2feed")
    return root


def _tree(path: Path, f: BinaryIO) -> etree._ElementTree:
    try:
        size = os.fstat(f.fileno()).st_size
        prolog = f.read(PROLOG)
        f.seek(0)
    except OSError as e:
        raise StateError(Problem(str(path), f"cannot read: {e.strerror}")) from None
    if size > schema.MAX_STATE_BYTES:
        raise _refuse(path, f"is {size} bytes, larger than any feed digest2feed writes")
    if b"<!DOCTYPE" in prolog:  # the common case refused before parsing at all
        raise _refuse(path, "holds a document type declaration, which digest2feed never writes")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    try:
        return etree.parse(f, parser)
    except etree.XMLSyntaxError as e:  # libxml2's message may hold a line break: one line per problem
        raise _refuse(path, f"is not well-formed XML ({' '.join(e.msg.split())})", e.lineno) from None
    except OSError as e:  # lxml says OSError for undecodable bytes (found by fuzzing)
        why = str(e).rpartition("': ")[2] or str(e)  # "Error reading file '<path>': <why>"
        raise _refuse(path, f"is not well-formed XML ({' '.join(why.split())})") from None


def _columns(root: etree._Element, entries: list[etree._Element]) -> list[list]:
    """Ids, published and updated dates of every entry, by element name, each column checked in
    one regular-expression pass; empty when an entry lacks one or holds what we never write."""
    columns = [column(root) for column in COLUMNS]
    return columns if all(len(c) == len(entries) for c in columns) and _valid(columns) else []


def _valid(columns: list[list]) -> bool:
    return all(
        all(isinstance(v, str) for v in column) and pattern.fullmatch("".join(v + "\n" for v in column))
        for column, pattern in zip(columns, (ID_COLUMN, TIME_COLUMN, TIME_COLUMN), strict=True)
    )


def _bits(root: etree._Element, filters_key: str, count: int) -> list[int] | None:
    """Each entry's feed bits, if stored under the filters ``filters_key`` names; no filters: all 0."""
    if not filters_key:
        return [0] * count
    words = _comment(root, FEED_BITS)
    if words[:1] != [filters_key] or len(words) != count + 1:
        return None
    try:
        return [0 if w == "0" else int(w, 16) for w in words[1:]]
    except ValueError:
        return None


def _comment(root: etree._Element, name: str) -> list[str]:
    """The words of the ``name`` comment after the root element (see render/stamp.py)."""
    for node in root.itersiblings():
        text = node.text or "" if isinstance(node, etree._Comment) else ""
        if text.startswith(f" {name} "):
            return text.split()[1:]
    return []


ID, TITLE, PUBLISHED, AUTHOR, NAME = (f"{A}{n}" for n in ("id", "title", "published", "author", "name"))


def _record(entry: etree._Element) -> Record:
    """One pass over the entry's children: this runs once per entry of the whole history."""
    ident = title = plain = published = provenance = abstract = None
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
        elif tag == PLAIN_TITLE:
            plain = child.text
    title = plain or title  # the title as announced, when the shown one says the status
    m = ENTRY_ID_RE.fullmatch(ident or "")
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
