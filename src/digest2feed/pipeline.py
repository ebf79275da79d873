"""The library behind the command line: inputs → digests → merged state → files on disk."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from digest2feed import schema, websub
from digest2feed.digest import NotADigest, TooLarge, parse_digest, title_date
from digest2feed.filters import Filters, compiled
from digest2feed.imapurl import is_imap
from digest2feed.layout import Document, Ref, plan
from digest2feed.merge import Summary, combine, summarize
from digest2feed.merge import entries as entries_of
from digest2feed.merge import entry as entry_of
from digest2feed.merge import records as records_of
from digest2feed.model import Digest, Entry, Problem, Record
from digest2feed.render import feeds, jsonfeed, opml, page, papers, pieces, search, weeks
from digest2feed.render.stamp import fingerprint, ref_of
from digest2feed.schema import ARCHIVE_DIR, FILE_NAMES, MAIN, OWN_NAMES, WEBSUB, WEEK_GLOB, WEEKS_DIR
from digest2feed.settings import ImapOptions, Settings
from digest2feed.sources import Note, Run, Text, checkpoint, read_inputs
from digest2feed.state import Scan, StateError, records_in, scan, state_files
from digest2feed.store import (
    Interrupted,
    Refused,
    check_own,
    commit,
    fingerprint_of,
    foreign,
    locked,
    pending,
    read_own,
    refused,
    share_folders,
    unplanned,
    unplanned_in,
)

# Told how far a long run has come: (what, done, total or None). The CLI shows it.
Progress = Callable[[str, int, int | None], None]


def _quiet(what: str, done: int, total: int | None) -> None:
    pass


class Failed(Exception):
    """The run stopped before writing anything; ``problems`` are the lines to show."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass
class Loaded:
    digests: list[Digest] = field(default_factory=list)  # kept only when asked (parse)
    read: int = 0  # digests read
    records: dict[str, Record] = field(default_factory=dict)  # what they say, folded together
    warnings: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    duplicates: int = 0
    info: list[Problem] = field(default_factory=list)  # per IMAP folder: looked at, fetched, skipped


def parse(names: list[str], stdin: BinaryIO, imap: ImapOptions | None = None) -> Loaded:
    """What the inputs hold, digests kept: the `parse` command. IMAP folders are read whole
    (no checkpoint: every digest is shown)."""
    return load(names, stdin, imap=Run(imap) if imap else None)


def load(
    names: list[str], stdin: BinaryIO, keep: bool = True, progress: Progress = _quiet, imap: Run | None = None
) -> Loaded:
    """Read, parse and fold every input; a message met twice (same Message-ID) is read once.

    With ``keep=False`` the digests themselves are dropped once folded into ``records``.
    An INPUT that holds no digest at all is warned about, so a job pointed at the wrong
    folder is noticed.
    """
    out = Loaded()
    seen: set[str] = set()
    for name in names:
        found, errors, skipped = out.read + out.duplicates, len(out.errors), len(out.skipped)
        for item in read_inputs([name], stdin, imap):
            _take(item, out, seen, keep, progress)
        merged_before = imap is not None and imap.already.get(name, 0) > 0  # an IMAP folder's digests in the state
        if out.read + out.duplicates == found and len(out.errors) == errors and not merged_before:
            out.warnings.append(_nothing_found("<stdin>" if name == "-" else name, len(out.skipped) - skipped))
    return out


def _nothing_found(source: str, skipped: int) -> Problem:
    if not skipped:
        return Problem(source, "no TMLR digest found (nothing in it to read)")
    what = "message or file" if skipped == 1 else "messages or files"
    return Problem(source, f"no TMLR digest found ({skipped} other {what} skipped)")


def _take(item: Text | Note, out: Loaded, seen: set[str], keep: bool, progress: Progress) -> None:
    if isinstance(item, Note):
        kinds = {"error": out.errors, "warning": out.warnings, "skipped": out.skipped, "info": out.info}
        kinds[item.kind].append(item.problem)
        return
    if item.message_id:
        if item.message_id in seen:
            out.duplicates += 1
            return
        seen.add(item.message_id)
    try:
        digest = parse_digest(item.text, item.source, item.subject, item.sent)
    except NotADigest as e:
        if item.hint and title_date(item.subject or ""):  # a digest, cut before its first section
            out.warnings.append(Problem(e.problem.source, f"{e.problem.message}; {item.hint}"))
        elif isinstance(e, TooLarge):
            (out.errors if item.explicit else out.warnings).append(e.problem)
        else:
            (out.errors if item.explicit else out.skipped).append(e.problem)
        return
    out.read += 1
    progress("digests read", out.read, None)
    out.warnings.extend(_hinted(w, item.hint) for w in digest.warnings)
    combine(out.records, records_of(digest))
    if keep:
        out.digests.append(digest)


