"""The library behind the command line: inputs → digests → merged state → files on disk."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from digest2feed.digest import NotADigest, parse_digest
from digest2feed.layout import Document, plan
from digest2feed.merge import Summary, merge, summarize
from digest2feed.model import Digest, Problem
from digest2feed.settings import Settings
from digest2feed.sources import Note, Text, read_inputs


class Failed(Exception):
    """The run stopped before writing anything; ``problems`` are the lines to show."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass
class Loaded:
    digests: list[Digest] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    duplicates: int = 0


def load(names: list[str], stdin: BinaryIO) -> Loaded:
    """Read and parse every input; a message met twice (same Message-ID) is read once."""
    out = Loaded()
    seen: set[str] = set()
    for item in read_inputs(names, stdin):
        if isinstance(item, Note):
            {"error": out.errors, "warning": out.warnings, "skipped": out.skipped}[item.kind].append(item.problem)
            continue
        if item.message_id:
            if item.message_id in seen:
                out.duplicates += 1
                continue
            seen.add(item.message_id)
        try:
            digest = parse(item)
        except NotADigest as e:
            (out.errors if item.explicit else out.skipped).append(e.problem)
            continue
        out.digests.append(digest)
        out.warnings.extend(digest.warnings)
    return out


def parse(text: Text) -> Digest:
    return parse_digest(text.text, text.source, text.subject, text.sent)


@dataclass(frozen=True)
class Report:
    loaded: Loaded
    summary: Summary
    entries: int  # in the subscription window
    written: list[str]


def update(settings: Settings, names: list[str], stdin: BinaryIO) -> Report:
    # Imported here: `parse` and `--help` need neither lxml nor feedgen.
    from digest2feed.state import StateError, read_state
    from digest2feed.store import commit, locked

    loaded = load(names, stdin)
    if loaded.errors:
        raise Failed(loaded.errors)
    folder = settings.output
    try:
        with locked(folder):
            try:
                old, archives = read_state(folder)
            except StateError as e:
                raise Failed([e.problem]) from None
            new = merge(old, loaded.digests)
            docs = plan(new, settings)
            files = _changed(folder, docs.values(), regenerate=not names)
            written = commit(folder, files, sorted(set(archives) - set(docs)), last="atom.xml")
    except OSError as e:  # the lock, a folder, or a write (StoreError names the file)
        raise Failed([Problem(str(e.filename or folder), f"cannot write: {e.strerror}; no file was changed")]) from None
    touched: Iterable[str] = (a.forum_id for d in loaded.digests for a in d.announcements)
    return Report(loaded, summarize(old, new, touched), len(docs["atom.xml"].entries), written)


def _changed(folder: Path, docs: Iterable[Document], regenerate: bool) -> Iterator[tuple[str, bytes]]:
    """Render the documents whose file is missing or stores another fingerprint (all of them
    when regenerating); the store then writes only those whose bytes differ."""
    from digest2feed.render.stamp import fingerprint, stored

    for doc in docs:
        print_ = fingerprint(doc)
        if regenerate or stored(folder / doc.path) != print_:
            yield doc.path, render(doc, print_)


def render(doc: Document, stamp: str) -> bytes:
    from digest2feed.render import feeds, jsonfeed, page

    renderer = {"atom": feeds.atom, "rss": feeds.rss, "json": jsonfeed.render, "html": page.render}
    return renderer[doc.format](doc, stamp)
