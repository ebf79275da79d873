"""Digest weeks: which week a paper's announcement belongs to, and what its page is called.

A week runs Monday to Sunday by the digest's UTC date (the date in its title) and is
named by its Sunday: the weekly digest of Sunday 30 April 2023 is the week
``2023-04-30``, and the daily digests of Monday 24 to Sunday 30 April 2023 belong to
it too. A name is a date, so it never changes as digests arrive, sorts like the
weeks it names, and reads as a date in a link. Pure: strings in, strings out.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from digest2feed.model import Rung
from digest2feed.schema import WEEKS_DIR

MONTHS = ("January", "February", "March", "April", "May", "June",
          "July", "August", "September", "October", "November", "December")  # fmt: skip
# A week page's sections, in the digest's own order.
SECTIONS = ((Rung.CERTIFIED, "New certifications"), (Rung.ACCEPTED, "Accepted papers"),
            (Rung.SUBMITTED, "New submissions"))  # fmt: skip
SECTION_OF = {rung: i for i, (rung, _) in enumerate(SECTIONS)}


def week_of(published: str) -> str:
    """The week of an ISO 8601 time in UTC (``2023-04-25T11:59:58+00:00`` → ``2023-04-30``)."""
    return _sunday(published[:10])


@lru_cache(maxsize=8192)  # a history has one date per digest: the cache turns 80,000 parses into 1,200
def _sunday(day: str) -> str:
    at = date.fromisoformat(day)
    return (at + timedelta(days=6 - at.weekday())).isoformat()


def page(week: str) -> str:
    """The week's page, relative to the output folder."""
    return f"{WEEKS_DIR}/{week}.html"


def label(week: str) -> str:
    """The days a week spans, as people write them: "24–30 April 2023", "29 May – 4 June 2023",
    "26 December 2022 – 1 January 2023"."""
    end = date.fromisoformat(week)
    start = end - timedelta(days=6)
    last = f"{end.day} {MONTHS[end.month - 1]} {end.year}"
    if start.month == end.month:
        return f"{start.day}–{last}"
    if start.year == end.year:
        return f"{start.day} {MONTHS[start.month - 1]} – {last}"
    return f"{start.day} {MONTHS[start.month - 1]} {start.year} – {last}"


def counts_text(certified: int, accepted: int, submitted: int) -> str:
    """A week's counts in words, for the index of weeks: "2 certifications · 9 accepted · 12 new submissions"."""
    parts = []
    if certified:
        parts.append(f"{certified} certification{'s' if certified != 1 else ''}")
    if accepted:
        parts.append(f"{accepted} accepted")
    if submitted:
        parts.append(f"{submitted} new submission{'s' if submitted != 1 else ''}")
    return " · ".join(parts)