def _hinted(warning: Problem, hint: str | None) -> Problem:
    if hint and "cut off" in warning.message:
        return Problem(warning.source, f"{warning.message}; {hint}", warning.line)
    return warning


@dataclass(frozen=True)
class Report:
    loaded: Loaded
    summary: Summary
    entries: int  # in the subscription window
    written: list[str]
    pings: websub.Outcome | None = None  # with a hub (or pings still owed): what the hubs were told


def update(
    settings: Settings, names: list[str], stdin: BinaryIO, progress: Progress = _quiet, ping: bool = True
) -> Report:
    """One run: read the inputs, merge them into the state, write every file that changed, and
    tell the hubs (unless ``ping`` is off: ``digest2feed ping`` then does it after publishing)."""
    folder = settings.output
    imap = _imap_run(settings, names)
    loaded = load(names, stdin, keep=False, progress=progress, imap=imap)
    if loaded.errors:
        raise Failed(loaded.errors)
    try:
        with locked(folder):
            marks = checkpoint.read(folder, state_files(folder))  # under the lock: of the state merged into
            old, new, docs, written = _write(settings, loaded.records, not names, progress)
            # Every run carries the checkpoint to the state it wrote (a merge only adds facts).
            checkpoint.save(folder, state_files(folder), marks, imap.taken if imap else {})
            pings = _ping(settings, docs, written, ping)  # after the commit, still under the lock
    except StateError as e:
        raise Failed([e.problem]) from None
    except Refused as e:  # a link or a FIFO at the lock, the pending marker or the checkpoint
        raise Failed([Problem(str(e.filename), e.strerror)]) from None
    except Interrupted as e:  # renames had begun: the pending marker makes the next run finish them
        why = f"cannot write: {e.strerror}; some files were replaced, and the next run completes the update"
        raise Failed([Problem(str(e.filename or folder), why)]) from None
    except OSError as e:  # the lock, a folder, or a write (StoreError names the file)
        raise Failed([Problem(str(e.filename or folder), f"cannot write: {e.strerror}; no file was changed")]) from None
    summary = summarize(old.records, new, loaded.records)
    return Report(loaded, summary, len(docs[MAIN].refs), written, pings)


def _write(
    settings: Settings, digests: dict[str, Record], regenerate: bool, progress: Progress
) -> tuple[Scan, dict[str, Record], dict[str, Document], list[str]]:
    """Under the lock: merge into the state, plan, refuse what must not be touched, commit."""
    folder = settings.output
    check_own(folder / WEBSUB)  # read after the commit: refused before anything is written
    # A run that died mid-commit may have left files that disagree: then trust no stored
    # content hash and derive everything from the facts. So does a regeneration.
    regenerate = regenerate or pending(folder)
    old, new, refs, papers = _merge(folder, digests, regenerate, compiled(settings.feeds))
    docs = plan(refs, settings)
    if bad := refused(folder, docs):
        raise Failed([Problem(str(folder / rel), why) for rel, why in bad])
    if theirs := foreign(folder, docs, _ours):
        raise Failed([Problem(str(folder / rel), _why_foreign(docs[rel])) for rel in theirs])
    files = _render(docs.values(), folder, papers, regenerate, progress)
    gone = unplanned(folder, docs, OWN_NAMES, _ours, ARCHIVE_DIR)
    gone += unplanned_in(folder, docs, WEEKS_DIR, WEEK_GLOB, _ours)  # week pages
    written = commit(folder, files, sorted({*old.archives, *gone} - set(docs)), last=MAIN)
    share_folders(folder, docs)
    return old, new, docs, written


