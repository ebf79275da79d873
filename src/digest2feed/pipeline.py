"""The library behind the command line: inputs → digests → merged state → files on disk."""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from digest2feed.digest import NotADigest, parse_digest, title_date
from digest2feed.filters import Filters, compiled
from digest2feed.layout import ARCHIVE_DIR, FILE_NAMES, OWN_NAMES, Document, Ref, plan
from digest2feed.merge import Summary, combine, summarize
from digest2feed.merge import entries as entries_of
from digest2feed.merge import entry as entry_of
from digest2feed.merge import records as records_of
from digest2feed.model import Digest, Entry, Problem, Record
from digest2feed.settings import Settings
from digest2feed.sources import Note, Text, is_imap, read_inputs
from digest2feed.weeks import WEEK_GLOB, WEEKS_DIR

if TYPE_CHECKING:
    from digest2feed.helper import Helper
    from digest2feed.imap import Run
    from digest2feed.state import Scan


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
        digest = parse(item)
    except NotADigest as e:
        if item.hint and title_date(item.subject or ""):  # a digest, cut before its first section
            out.warnings.append(Problem(e.problem.source, f"{e.problem.message}; {item.hint}"))
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


def parse(text: Text) -> Digest:
    return parse_digest(text.text, text.source, text.subject, text.sent)


@dataclass(frozen=True)
class Report:
    loaded: Loaded
    summary: Summary
    entries: int  # in the subscription window
    written: list[str]


