"""index.html: the newest papers for people, by week, with a link to every feed.

Self-contained (no external resource), every text escaped, and the mathematics of
titles and abstracts typeset as MathML (``render.math``); the abstract opens with
<details>, which needs no JavaScript. The one script, search.js (render/search.py),
only adds the search box: without it the page and the week pages still lead
everywhere. ``paper`` and ``shell`` are shared with the week pages (render/weeks.py).
"""

from __future__ import annotations

from html import escape

from digest2feed.layout import Document
from digest2feed.model import Entry
from digest2feed.render import bibtex, content, math
from digest2feed.render.stamp import xml_stamp
from digest2feed.weeks import label as week_label
from digest2feed.weeks import page as week_page
from digest2feed.weeks import week_of

MIME = {"atom": "application/atom+xml", "rss": "application/rss+xml", "json": "application/feed+json"}
FORMAT_NAME = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}

STYLE = """
:root { color-scheme: light dark; --fg: #1a1a1a; --bg: #fff; --muted: #4a4a4a; --accent: #0b57a4; --badge: #e3ebf6; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #eee; --bg: #151515; --muted: #c4c4c4; --accent: #8cc4ff; --badge: #243042; }
}
body { font: 1rem/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg);
       margin: 0 auto; max-width: 48rem; padding: 1rem; }
a { color: var(--accent); }
h1 { font-size: 1.6rem; margin: .2em 0; }
h2 { font-size: 1.25rem; margin: 1rem 0 .3rem; }
h3 { font-size: 1.1rem; margin: 0; }
header p, .meta { color: var(--muted); }
table.feeds { border-collapse: collapse; margin: .5rem 0 1.5rem; }
table.feeds th, table.feeds td { text-align: left; padding: .25rem .6rem .25rem 0; }
.vh { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
ol.papers { list-style: none; padding: 0; }
article { border-top: 1px solid var(--muted); padding: .8rem 0; }
.badge { display: inline-block; background: var(--badge); border-radius: .3rem; padding: 0 .4rem;
         margin-right: .3rem; font-size: .85rem; }
details p { white-space: pre-line; overflow-wrap: anywhere; }
summary { cursor: pointer; }
math { font-size: 1.15em; }
math[display="block"] { overflow-x: auto; max-width: 100%; }
code.tex { font-size: .9em; }
pre { overflow-x: auto; font-size: .85rem; }
h3 a { overflow-wrap: anywhere; }
nav.weeks { display: flex; flex-wrap: wrap; justify-content: space-between; gap: .5rem 1rem; margin: 1rem 0; }
ol.weeks { padding-left: 0; list-style: none; }
ol.weeks li { padding: .2rem 0; }
#search input { font: inherit; width: 100%; max-width: 30rem; box-sizing: border-box; padding: .3rem .5rem; }
#results button { font: inherit; margin: .3rem 0 1rem; padding: .2rem .8rem; }
"""


def paper(e: Entry) -> str:
    """One paper as index.html and the week pages show it."""
    badges = "".join(f'<span class="badge">{escape(c)}</span>' for c in (e.rung.label, *e.certifications))
    authors = f'<p class="meta">{escape(", ".join(e.authors))}</p>' if e.authors else ""
    abstract = ""
    if e.abstract:
        paras = "".join(f"<p>{math.html(chr(10).join(p))}</p>" for p in content.paragraphs(e.abstract))
        abstract = f"<details><summary>Abstract</summary>{paras}</details>"
    abstract += _bibtex(e)
    return (
        f'<li><article><h3><a href="{escape(e.url)}">{math.html(e.title)}</a></h3>'
        f'<p>{badges}<time datetime="{e.published:%Y-%m-%d}">{e.published:%Y-%m-%d}</time>'
        f' · <a href="{escape(e.pdf_url)}">PDF</a></p>{authors}{abstract}</article></li>'
    )


def _bibtex(e: Entry) -> str:
    cite = bibtex.entry(e)
    return f"<details><summary>BibTeX</summary><pre>{escape(cite)}</pre></details>" if cite else ""


