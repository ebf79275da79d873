"""An entry's body as HTML and as plain text, shared by every format.

Every piece of text from a digest goes through ``html.escape`` (or, with the
``math = "mathml"`` setting, the abstract through ``render.math``, which escapes
it and adds only the MathML it checked): nothing from the input is ever passed
through as markup.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape

from digest2feed.model import Entry
from digest2feed.render.math import html as math_html

SUMMARY_CHARS = 300


def status_line(entry: Entry) -> str:
    return " · ".join(entry.categories if entry.certifications else (entry.rung.label,))


def milestones_line(entry: Entry) -> str:
    return " · ".join(f"{rung.label} {at:%Y-%m-%d}" for rung, at in entry.milestones)


def paragraphs(abstract: str) -> list[list[str]]:
    """Blank lines part paragraphs; the authors' own line breaks are kept inside them."""
    out: list[list[str]] = [[]]
    for line in abstract.split("\n"):
        if line.strip():
            out[-1].append(line)
        elif out[-1]:
            out.append([])
    return [p for p in out if p]


@lru_cache(maxsize=4096)  # one entry is in up to nine files: main and views, three formats each
def html(entry: Entry, math: str = "tex") -> str:
    """``math`` is the ``math`` setting: "tex" keeps the abstract's TeX as text, "mathml" typesets it."""
    parts = [f"<p><strong>{escape(status_line(entry))}</strong></p>"]
    if entry.authors:
        parts.append(f"<p>{escape(', '.join(entry.authors))}</p>")
    for para in paragraphs(entry.abstract or ""):
        if math == "mathml":
            parts.append("<p>" + math_html("\n".join(para), br=True) + "</p>")
        else:
            parts.append("<p>" + "<br>\n".join(escape(line) for line in para) + "</p>")
    parts.append(f"<p>{escape(milestones_line(entry))}</p>")
    parts.append(f'<p><a href="{escape(entry.url)}">OpenReview</a> · <a href="{escape(entry.pdf_url)}">PDF</a></p>')
    return "\n".join(parts)


def text(entry: Entry) -> str:
    parts = [status_line(entry)]
    if entry.authors:
        parts.append(", ".join(entry.authors))
    if entry.abstract:
        parts.append(entry.abstract)
    parts += [milestones_line(entry), f"OpenReview: {entry.url}\nPDF: {entry.pdf_url}"]
    return "\n\n".join(parts)


def summary(entry: Entry) -> str:
    """A short plain-text teaser: the status, then the abstract cut at a word."""
    head = status_line(entry)
    if not entry.abstract:
        return head
    # Only the start is needed: splitting whole abstracts showed up in the profile.
    flat = " ".join(entry.abstract[: SUMMARY_CHARS * 2].split())
    if len(flat) > SUMMARY_CHARS or len(entry.abstract) > SUMMARY_CHARS * 2:
        flat = flat[:SUMMARY_CHARS].rsplit(" ", 1)[0] + " …"
    return f"{head}. {flat}"
