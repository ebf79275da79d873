"""Feeds of your own: the ``[[feeds]]`` tables as data, and the predicate they stand for
(settings.py checks the tables).

Semantics: within one key any value matches, across keys all must match, an absent
key does not filter. Phrases match whole words, case-insensitively, with accents and
Unicode compatibility forms folded (NFKD, combining marks dropped, casefold): "Joëlle"
= "Joelle", "ﬁ" = "fi". LaTeX is matched as written.

A feed holds the entries the main feed would hold (each paper's newest rung) that
its filters match. Membership is a bit per feed, computed when a paper's entries are
built and stored beside each entry in the state (see ``render/stamp.py``), so a run
need not read the whole history to know which papers a feed holds; ``key``
names the filters, and a state written under other filters is evaluated afresh.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from digest2feed.model import Entry, Rung

STATUSES = {r.slug: r for r in Rung}
WORD = re.compile(r"\w")
BITS = "2"  # what a stored bit means; a new value makes the next run evaluate every entry again


@dataclass(frozen=True)
class Feed:
    """One ``[[feeds]]`` table as written (values stripped, order kept)."""

    name: str
    title: str | None = None
    match: tuple[str, ...] = ()  # phrases in the title or abstract
    exclude: tuple[str, ...] = ()  # phrases that keep a paper out
    authors: tuple[str, ...] = ()
    status: tuple[str, ...] = ()  # rungs: submitted, accepted, certified
    certifications: tuple[str, ...] = ()

    def describe(self) -> str:
        """The filters in words, for the feed's subtitle and the page."""
        parts = []
        if self.match:
            parts.append("title or abstract mentions " + _either(self.match))
        if self.exclude:
            parts.append("not " + _either(self.exclude))
        if self.authors:
            parts.append("by " + _either(self.authors, quote=False))
        if self.status:
            parts.append(" or ".join(self.status))
        if self.certifications:
            parts.append("with " + _either(self.certifications, quote=False))
        return "; ".join(parts) or "every paper"


def _either(values: tuple[str, ...], quote: bool = True) -> str:
    return " or ".join(f"“{v}”" if quote else v for v in values)


def fold(text: str) -> str:
    """Accents and compatibility forms folded, case folded: what phrases are compared on."""
    if text.isascii():
        return text.lower()  # the same as casefold for ASCII, and most text is
    decomposed = unicodedata.normalize("NFKD", text)
    marks = {ord(c): None for c in set(decomposed) if unicodedata.combining(c)}
    return decomposed.translate(marks).casefold()


def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """Any of ``phrases``; any run of white space matches a space. Whole words are checked
    by ``_found``: a look-behind here would stop re from scanning for the literal start,
    which made every search forty times slower."""
    return re.compile("|".join(r"\s+".join(map(re.escape, fold(p).split())) for p in phrases))


def _found(pattern: re.Pattern[str], text: str) -> bool:
    """A match of ``pattern`` in ``text`` with no word character just before or after it."""
    at = pattern.search(text)
    while at is not None:
        start, end = at.span()
        if (start == 0 or not WORD.match(text, start - 1)) and not WORD.match(text, end):
            return True
        at = pattern.search(text, start + 1)  # an overlapping match may still stand alone
    return False


class Predicate:
    """One feed's filters, compiled once."""

    def __init__(self, feed: Feed) -> None:
        self.match = _pattern(feed.match) if feed.match else None
        self.exclude = _pattern(feed.exclude) if feed.exclude else None
        self.authors = _pattern(feed.authors) if feed.authors else None
        self.certifications = _pattern(feed.certifications) if feed.certifications else None
        self.status = {STATUSES[s] for s in feed.status} if feed.status else None

    def __call__(self, text: str, authors: list[str], rung: Rung, certifications: list[str]) -> bool:
        """``text`` (title and abstract), ``authors`` and ``certifications`` are folded."""
        return (
            (self.status is None or rung in self.status)
            and (self.match is None or _found(self.match, text))
            and (self.exclude is None or not _found(self.exclude, text))
            and (self.authors is None or any(_found(self.authors, a) for a in authors))
            and (self.certifications is None or any(_found(self.certifications, c) for c in certifications))
        )


class Filters:
    """Every custom feed's predicate; ``mask(entry)`` has bit i set when feed i holds the entry."""

    def __init__(self, feeds: tuple[Feed, ...]) -> None:
        self.feeds = feeds
        self.predicates = [Predicate(f) for f in feeds]
        self.key = key(feeds)

    def mask(self, e: Entry) -> int:
        """Bit i set when feed i's filters match ``e``, whatever rung the paper has climbed to since:
        the layout shows only current entries, and bits that held still keep a promotion from
        rewriting the archives that hold the paper's older entries."""
        if not self.predicates:
            return 0
        # Title and abstract parted by NUL, which neither \s nor \w matches: a phrase never spans them.
        text = fold(e.title + "\0" + (e.abstract or ""))
        authors = [fold(a) for a in e.authors]
        certs = [fold(c) for c in e.certifications]
        bits = 0
        for i, keep in enumerate(self.predicates):
            if keep(text, authors, e.rung, certs):
                bits |= 1 << i
        return bits


@lru_cache(maxsize=8)
def compiled(feeds: tuple[Feed, ...]) -> Filters:
    return Filters(feeds)


def key(feeds: tuple[Feed, ...]) -> str:
    """Names the filters (and their order, which gives the bits): "" when there are none."""
    if not feeds:
        return ""
    spec = repr([BITS, *((f.name, f.match, f.exclude, f.authors, f.status, f.certifications) for f in feeds)])
    return hashlib.sha256(spec.encode()).hexdigest()[:16]