def _ping(settings: Settings, docs: dict[str, Document], written: list[str], send: bool) -> websub.Outcome | None:
    """Tell the hubs about the feeds this run changed, and those still owed (websub.py). Pings
    never change a file; without a hub, only an old memory of owed pings is dropped."""
    if not settings.hub and not (settings.output / websub.NAME).exists():
        return None
    feeds = [rel for rel, doc in docs.items() if doc.hubs]
    seconds = websub.bound(settings.imap.timeout)
    return websub.notify(settings.output, settings.hub, settings.base_url, written, feeds, seconds, send)


def ping(settings: Settings) -> websub.Outcome:
    """``digest2feed ping``: send the pings still owed (``update --no-ping`` leaves them for after
    publishing), for the feeds that are there, under the run's lock."""
    folder = settings.output
    try:
        with locked(folder):
            feeds = {rel for rels in websub.owed(folder).values() for rel in rels if (folder / rel).is_file()}
            seconds = websub.bound(settings.imap.timeout)
            return websub.notify(folder, settings.hub, settings.base_url, (), feeds, seconds)
    except OSError as e:
        raise Failed([Problem(str(e.filename or folder), f"cannot write: {e.strerror}")]) from None


def _why_foreign(doc: Document) -> str:
    if doc.state:  # the scan has read it as ours: only its closing comment is gone or damaged
        return "a state file whose fingerprint is damaged or missing; refusing to touch it"
    return "was not written by digest2feed (no fingerprint); refusing to overwrite it"


def _ours(path: Path) -> bool:
    """Whether we wrote ``path``: every file we write ends with its fingerprint."""
    return fingerprint_of(path) is not None


def _imap_run(settings: Settings, names: list[str]) -> Run | None:
    """For IMAP inputs: the options and the checkpoint that lets them skip what the state holds.
    Read again under the lock (``update``): another run may have merged meanwhile."""
    if not any(map(is_imap, names)):
        return None
    try:
        return Run(settings.imap, checkpoint.read(settings.output, state_files(settings.output)))
    except Refused as e:
        raise Failed([Problem(str(e.filename), e.strerror)]) from None
    except StateError as e:
        raise Failed([e.problem]) from None


def _merge(
    folder: Path, digests: dict[str, Record], regenerate: bool, filters: Filters
) -> tuple[Scan, dict[str, Record], list[Ref], Papers]:
    """Scan the state, merge the digests into the papers they name, and index every entry.

    Papers no digest names keep the refs stored in the files (with their feed bits);
    their records are read only if a file to be rendered shows them (``_render``).
    """
    old = scan(folder, None if regenerate else set(digests), filters.key)
    trusted = not regenerate
    if not (old.hashes and old.bits) and not regenerate:
        # Files without stored entry hashes, or feed bits of other filters: read everything.
        old, trusted = scan(folder, None, filters.key), False
    new = combine(dict(old.records), digests)
    papers = Papers(old, new)
    # Papers no digest names keep their stored refs even when their records were read
    # (those atom.xml shows): the same digests and bits, without deriving them again.
    derived = set(digests) if trusted else set(new)
    refs = [ref_of(e, filters.mask(e)) for forum in derived for e in papers.entries(forum)]
    for forum, rows in old.index.items():
        if forum not in derived:
            top = max(rows)[0]  # rows start with the rung
            refs += [Ref(pub, upd, forum, rung, rung == top, h, bits) for rung, pub, upd, h, bits, _ in rows]
    return old, new, refs, papers


class Papers:
    """Entries by paper, read from the state files only when first needed.

    Entries are built anew each time they are asked for, not kept: a backfill's 82,000
    took 35 MB, and building them again costs a few percent of the time."""

    def __init__(self, scan: Scan, merged: dict[str, Record]) -> None:
        self.scan, self.records = scan, dict(merged)

    def entries(self, forum: str) -> list[Entry]:
        return entries_of(self.records[forum])

    def need(self, forums: set[str]) -> None:
        """Read the records of ``forums`` not in memory yet, one pass over the files holding them."""
        missing = {f for f in forums if f not in self.records}  # not `forums - keys()`: that walks every key
        if missing:
            self.records |= records_in({row[-1] for f in missing for row in self.scan.index[f]}, missing)

    def entry(self, ref: Ref) -> Entry:
        return entry_of(self.records[ref.forum_id], ref.rung)  # that rung's entry alone


