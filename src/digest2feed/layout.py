"""Entry references + settings → the set of documents to write: which entries go in which file.

The retention rule lives here: each paper's newest entry is in the subscription
window (newest ``max_entries``); every other entry, past the window or superseded
by a higher rung, is in the RFC 5005 archive document of its month. Pure: the same
references and settings always give the same plan.

The plan works on ``Ref``s (identity, dates and the entry hash), not on
whole entries, so that a run can decide which files changed without loading the
content of the whole history; content is loaded only for the files to render.
"""

from __future__ import annotations

import posixpath
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

from digest2feed.filters import key as filters_key
from digest2feed.model import Rung
from digest2feed.schema import (
    ARCHIVE_DIR,
    BIB,
    FILE_NAMES,
    JOURNAL_URL,
    MAIN,
    OPML,
    PAGE,
    SEARCH_CODE,
    SEARCH_INDEX,
    WEEKS_INDEX,
)
from digest2feed.settings import Settings
from digest2feed.weeks import SECTION_OF, label, page, week_of

TMLR_START = "2022-01-01T00:00:00+00:00"  # a plausible "updated" for a feed with no papers yet
INDEX_ENTRIES = 100


# view → (label on the page, words for titles, which entries). A submission stays in its
# view after acceptance: that view reports submissions, and its readers saw that entry.
class Ref(NamedTuple):
    """An entry as the plan sees it: enough to place it, and a hash of what it shows.

    Times are ISO 8601 strings in UTC (``2023-04-30T12:00:00+00:00``), exactly as the
    state files hold them: they sort like the times they name, and a run that reads
    the whole history never has to turn them into datetimes.
    """

    published: str
    updated: str
    forum_id: str
    rung: Rung
    current: bool  # the paper's newest rung
    hash: str  # the entry hash: changes whenever what the entry shows would
    feeds: int = 0  # bit i set: the i-th feed of your own holds this entry (filters.py)


VIEW_TEXT: dict[str, tuple[str, str, Callable[[Ref], bool]]] = {
    "accepted": (
        "Accepted",
        "accepted papers, certified ones included",
        lambda e: e.current and e.rung >= Rung.ACCEPTED,
    ),
    "submissions": ("New submissions", "new submissions", lambda e: e.rung is Rung.SUBMITTED),
    "certified": ("Certified", "certified papers", lambda e: e.rung is Rung.CERTIFIED),
}


@dataclass(frozen=True)
class Document:
    path: str  # relative to the output folder, with "/"
    format: str  # atom, rss, json or html
    title: str
    subtitle: str
    refs: tuple[Ref, ...]
    feed_id: str
    self_url: str | None
    alternate_url: str
    updated: str  # ISO 8601, like Ref's
    links: tuple[tuple[str, str], ...] = ()  # (rel, href) beyond self and alternate
    archive: bool = False
    state: bool = False  # carries the merge state (atom.xml and archives)
    feeds: tuple[tuple[str, str, str, str], ...] = ()  # (label, title, href, format): the page's feed list
    status_titles: bool = False  # entry titles say "Accepted: …" (the state keeps them plain)
    filters_key: str = ""  # state files: the key of the filters whose bits the refs carry
    math: str = "tex"  # the math setting: how feed content shows TeX
    hubs: tuple[str, ...] = ()  # subscription feeds: the WebSub hubs they name (with their self link)
    weeks: tuple[tuple[str, int, int, int], ...] = ()  # the index of weeks: (week, certified, accepted, submitted)
    body: bool = True  # Atom: entries carry the HTML body as content (off: the views' and own feeds' Atom,
    # where an entry with an abstract gives it alone)


def archive_path(ref: Ref) -> str:
    return f"{ARCHIVE_DIR}/{ref.published[:7]}.xml"  # YYYY-MM