def update(settings: Settings, names: list[str], stdin: BinaryIO, progress: Progress = _quiet) -> Report:
    """One run. The cyclic garbage collector is paused meanwhile: a run builds hundreds
    of thousands of small objects and no cycles, and the collector only walked them
    again and again (a tenth of a no-op run at 50,000 papers; memory unchanged)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _update(settings, names, stdin, progress)
    finally:
        if paused:
            gc.enable()


def _update(settings: Settings, names: list[str], stdin: BinaryIO, progress: Progress) -> Report:
    # Modules are imported inside functions: `parse` and `--help` need neither lxml nor feedgen.
    helper = _helper(settings.output, names)
    try:
        return _run(settings, names, stdin, progress, helper)
    finally:
        if helper:
            helper.stop()


def _helper(folder: Path, names: list[str]) -> Helper | None:
    """A second process for a run that renders everything (a backfill, a regeneration),
    forked now, while this one is small (helper.py)."""
    if names and (folder / "atom.xml").exists():
        return None
    from digest2feed.helper import Helper
    from digest2feed.render import feeds, jsonfeed, opml, page, search, weeks  # noqa: F401 (imported once, for both)

    return Helper.start(render)


def _run(settings: Settings, names: list[str], stdin: BinaryIO, progress: Progress, helper: Helper | None) -> Report:
    from digest2feed import checkpoint
    from digest2feed.state import StateError
    from digest2feed.store import commit, foreign, locked, pending, share_folders, unplanned, unplanned_in

    folder = settings.output
    imap = _imap_run(settings, names)
    loaded = load(names, stdin, keep=False, progress=progress, imap=imap)
    if loaded.errors:
        raise Failed(loaded.errors)
    touched = set(loaded.records)
    try:
        with locked(folder):
            marks = checkpoint.read(folder)  # under the lock: valid for the state merged into below
            # A run that died mid-commit may have left files that disagree: then trust no
            # stored digest and derive everything from the facts. So does a regeneration.
            regenerate = not names or pending(folder)
            try:
                old, new, refs, records = _merge(folder, loaded.records, regenerate, compiled(settings.feeds))
                docs = plan(refs, settings)
                theirs = foreign(folder, docs, _ours)
                if theirs:
                    raise Failed([Problem(str(folder / rel), _why_foreign(docs[rel])) for rel in theirs])
                files = _render(docs.values(), folder, records, regenerate, progress, helper)
                gone = unplanned(folder, docs, OWN_NAMES, _ours, ARCHIVE_DIR)
                gone += unplanned_in(folder, docs, WEEKS_DIR, WEEK_GLOB, _ours)  # week pages
                written = commit(folder, files, sorted({*old.archives, *gone} - set(docs)), last="atom.xml")
                share_folders(folder, docs)
                checkpoint.save(folder, marks, imap.taken if imap else {})  # only once the files are in place
            except StateError as e:
                raise Failed([e.problem]) from None
    except OSError as e:  # the lock, a folder, or a write (StoreError names the file)
        raise Failed([Problem(str(e.filename or folder), f"cannot write: {e.strerror}; no file was changed")]) from None
    return Report(loaded, summarize(old.records, new, touched), len(docs["atom.xml"].refs), written)


def _why_foreign(doc: Document) -> str:
    if doc.state:  # the scan has read it as ours: only its closing comment is gone or damaged
        return "a state file whose fingerprint is damaged or missing; refusing to touch it"
    return "was not written by digest2feed (no fingerprint); refusing to overwrite it"


def _ours(path: Path) -> bool:
    """Whether we wrote ``path``: every file we write ends with its fingerprint."""
    from digest2feed.render.stamp import stored

    return stored(path) is not None


def _imap_run(settings: Settings, names: list[str]) -> Run | None:
    """For IMAP inputs: the options and the checkpoint that lets them skip what the state holds."""
    if not any(map(is_imap, names)):
        return None
    from digest2feed import checkpoint
    from digest2feed.imap import Run

    return Run(settings.imap, checkpoint.read(settings.output))


def _merge(
    folder: Path, digests: dict[str, Record], regenerate: bool, filters: Filters
) -> tuple[Scan, dict[str, Record], list[Ref], Records]:
    """Scan the state, merge the digests into the papers they name, and index every entry.

    Papers no digest names keep the refs stored in the files (with their feed bits);
    their records are read only if a file to be rendered shows them (``_render``).
    """
    from digest2feed.render.stamp import ref_of
    from digest2feed.state import scan

    old = scan(folder, None if regenerate else set(digests), filters.fingerprint)
    trusted = not regenerate
    if not (old.digests and old.memberships) and not regenerate:
        # Files without stored digests, or feed bits of other filters: read everything.
        old, trusted = scan(folder, None, filters.fingerprint), False
    new = combine(dict(old.records), digests)
    records = Records(old, new)
    # Papers no digest names keep their stored refs even when their records were read
    # (atom.xml's hint): the same digests and bits, without deriving them again.
    derived = set(digests) if trusted else set(new)
    refs = [ref_of(e, filters.mask(e)) for forum in derived for e in records.entries(forum)]
    for forum, rows in old.index.items():
        if forum not in derived:
            top = max(rows)[0]  # rows start with the rung
            refs += [Ref(pub, upd, forum, rung, rung == top, dg, bits) for rung, pub, upd, dg, bits, _ in rows]
    return old, new, refs, records


class Records:
    """Entries by paper, read from the state files only when first needed.

    Entries are built anew each time they are asked for, not kept: a backfill's 82,000
    took 35 MB, and building them again costs a few percent of the time."""

    def __init__(self, scan: Scan, merged: dict[str, Record]) -> None:
        self.scan, self.records = scan, dict(merged)

    def entries(self, forum: str) -> list[Entry]:
        return entries_of(self.records[forum])

    def need(self, forums: set[str]) -> None:
        """Read the records of ``forums`` not in memory yet, one pass over the files holding them."""
        from digest2feed.state import read_records

        missing = {f for f in forums if f not in self.records}  # not `forums - keys()`: that walks every key
        if missing:
            self.records |= read_records({row[-1] for f in missing for row in self.scan.index[f]}, missing)

    def entry(self, ref: Ref) -> Entry:
        return entry_of(self.records[ref.forum_id], ref.rung)  # that rung's entry alone


def _render(
    docs: Iterable[Document],
    folder: Path,
    records: Records,
    regenerate: bool,
    progress: Progress,
    helper: Helper | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Render the documents whose file is missing or stores another fingerprint (all of them
    when regenerating); the store then writes only those whose bytes differ. With a
    ``helper``, every other document rendered whole is rendered there meanwhile."""
    from digest2feed.render import splice
    from digest2feed.render.stamp import fingerprint, stored

    todo = [(doc, fingerprint(doc)) for doc in docs]
    todo = [(doc, fp) for doc, fp in todo if regenerate or stored(folder / doc.path) != fp]
    todo.sort(key=lambda t: t[0].format != "search")  # the whole history's index first, beside a small helper
    # Entries an old subscription file already holds keep their bytes (render/splice.py).
    kept = {} if regenerate else {d.path: splice.stored(folder / d.path, d) for d, _ in todo if splice.reusable(d)}
    records.need({r.forum_id for doc, _ in todo for r in doc.refs if r.digest not in kept.get(doc.path, ())})
    shared: dict[tuple[str, str], bytes] = {}  # entries rendered for one spliced file, for the others
    # Not the search index: its entries are the whole history, too many to send through the pipe.
    whole_docs = [i for i, (doc, _) in enumerate(todo) if not kept.get(doc.path) and doc.format != "search"]
    lent = deque(whole_docs[1::2] if helper else [])

    def whole(doc: Document, fp: str) -> tuple[Document, list[Entry], str]:
        records.need({r.forum_id for r in doc.refs})
        return doc, [records.entry(r) for r in doc.refs], fp

    def lend() -> None:  # one job at a time with the helper, the next as soon as it is free
        if helper and lent and not helper.busy and not helper.send(whole(*todo[lent[0]])):
            lent.clear()  # the helper is gone: everything is rendered here

    for i, (doc, fp) in enumerate(todo):
        lend()
        data = None
        if helper and lent and lent[0] == i:
            lent.popleft()
            data = helper.result()
            if data is None:
                lent.clear()
            lend()
        if data is None and kept.get(doc.path):
            data = _spliced(doc, fp, folder, records, kept[doc.path], shared)
        if data is None:
            data = render(*whole(doc, fp))
        yield doc.path, data
        progress("files rendered", i + 1, len(todo))


