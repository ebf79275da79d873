"""The week pages and the index of weeks: the whole history for people without a feed reader.

A week page shows the papers announced in one digest week (``digest2feed.weeks``), by
section in the digest's own order, each as index.html shows it (``page.paper``), with
links to the weeks before and after it. The index of weeks lists every week, newest
first, with its counts. Every text is escaped, and no page holds a script.
"""

from __future__ import annotations

from html import escape
from itertools import groupby

from digest2feed.layout import Document
from digest2feed.model import Entry
from digest2feed.render.page import paper, shell
from digest2feed.render.stamp import xml_stamp
from digest2feed.weeks import SECTIONS, counts_text, label

SLUGS = {rung: rung.slug for rung, _ in SECTIONS}


def week(doc: Document, entries: list[Entry], stamp: str) -> bytes:
    """One week's page; ``entries`` come by section (the plan's order), each section in the digest's order."""
    links = dict(doc.links)
    week_name = doc.path.rpartition("/")[2].removesuffix(".html")
    counts = {rung: 0 for rung, _ in SECTIONS}
    sections = []
    for rung, group in groupby(entries, key=lambda e: e.rung):
        papers = [paper(e) for e in group]
        counts[rung] = len(papers)
        heading = dict(SECTIONS)[rung]
        sections.append(
            f'<section aria-labelledby="{SLUGS[rung]}"><h2 id="{SLUGS[rung]}">{heading}</h2>\n'
            f'<ol class="papers">\n{chr(10).join(papers)}\n</ol></section>'
        )
    total = sum(counts.values())
    summary = f"{total} paper{'s' if total != 1 else ''}: {counts_text(*counts.values())}"
    body = f"""<header><p>{_home(links)}</p>
<h1>The week of {label(week_name)}</h1>
<p class="meta">{summary}</p></header>
{_neighbours(links, "top")}
<main aria-label="Papers of the week">
{chr(10).join(sections)}
</main>
{_neighbours(links, "bottom")}"""
    return shell(doc, body).encode("utf-8") + xml_stamp(doc, stamp)


def index(doc: Document, entries: list[Entry], stamp: str) -> bytes:
    """Every week, newest first, under a heading per year (the year its Sunday falls in)."""
    years = []
    for year, group in groupby(doc.weeks, key=lambda w: w[0][:4]):
        items = "\n".join(
            f'<li><a href="{name}.html">{label(name)}</a> <span class="meta">{counts_text(c, a, s)}</span></li>'
            for name, c, a, s in group
        )
        heading = f'<h2 id="y{year}">{year}</h2>'
        years.append(f'<section aria-labelledby="y{year}">{heading}\n<ol class="weeks">\n{items}\n</ol></section>')
    count = len(doc.weeks)
    body = f"""<header><p><a href="../index.html">The newest papers</a></p>
<h1>Every week</h1>
<p class="meta">{count} week{"s" if count != 1 else ""} of TMLR digests, the newest first.</p></header>
<main aria-label="Weeks">
{chr(10).join(years) or "<p>No digest yet.</p>"}
</main>"""
    return shell(doc, body).encode("utf-8") + xml_stamp(doc, stamp)


def _home(links: dict[str, str]) -> str:
    return f'<a href="{escape(links["index"])}">The newest papers</a> · <a href="{escape(links["up"])}">Every week</a>'


def _neighbours(links: dict[str, str], where: str) -> str:
    """Links to the week before and the week after (older on the left, as on a calendar)."""
    parts = []
    if "prev" in links:
        prev = links["prev"].removesuffix(".html")
        parts.append(f'<a rel="prev" href="{escape(links["prev"])}">← {label(prev)}</a>')
    else:
        parts.append("<span>The first week</span>")
    if "next" in links:
        nxt = links["next"].removesuffix(".html")
        parts.append(f'<a rel="next" href="{escape(links["next"])}">{label(nxt)} →</a>')
    else:
        parts.append("<span>The newest week</span>")
    return f'<nav class="weeks" aria-label="Weeks before and after ({where})">{"".join(parts)}</nav>'
