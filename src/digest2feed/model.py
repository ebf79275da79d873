"""The vocabulary every layer shares: plain frozen dataclasses, no behaviour beyond views."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

FORUM_URL = "https://openreview.net/forum?id="
PDF_URL = "https://openreview.net/pdf?id="


class Rung(IntEnum):
    """A paper's status; the order is the ladder, so ``max`` is the newest news."""

    SUBMITTED = 0
    ACCEPTED = 1
    CERTIFIED = 2

    @property
    def slug(self) -> str:
        return ("submitted", "accepted", "certified")[self]  # not name.lower(): Enum.name is slow

    @property
    def label(self) -> str:
        return ("New submission", "Accepted", "Certified")[self]


@dataclass(frozen=True, slots=True)
class Announcement:
    """One entry of one digest section, exactly as the digest stated it."""

    forum_id: str
    rung: Rung
    title: str
    authors: tuple[str, ...]
    abstract: str | None
    certifications: tuple[str, ...]
    position: int  # index among the digest's entries, top first


@dataclass(frozen=True, slots=True)
class Paper:
    """What one digest says about one paper (several sections folded together)."""

    forum_id: str
    title: str
    authors: tuple[str, ...]
    abstract: str | None
    status: Rung
    certifications: tuple[str, ...]

    @property
    def url(self) -> str:
        return FORUM_URL + self.forum_id


@dataclass(frozen=True, slots=True)
class Problem:
    """A warning or error tied to an input and, where known, a line of it."""

    source: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Digest:
    source: str
    date: datetime  # midnight UTC of the day TMLR sent it
    kind: str  # "daily" or "weekly"
    announcements: tuple[Announcement, ...]
    warnings: tuple[Problem, ...] = ()

    @property
    def papers(self) -> tuple[Paper, ...]:
        """One record per paper, in the digest's own order, highest rung's text first."""
        grouped: dict[str, list[Announcement]] = {}
        for a in self.announcements:
            grouped.setdefault(a.forum_id, []).append(a)
        papers = []
        for forum_id, group in grouped.items():
            top = sorted(group, key=lambda a: a.rung, reverse=True)
            certs = tuple(dict.fromkeys(c for a in group for c in a.certifications))
            papers.append(
                Paper(
                    forum_id=forum_id,
                    title=top[0].title,
                    authors=next((a.authors for a in top if a.authors), ()),
                    abstract=next((a.abstract for a in top if a.abstract), None),
                    status=top[0].rung,
                    certifications=certs,
                )
            )
        return tuple(papers)


@dataclass(frozen=True, order=True, slots=True)
class Sighting:
    """A rung's announcement as merged state keeps it: the earliest one wins.

    ``at`` is the digest's day at 12:00 UTC minus the entry's position in seconds,
    so entries of one digest keep its order and never share a time stamp.
    """

    at: datetime
    title: str
    authors: tuple[str, ...] = ()
    abstract: str | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """Everything known about one paper: the merged state is a map of these."""

    forum_id: str
    sightings: tuple[tuple[Rung, Sighting], ...]  # sorted by rung
    certifications: tuple[tuple[str, datetime], ...] = field(default=())  # sorted by name

    @property
    def rungs(self) -> dict[Rung, Sighting]:
        return dict(self.sightings)

    @property
    def top(self) -> Rung:
        return self.sightings[-1][0]


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed entry: a paper at one rung, ready for any renderer."""

    forum_id: str
    rung: Rung
    title: str
    authors: tuple[str, ...]
    abstract: str | None
    certification_dates: tuple[tuple[str, datetime], ...]  # by date, then name
    milestones: tuple[tuple[Rung, datetime], ...]  # the rungs up to this one, dated
    published: datetime
    updated: datetime
    current: bool  # False when the paper has since climbed a rung
    sighting: Sighting  # this rung's own facts, as the state keeps them

    def __hash__(self) -> int:
        # The renderers' caches hash every entry; the generated hash walked every field.
        return hash((self.forum_id, self.rung, self.published))

    @property
    def id(self) -> str:
        return f"{FORUM_URL}{self.forum_id}#{self.rung.slug}"

    @property
    def url(self) -> str:
        return FORUM_URL + self.forum_id

    @property
    def pdf_url(self) -> str:
        return PDF_URL + self.forum_id

    @property
    def certifications(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.certification_dates)

    @property
    def categories(self) -> tuple[str, ...]:
        if self.rung is Rung.CERTIFIED:
            return (Rung.ACCEPTED.label, *self.certifications)
        return (self.rung.label,)