def _spliced(
    doc: Document, fp: str, folder: Path, records: Records, reuse: set[str], shared: dict[tuple[str, str], bytes]
) -> bytes | None:
    """``doc`` rendered from the entries its old file holds, those ``shared`` holds in its style,
    and the others rendered now; None when that file does not hold what it lists (the caller
    then renders it whole)."""
    from digest2feed.render import splice

    key = splice.style(doc)
    fresh = [r for r in doc.refs if r.digest not in reuse and (key, r.digest) not in shared]
    data = render(doc, [records.entry(r) for r in fresh], fp)
    try:
        return splice.assemble(doc, (folder / doc.path).read_bytes(), data, [r.digest for r in fresh], shared)
    except (ValueError, OSError):
        return None


def render(doc: Document, entries: list[Entry], stamp: str) -> bytes:
    from digest2feed.render import feeds, jsonfeed, opml, page, search, weeks

    renderer = {"atom": feeds.atom, "rss": feeds.rss, "json": jsonfeed.render, "html": page.render, "opml": opml.render}
    site = {"week": weeks.week, "weeks": weeks.index, "search": search.index, "js": search.code}  # html = true
    return (renderer.get(doc.format) or site[doc.format])(doc, entries, stamp)


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
    from digest2feed.state import StateError

    try:
        _, _, refs, records = _merge(settings.output, {}, False, compiled(settings.feeds))
        docs = plan(refs, settings)
        atoms = [d for d in docs.values() if d.format == "atom" and not d.archive]
        records.need({r.forum_id for d in atoms for r in d.refs[:newest]})
        out = []
        for doc in atoms:
            folder = doc.path.rpartition("/")[0]
            files = tuple(
                d.path
                for d in docs.values()
                if d.path.rpartition("/")[0] == folder and d.format in FILE_NAMES and not d.archive
            )
            shown = tuple(records.entry(r) for r in doc.refs[:newest])
            out.append(FeedSummary(folder, doc.title, files, len(doc.refs), shown))
    except StateError as e:
        raise Failed([e.problem]) from None
    return out
