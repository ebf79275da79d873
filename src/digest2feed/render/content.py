"""An entry's body as HTML and as plain text, shared by every format.

Every piece of text from a digest goes through ``html.escape`` (or, with the
``math = "mathml"`` setting, the abstract through ``render.math``, which escapes
it and adds only the MathML it checked): nothing from the input is ever passed
through as markup.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape

from digest2feed.model import Entry, Rung
from digest2feed.render import bibtex
from digest2feed.render.math import html as math_html


def status_line(entry: Entry) -> str:
    return " · ".join(entry.categories if entry.certifications else (entry.rung.label,))


def shown_title(entry: Entry, status: bool = True) -> str:
    """The title a reader's list shows: the status first, where a narrow list still shows
    it, and where a sort by title keeps "Accepted: …" and "Certified (…): …" apart."""
    if not status or entry.rung is Rung.SUBMITTED:
        return entry.title
    if entry.rung is Rung.ACCEPTED:
        return f"Accepted: {entry.title}"
    names = ", ".join(c.removesuffix(" Certification") for c in entry.certifications)
    return f"Certified ({names}): {entry.title}" if names else f"Certified: {entry.title}"


def milestones_line(entry: Entry) -> str:
    return " · ".join(f"{rung.label} {at.date().isoformat()}" for rung, at in entry.milestones)


def paragraphs(abstract: str) -> list[list[str]]:
    """Blank lines part paragraphs; the authors' own line breaks are kept inside them."""
    out: list[list[str]] = [[]]
    for line in abstract.split("\n"):
        if line.strip():
            out[-1].append(line)
        elif out[-1]:
            out.append([])
    return [p for p in out if p]


@lru_cache(maxsize=1024)  # an entry is in up to nine files, a feed's three formats rendered one after another
def html(entry: Entry, math: str = "tex") -> str:
    """``math`` is the ``math`` setting: "tex" keeps the abstract's TeX as text, "mathml" typesets it."""
    parts = [f"<p><strong>{escape(status_line(entry))}</strong></p>"]
    if entry.authors:
        parts.append(f"<p>{escape(', '.join(entry.authors))}</p>")
    for para in paragraphs(entry.abstract or ""):
        if math == "mathml":
            parts.append("<p>" + math_html("\n".join(para), br=True) + "</p>")
        else:
            parts.append("<p>" + escape("\n".join(para)).replace("\n", "<br>\n") + "</p>")
    parts.append(f"<p>{escape(milestones_line(entry))}</p>")
    if cite := bibtex.entry(entry):
        parts.append(f"<pre>{escape(cite)}</pre>")
    parts.append(f'<p><a href="{escape(entry.url)}">OpenReview</a> · <a href="{escape(entry.pdf_url)}">PDF</a></p>')
    return "\n".join(parts)


def text(entry: Entry) -> str:
    parts = [status_line(entry)]
    if entry.authors:
        parts.append(", ".join(entry.authors))
    if entry.abstract:
        parts.append(entry.abstract)
    parts += [milestones_line(entry), f"OpenReview: {entry.url}\nPDF: {entry.pdf_url}"]
    if cite := bibtex.entry(entry):
        parts.append(cite)
    return "\n\n".join(parts)


def summary(entry: Entry) -> str | None:
    """The whole abstract as plain text, exactly as the digest gave it (TeX and line breaks
    kept), or None when the paper has none. Reference managers store the summary as the
    paper's abstract (README: Reference managers); the status is told by titles and categories."""
    return entry.abstract or None
