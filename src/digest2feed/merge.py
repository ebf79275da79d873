"""Fold digests into the merged state, and derive feed entries from it. No I/O.

The state maps a forum id to a Record. Merging is a join: per rung the earliest
sighting wins (ties broken by content), per certification the earliest date. A
join is commutative, associative and idempotent, so any order and any grouping
of the same digests gives the same state, and status can never go down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from digest2feed.model import Digest, Entry, Record, Rung, Sighting

State = Mapping[str, Record]
NOON = timedelta(hours=12)
RUNGS = tuple(Rung)  # iterating the Enum class itself is slow, and a backfill does it per entry


def records(digest: Digest) -> dict[str, Record]:
    """What one digest says, as state: its day at noon UTC, minus one second per position."""
    out: dict[str, Record] = {}
    for a in digest.announcements:
        at = digest.date + NOON - timedelta(seconds=a.position)
        rec = Record(
            a.forum_id,
            ((a.rung, Sighting(at, a.title, a.authors, a.abstract)),),
            tuple(sorted((name, at) for name in a.certifications)),
        )
        out[a.forum_id] = join(out[a.forum_id], rec) if a.forum_id in out else rec
    return out


def join(a: Record, b: Record) -> Record:
    """The least record that holds both: earliest sighting per rung and per certification."""
    sightings = dict(a.sightings)
    for rung, s in b.sightings:
        sightings[rung] = min(sightings[rung], s, key=_sighting_key) if rung in sightings else _share(s, sightings)
    certs = dict(a.certifications)
    for name, at in b.certifications:
        certs[name] = min(certs.get(name, at), at)
    return Record(a.forum_id, tuple(sorted(sightings.items())), tuple(sorted(certs.items())))


def _share(s: Sighting, others: dict[Rung, Sighting]) -> Sighting:
    """The same text announced at two rungs, held once: a long history is mostly abstracts."""
    for o in others.values():
        if s.abstract is not None and s.abstract == o.abstract and s.abstract is not o.abstract:
            s = Sighting(s.at, o.title if o.title == s.title else s.title, s.authors, o.abstract)
    return s


def _sighting_key(s: Sighting) -> tuple:
    return (s.at, s.title, s.authors, s.abstract or "")


def combine(into: dict[str, Record], more: State) -> dict[str, Record]:
    """Join ``more`` into ``into`` in place. Joins commute, so digests can be folded as
    they are read, before the state is: a backfill never holds all its digests at once."""
    for forum_id, rec in more.items():
        into[forum_id] = join(into[forum_id], rec) if forum_id in into else rec
    return into


def entries(record: Record) -> list[Entry]:
    """One entry per rung the paper reached; lower rungs fill what a higher one lacks."""
    rungs = record.rungs
    return [_entry(record, rungs, rung, s) for rung, s in record.sightings]


def entry(record: Record, rung: Rung) -> Entry:
    """The entry of one rung, as ``entries`` builds it: a renderer asks for one entry at a time."""
    rungs = record.rungs
    return _entry(record, rungs, rung, rungs[rung])


def _entry(record: Record, rungs: dict[Rung, Sighting], rung: Rung, s: Sighting) -> Entry:
    below = [rungs[r] for r in reversed(RUNGS) if r < rung and r in rungs]
    certs = sorted(record.certifications, key=lambda c: (c[1], c[0])) if rung is Rung.CERTIFIED else []
    return Entry(
        forum_id=record.forum_id,
        rung=rung,
        title=s.title,
        authors=s.authors,
        abstract=s.abstract or next((b.abstract for b in below if b.abstract), None),
        certification_dates=tuple(certs),
        milestones=tuple((r, rungs[r].at) for r in RUNGS if r <= rung and r in rungs),
        published=s.at,
        updated=max([s.at, *(at for _, at in certs)]),
        current=rung == record.top,
        sighting=s,
    )


@dataclass(frozen=True)
class Summary:
    added: int
    promoted: int
    changed: int
    unchanged: int


def summarize(old: State, new: State, touched: Iterable[str]) -> Summary:
    """How the papers named by this run's digests moved: the `-v` report."""
    added = promoted = changed = unchanged = 0
    for forum_id in set(touched):
        before, after = old.get(forum_id), new[forum_id]
        if before is None:
            added += 1
        elif after.top > before.top:
            promoted += 1
        elif after != before:
            changed += 1
        else:
            unchanged += 1
    return Summary(added, promoted, changed, unchanged)