def _render(
    docs: Iterable[Document], folder: Path, papers: Papers, regenerate: bool, progress: Progress
) -> Iterator[tuple[str, bytes]]:
    """Render the documents whose file is missing or stores another fingerprint (all of them
    when regenerating); the store then writes only those whose bytes differ."""
    planned = [(doc, fingerprint(doc)) for doc in docs]
    todo = [(doc, fp) for doc, fp in planned if regenerate or fingerprint_of(folder / doc.path) != fp]
    keeping = [] if regenerate else [doc for doc, _ in todo if pieces.keeps(doc)]
    # Which pieces each file holds, read now to know which records to read; the pieces themselves
    # again file by file below, so that memory never holds more than one file's (twenty feeds of
    # your own at 10,000 papers: 275 MB held at once, 120 MB so).
    kept = {doc.path: set(_kept(folder, doc)) for doc in keeping}
    papers.need({r.forum_id for doc, _ in todo for r in doc.refs if r.hash not in kept.get(doc.path, ())})
    for i, (doc, fp) in enumerate(todo):
        old = _kept(folder, doc) if doc.path in kept else {}
        items: Iterable = (old.get(r.hash) or papers.entry(r) for r in doc.refs)  # one at a time: a whole history
        if not pieces.keeps(doc):
            data = render(doc, list(items), fp)
        elif doc.format in pieces.FEEDS:
            data = pieces.assemble(doc, items, RENDERERS[doc.format], fp)
        else:  # papers.bib, the search index: their renderers put the kept pieces in place
            data = render(doc, items, fp)
        if doc.state and len(data) > schema.MAX_STATE_BYTES:  # what this run writes, the next must read
            why = f"would be {len(data):,} bytes, more than the {schema.MAX_STATE_BYTES:,} a run reads back"
            raise Failed([Problem(str(folder / doc.path), f"{why}; no file was changed")])
        yield doc.path, data
        progress("files rendered", i + 1, len(todo))


def _kept(folder: Path, doc: Document) -> dict:
    """The pieces of a file's last version that this run may keep (render/pieces.py)."""
    try:
        data = read_own(folder / doc.path, schema.MAX_STATE_BYTES)
    except OSError:  # refused before this (store.refused) or unreadable: render it whole
        return {}
    return KEPT[doc.format](doc, data) if data else {}


KEPT = {"atom": pieces.kept, "rss": pieces.kept, "json": pieces.kept, "bib": papers.kept, "search": search.kept}
RENDERERS = {
    "atom": feeds.atom, "rss": feeds.rss, "json": jsonfeed.render, "html": page.render, "opml": opml.render,
    "bib": papers.render, "week": weeks.week, "weeks": weeks.index, "search": search.index, "js": search.code,
}  # fmt: skip


def render(doc: Document, entries: Iterable[Entry], stamp: str) -> bytes:
    return RENDERERS[doc.format](doc, entries, stamp)


@dataclass(frozen=True)
class FeedSummary:
    """One subscription feed as `digest2feed feeds` shows it."""

    folder: str  # "" for the main feed, else the view's or your own feed's folder
    title: str
    files: tuple[str, ...]  # relative paths, one per format
    entries: int
    newest: tuple[Entry, ...]


def overview(settings: Settings, newest: int = 3) -> list[FeedSummary]:
    """Every subscription feed the settings ask for, planned from the state alone: no input,
    no lock, no file written. Filters changed since the last run are evaluated afresh."""
    try:
        _, _, refs, papers = _merge(settings.output, {}, False, compiled(settings.feeds))
        docs = plan(refs, settings)
        atoms = [d for d in docs.values() if d.format == "atom" and not d.archive]
        papers.need({r.forum_id for d in atoms for r in d.refs[:newest]})
        files: dict[str, list[str]] = {}  # by folder: one pass, however many feeds of your own
        for d in docs.values():
            if d.format in FILE_NAMES and not d.archive:
                files.setdefault(d.path.rpartition("/")[0], []).append(d.path)
        out = []
        for doc in atoms:
            folder = doc.path.rpartition("/")[0]
            shown = tuple(papers.entry(r) for r in doc.refs[:newest])
            out.append(FeedSummary(folder, doc.title, tuple(files[folder]), len(doc.refs), shown))
    except StateError as e:
        raise Failed([e.problem]) from None
    return out
