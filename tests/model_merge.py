"""An independent model of the merge rules, the oracle of the merge property tests.

Written from SPEC §4 and the README ("Merging is a join"), not from merge.py, and fed
from what the test generated (digestgen items), so the parser is checked on the way;
only inputs no test generated (the fuzzed real sample) come in parsed:

- every (paper, rung) announced keeps the earliest announcement; an announcement's
  time is its digest's day at 12:00 UTC minus one second per entry above it;
- two announcements at the same time are a tie, broken by content alone — the
  spec does not say which end wins, so the model takes the smallest
  (title, authors, abstract) and the tests say so when it disagrees;
- each certification keeps its earliest time;
- nothing is ever dropped, so status never goes down.

It is deliberately the obvious quadratic fold over every announcement: no join,
no incremental state, nothing shared with the code under test but the vocabulary.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from digest2feed.model import Digest, Record, Rung, Sighting
from digestgen import Generated, Item

SECTIONS = (("certified", Rung.CERTIFIED), ("accepted", Rung.ACCEPTED), ("submitted", Rung.SUBMITTED))


# One announcement as the model sees it: (paper, rung, what it states, certification names).
Said = tuple[str, Rung, Sighting, tuple[str, ...]]


def said_in(d: Generated) -> list[Said]:
    """Every entry of a generated digest top to bottom (sections in the order digest_text
    writes them), timed by its place."""
    noon = datetime(d.day.year, d.day.month, d.day.day, 12, tzinfo=UTC)
    flat = [(rung, item) for name, rung in SECTIONS for item in getattr(d, name)]
    return [
        (item.forum_id, rung, sighting(rung, item, noon - timedelta(seconds=pos)), item.certifications)
        for pos, (rung, item) in enumerate(flat)
    ]


def said_in_parsed(d: Digest) -> list[Said]:
    """The same from a parsed digest, for inputs no test generated (the fuzzed sample):
    the parser's fields and positions, timed by the model's own rule."""
    noon = d.date + timedelta(hours=12)
    return [
        (a.forum_id, a.rung, Sighting(noon - timedelta(seconds=a.position), a.title, a.authors, a.abstract),
         a.certifications)
        for a in d.announcements
    ]  # fmt: skip


def sighting(rung: Rung, item: Item, at: datetime) -> Sighting:
    """What one announcement states about its rung: certifications carry no abstract,
    submissions no authors (the digest prints none), and an empty abstract is none."""
    authors = () if rung is Rung.SUBMITTED else item.authors
    abstract = None if rung is Rung.CERTIFIED else item.abstract or None
    return Sighting(at, item.title, authors, abstract)


def content(s: Sighting) -> tuple:
    return (s.title, s.authors, s.abstract or "")


def model_state(digests: list[Generated] | list[Digest]) -> dict[str, Record]:
    """The merged state the rules above give, whatever the order of ``digests``."""
    said: dict[tuple[str, Rung], list[Sighting]] = {}
    certs: dict[str, dict[str, datetime]] = {}
    for d in digests:
        for forum, rung, s, names in said_in(d) if isinstance(d, Generated) else said_in_parsed(d):
            said.setdefault((forum, rung), []).append(s)
            for name in names:
                known = certs.setdefault(forum, {})
                known[name] = min(known.get(name, s.at), s.at)
    winners: dict[str, dict[Rung, Sighting]] = {}
    for (forum, rung), seen in said.items():
        earliest = min(s.at for s in seen)
        tied = [s for s in seen if s.at == earliest]
        winners.setdefault(forum, {})[rung] = min(tied, key=content)
    return {
        forum: Record(forum, tuple(sorted(rungs.items())), tuple(sorted(certs.get(forum, {}).items())))
        for forum, rungs in winners.items()
    }


def tied_candidates(digests: list[Generated]) -> dict[tuple[str, Rung], set[Sighting]]:
    """Every (paper, rung) whose earliest time is shared by announcements of different content."""
    said: dict[tuple[str, Rung], set[Sighting]] = {}
    for d in digests:
        for forum, rung, s, _ in said_in(d):
            said.setdefault((forum, rung), set()).add(s)
    out = {}
    for key, seen in said.items():
        earliest = min(s.at for s in seen)
        tied = {s for s in seen if s.at == earliest}
        if len({content(s) for s in tied}) > 1:
            out[key] = tied
    return out
