"""index.html: the newest papers for people, with a link to every feed.

Self-contained (no script, no external resource), every text escaped; the
abstract opens with <details>, which needs no JavaScript.
"""

from __future__ import annotations

from html import escape

from digest2feed.layout import Document
from digest2feed.model import Entry
from digest2feed.render import content

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
h2 { font-size: 1.15rem; margin: 0; }
header p, .meta { color: var(--muted); }
ul.feeds { padding-left: 1.2rem; }
ol.papers { list-style: none; padding: 0; }
article { border-top: 1px solid var(--muted); padding: .8rem 0; }
.badge { display: inline-block; background: var(--badge); border-radius: .3rem; padding: 0 .4rem;
         margin-right: .3rem; font-size: .85rem; }
details p { white-space: pre-line; overflow-wrap: anywhere; }
summary { cursor: pointer; }
"""


def _paper(e: Entry) -> str:
    badges = "".join(f'<span class="badge">{escape(c)}</span>' for c in (e.rung.label, *e.certifications))
    authors = f'<p class="meta">{escape(", ".join(e.authors))}</p>' if e.authors else ""
    abstract = ""
    if e.abstract:
        paras = "".join(f"<p>{escape(chr(10).join(p))}</p>" for p in content.paragraphs(e.abstract))
        abstract = f"<details><summary>Abstract</summary>{paras}</details>"
    return (
        f'<li><article><h2><a href="{escape(e.url)}">{escape(e.title)}</a></h2>'
        f'<p>{badges}<time datetime="{e.published:%Y-%m-%d}">{e.published:%Y-%m-%d}</time>'
        f' · <a href="{escape(e.pdf_url)}">PDF</a></p>{authors}{abstract}</article></li>'
    )


def render(doc: Document) -> bytes:
    discovery = "".join(
        f'<link rel="alternate" type="{MIME[fmt]}" title="{escape(f"{title} ({FORMAT_NAME[fmt]})")}"'
        f' href="{escape(href)}">\n'
        for title, href, fmt in doc.feeds
    )
    feeds = "".join(
        f'<li><a href="{escape(href)}">{escape(title)} ({FORMAT_NAME[fmt]})</a></li>' for title, href, fmt in doc.feeds
    )
    papers = "\n".join(_paper(e) for e in doc.entries) or "<li>No papers yet.</li>"
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(doc.title)}</title>
{discovery}<style>{STYLE}</style>
</head>
<body>
<header><h1>{escape(doc.title)}</h1><p>{escape(doc.subtitle)}</p></header>
<nav aria-label="Feeds"><h2>Subscribe</h2><ul class="feeds">{feeds}</ul></nav>
<main><h2>Newest papers</h2>
<ol class="papers">
{papers}
</ol></main>
<footer><p class="meta">Updated {doc.updated:%Y-%m-%d}.
Made by digest2feed from the TMLR mailing-list digests.</p></footer>
</body>
</html>
"""
    return page.encode("utf-8")