def plan(refs: list[Ref], settings: Settings) -> dict[str, Document]:
    # Newest first, then by forum id and rung: two stable sorts on C-level keys, since
    # this sorts the whole history. A digest's own order is kept by the seconds in published.
    every = sorted(refs, key=itemgetter(2, 3))
    every.sort(key=itemgetter(0), reverse=True)
    window = [e for e in every if e.current][: settings.max_entries]
    kept = {(e.forum_id, e.rung) for e in window}
    months: dict[str, list[Ref]] = {}
    for e in every:
        if (e.forum_id, e.rung) not in kept:
            months.setdefault(archive_path(e), []).append(e)
    out = _Plan(settings, max((e.updated for e in every), default=TMLR_START))
    listed = _subscriptions(out, every, window, sorted(months))
    _archives(out, months)
    out.add(OPML, "opml", settings.title, settings.subtitle, [], feeds=listed)
    if settings.html:
        links = (("outline", out.href(PAGE, OPML)), ("weeks", WEEKS_INDEX), ("search", SEARCH_CODE))
        out.add(PAGE, "html", settings.title, settings.subtitle, window[:INDEX_ENTRIES], feeds=listed, links=links)
        _site(every, settings, out.add)
    return out.docs


class _Plan:
    """The documents planned so far, and what every one of them takes from the settings."""

    def __init__(self, settings: Settings, newest: str) -> None:
        self.settings, self.newest = settings, newest  # never "now": an empty view still has a stable date
        self.docs: dict[str, Document] = {}
        self.filters_key = filters_key(settings.feeds)
        # Every feed's alternate link (and OPML's htmlUrl): our page, but only where one is written.
        self.page_url = settings.base_url if settings.base_url and settings.html else JOURNAL_URL

    def add(self, path: str, fmt: str, title: str, subtitle: str, entries: list[Ref], **extra) -> None:
        s = self.settings
        extra.setdefault("updated", max((e.updated for e in entries), default=self.newest))
        styles = {"math": s.math, "status_titles": s.status_in_title} | extra
        self.docs[path] = Document(
            path=path,
            format=fmt,
            title=title,
            subtitle=subtitle,
            refs=tuple(entries),
            feed_id=_feed_id(s, path),
            self_url=s.base_url + path if s.base_url else None,
            alternate_url=self.page_url,
            filters_key=self.filters_key if extra.get("state") else "",
            **styles,
        )

    def href(self, src: str, dst: str) -> str:
        if self.settings.base_url:
            return self.settings.base_url + dst
        return posixpath.relpath(dst, posixpath.dirname(src) or ".")


def _subscriptions(out: _Plan, every: list[Ref], window: list[Ref], chain: list[str]) -> tuple:
    """The main feed, the views and the feeds of your own, each in every format with its
    papers.bib; what OPML and the page list of them."""
    settings = out.settings
    views = [("", "All papers", settings.title, settings.subtitle, window)]
    for view in settings.views:
        label, what, keep = VIEW_TEXT[view]
        chosen = [e for e in every if keep(e)][: settings.max_entries]
        views.append((view + "/", label, f"{settings.title}: {what}", f"{settings.subtitle}: {what} only", chosen))
    for feed, chosen in zip(settings.feeds, _own(every, len(settings.feeds), settings.max_entries), strict=True):
        title = feed.title or f"{settings.title}: {feed.name}"
        views.append((feed.name + "/", title, title, f"{settings.subtitle}; this feed: {feed.describe()}", chosen))
    cited = _cited(every, settings)
    feeds: list[tuple[str, str, str, str]] = []
    for folder, label, title, subtitle, entries in views:
        if folder:  # the views and your own feeds; the main feed's would be the accepted view's again
            out.add(folder + BIB, "bib", title, subtitle, cited[folder], math="tex", status_titles=False)
        for fmt in settings.formats:
            path = folder + FILE_NAMES[fmt]
            # The status in titles only where one feed holds several rungs of a paper: the views and
            # your own feeds show a paper once, with its exact title, as reference managers take it.
            extra: dict = {"status_titles": False} if folder else {}
            if folder and fmt == "atom":
                # No HTML body: Zotero 7 stores an Atom entry's content as the abstract, so these
                # Atom files, meant for reference managers, give only the summary (as arXiv's Atom).
                extra["body"] = False
            if not folder and fmt == "atom":
                extra = {"state": True}
                if chain:
                    extra["links"] = (("prev-archive", out.href(path, chain[-1])),)
            out.add(path, fmt, title, subtitle, entries, hubs=settings.hub, **extra)
            feeds.append((label, title, path, fmt))
    return tuple((label, t, out.href(OPML, p), f) for label, t, p, f in feeds)  # OPML and page: both at the top