def _outline(doc: Document) -> str:
    """The link to feeds.opml, every feed in one file for a reader's import."""
    return "".join(
        f'<p><a href="{escape(href)}" type="text/x-opml">All feeds as OPML</a>,'
        " to import them into a reader at once.</p>"
        for rel, href in doc.links
        if rel == "outline"
    )


def _feed_table(doc: Document) -> str:
    """One row per view, one column per format: compact enough for a phone."""
    formats = list(dict.fromkeys(fmt for *_, fmt in doc.feeds))
    rows: dict[str, dict[str, str]] = {}
    for label, _, href, fmt in doc.feeds:
        rows.setdefault(label, {})[fmt] = href
    head = "".join(f'<th scope="col">{FORMAT_NAME[f]}</th>' for f in formats)
    body = "".join(
        f'<tr><th scope="row">{escape(label)}</th>'
        + "".join(
            f'<td><a href="{escape(hrefs[f])}" type="{MIME[f]}">{FORMAT_NAME[f]}'
            f'<span class="vh"> feed: {escape(label)}</span></a></td>'
            for f in formats
        )
        + "</tr>"
        for label, hrefs in rows.items()
    )
    return f'<table class="feeds"><thead><tr><th scope="col">Feed</th>{head}</tr></thead><tbody>{body}</tbody></table>'


def shell(doc: Document, body: str, head: str = "") -> str:
    """The HTML document every page shares: language, viewport, title, the one style sheet, and
    an empty icon, so that browsers ask for no /favicon.ico (a 404 there is a console error)."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{escape(doc.title)}</title>
{head}<style>{STYLE}</style>
</head>
<body>
{body}
<footer><p class="meta">Updated {doc.updated[:10]}.
Made by digest2feed from the TMLR mailing-list digests.</p></footer>
</body>
</html>
"""


def _by_week(doc: Document, entries: list[Entry]) -> str:
    """The newest papers under a heading per week, each linking to its week page."""
    if not entries:
        return '<ol class="papers"><li>No papers yet.</li></ol>'
    groups: dict[str, list[str]] = {}
    for e in entries:
        groups.setdefault(week_of(e.published.isoformat()), []).append(paper(e))
    return "\n".join(
        f'<section aria-labelledby="w{week}"><h2 id="w{week}"><a href="{escape(week_page(week))}">'
        f"The week of {week_label(week)}</a></h2>\n"
        f'<ol class="papers">\n{chr(10).join(papers)}\n</ol></section>'
        for week, papers in groups.items()
    )


def _search(doc: Document) -> str:
    """The search box, hidden until search.js shows it: without JavaScript there is no box."""
    code = dict(doc.links).get("search")
    if not code:
        return ""
    return (
        f'<section id="search" aria-labelledby="search-h" hidden><h2 id="search-h">Search every week</h2>\n'
        '<form role="search" action="" method="get"><p><label for="q">Words of a title, an author or a'
        ' certification</label><br><input type="search" id="q" name="q" autocomplete="off" spellcheck="false">'
        '</p></form>\n<div id="results" aria-live="polite"></div></section>\n'
        f'<script src="{escape(code)}" defer></script>\n'
    )


def render(doc: Document, entries: list[Entry], stamp: str) -> bytes:
    discovery = "".join(
        f'<link rel="alternate" type="{MIME[fmt]}" title="{escape(f"{title} ({FORMAT_NAME[fmt]})")}"'
        f' href="{escape(href)}">\n'
        for _, title, href, fmt in doc.feeds
    )
    weeks = dict(doc.links).get("weeks")
    every = f'\n<p><a href="{escape(weeks)}">Every week of TMLR</a>, each on a page of its own.</p>' if weeks else ""
    body = f"""<header><h1>{escape(doc.title)}</h1><p>{escape(doc.subtitle)}</p>{every}</header>
{_search(doc)}<nav aria-labelledby="subscribe"><h2 id="subscribe">Subscribe</h2>
<p>Copy a link into your feed reader.</p>
{_feed_table(doc)}
{_outline(doc)}</nav>
<main aria-label="Newest papers">
{_by_week(doc, entries)}
</main>"""
    return shell(doc, body, discovery).encode("utf-8") + xml_stamp(doc, stamp)