def _archives(out: _Plan, months: dict[str, list[Ref]]) -> None:
    """An RFC 5005 archive document per month, chained to each other and to the feed."""
    chain = sorted(months)
    for i, path in enumerate(chain):
        links = [("current", out.href(path, MAIN))]
        if i > 0:
            links.append(("prev-archive", out.href(path, chain[i - 1])))
        # The newest archive's next document is the subscription feed itself: a lone archive
        # then still has a chain link, which the W3C validator asks of every archive.
        links.append(("next-archive", out.href(path, chain[i + 1] if i + 1 < len(chain) else MAIN)))
        month = path[len(ARCHIVE_DIR) + 1 : -len(".xml")]
        title = f"{out.settings.title}: archive {month}"
        out.add(path, "atom", title, out.settings.subtitle, months[path], links=tuple(links), archive=True, state=True)


def _cited(every: list[Ref], settings: Settings) -> dict[str, list[Ref]]:
    """Each view's and own feed's papers.bib: every paper the feed holds, in its window or past
    it, that is now accepted or certified, by its current entry, newest first (the accepted
    view: every such paper; submissions: those whose submission was announced)."""
    cited = [e for e in every if e.current and e.rung >= Rung.ACCEPTED]
    out = {}
    for view in settings.views:
        if view == "submissions":
            submitted = {e.forum_id for e in every if e.rung is Rung.SUBMITTED}
            out[view + "/"] = [e for e in cited if e.forum_id in submitted]
        else:
            out[view + "/"] = [e for e in cited if VIEW_TEXT[view][2](e)]
    own: list[list[Ref]] = [[] for _ in settings.feeds]
    for e in cited:
        bits = e.feeds
        while bits:
            low = bits & -bits
            bits ^= low
            own[low.bit_length() - 1].append(e)
    out |= {feed.name + "/": chosen for feed, chosen in zip(settings.feeds, own, strict=True)}
    return out


def _site(every: list[Ref], settings: Settings, add: Callable[..., None]) -> None:
    """A page per digest week (its papers by section, in the digest's order), the index of weeks,
    and the search over the whole history: what ``html = true`` adds beside index.html. Their
    links are relative: the pages work wherever the folder is served or opened."""
    by_week: dict[str, list[list[Ref]]] = {}  # week → its entries by section (weeks.SECTIONS)
    day_week: dict[str, list[list[Ref]]] = {}  # a day's date → its week's sections: one lookup per entry
    current = []
    for e in every:  # one pass over the whole history
        sections = day_week.get(e.published[:10])
        if sections is None:
            sections = day_week[e.published[:10]] = by_week.setdefault(week_of(e.published), [[], [], []])
        sections[SECTION_OF[e.rung]].append(e)
        if e.current:
            current.append(e)
    names = sorted(by_week, reverse=True)
    counts = []
    for i, week in enumerate(names):
        sections = by_week[week]
        links = [("index", "../index.html"), ("up", "index.html")]
        if i + 1 < len(names):
            links.append(("prev", f"{names[i + 1]}.html"))
        if i:
            links.append(("next", f"{names[i - 1]}.html"))
        title = f"{settings.title}: the week of {label(week)}"
        add(page(week), "week", title, settings.subtitle, [e for s in sections for e in s], links=tuple(links))
        counts.append((week, *map(len, sections)))
    add(WEEKS_INDEX, "weeks", f"{settings.title}: every week", settings.subtitle, [], weeks=tuple(counts))
    add(SEARCH_INDEX, "search", settings.title, settings.subtitle, current)
    # The search folds text as filters.fold does, with tables from Python's Unicode data: a new
    # Python with a new Unicode version gives a new search.js.
    add(SEARCH_CODE, "js", settings.title, f"Unicode {unicodedata.unidata_version}", [], updated=TMLR_START)


def _own(every: list[Ref], count: int, limit: int) -> list[list[Ref]]:
    """The entries of each feed of your own, newest first: one pass over the history, which
    only looks further at the few entries some feed holds."""
    chosen: list[list[Ref]] = [[] for _ in range(count)]
    full = 0
    for e in every:
        bits = e.feeds & ~full if e.current else 0
        while bits:
            low = bits & -bits
            bits ^= low
            feed = chosen[low.bit_length() - 1]
            feed.append(e)
            if len(feed) == limit:
                full |= low
        if full.bit_count() == count:  # every window is full: the rest of the history is older
            break
    return chosen


def _feed_id(settings: Settings, path: str) -> str:
    if settings.base_url:
        return settings.base_url + path
    return uuid.uuid5(uuid.NAMESPACE_URL, f"digest2feed:{settings.title}:{path}").urn
