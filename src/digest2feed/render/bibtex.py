"""BibTeX for accepted and certified papers, in the form OpenReview gives TMLR papers.

OpenReview's own entries (openreview-py ``tools.get_bibtex``, and the entries it
publishes for TMLR papers) look like::

    @article{
    satija2023group,
    title={Group Fairness in Reinforcement Learning},
    author={Harsh Satija and Alessandro Lazaric and Matteo Pirotta and Joelle Pineau},
    journal={Transactions on Machine Learning Research},
    issn={2835-8856},
    year={2023},
    url={https://openreview.net/forum?id=JkIH4MeOc3},
    note={}
    }

The key is the first author's last word, the acceptance year and the title's first
word with everything but letters dropped (no article is skipped: "A Systematic …"
gives ``…2025a``), lower case. OpenReview turns accents into LaTeX in the key too;
here the key is folded to plain ASCII, which every BibTeX tool accepts. Runs of
capitals in the title are braced as OpenReview does (``{GOP}lan``), accents become
LaTeX accents, and ``&``, ``%``, ``#``, a lone ``$`` and unbalanced braces are escaped,
so any title stays valid BibTeX.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from digest2feed.model import Entry, Rung
from digest2feed.schema import ISSN, JOURNAL

ACCENTS = {
    "\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0304": "=", "\u0306": "u", "\u0307": ".",
    "\u0308": '"', "\u030a": "r", "\u030b": "H", "\u030c": "v", "\u0327": "c", "\u0328": "k",
}  # fmt: skip
LETTERS = {
    "ø": r"\o", "Ø": r"\O", "ß": r"\ss", "æ": r"\ae", "Æ": r"\AE", "œ": r"\oe", "Œ": r"\OE", "ł": r"\l", "Ł": r"\L",
}  # fmt: skip
FOLD = str.maketrans({"ø": "o", "ß": "ss", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "þ": "th"})
WORD = re.compile(r"(\\?[A-Za-z0-9]+)")
CAPITALS = re.compile(r"[A-Z]{2,}")
SPECIAL = re.compile(r"[{}&%#$]")  # what needs balancing or escaping; most titles and names hold none


@lru_cache(maxsize=4096)  # the content (HTML and text) of an entry and the page all show it
def entry(e: Entry) -> str | None:
    """The BibTeX entry of an accepted or certified paper; None for a submission."""
    if e.rung is Rung.SUBMITTED:
        return None
    lines = [
        "@article{",
        key(e) + ",",
        f"title={{{latex(e.title, capitals=True)}}},",
        f"author={{{' and '.join(latex(a) for a in e.authors) or 'Anonymous'}}},",
        f"journal={{{JOURNAL}}},",
        f"issn={{{ISSN}}},",
        f"year={{{year(e)}}},",
        f"url={{{e.url}}},",
        f"note={{{latex(', '.join(e.certifications))}}}",
        "}",
    ]
    return "\n".join(lines)


def year(e: Entry) -> int:
    """The year of acceptance (a certification seen without its acceptance: the certification's)."""
    dates = dict(e.milestones)
    return (dates.get(Rung.ACCEPTED) or e.published).year


def key(e: Entry) -> str:
    surname = e.authors[0].split()[-1] if e.authors and e.authors[0].split() else "anonymous"
    words = e.title.split()
    return _ascii(surname) + str(year(e)) + (_ascii(words[0]) if words else "")


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower()).translate(FOLD)
    return re.sub(r"[^a-z]", "", folded)


@lru_cache(maxsize=65536)  # authors recur across papers; a backfill builds 84,000 entries
def latex(text: str, capitals: bool = False) -> str:
    """Text as a braced BibTeX field value: balanced braces, LaTeX specials escaped."""
    if SPECIAL.search(text):
        text = _escaped(text)
    if capitals and CAPITALS.search(text):
        text = WORD.sub(lambda m: m[0] if m[0][0] == "\\" else CAPITALS.sub(r"{\g<0>}", m[0]), text)
    return text if text.isascii() else "".join(_accented(c) for c in _clusters(text))


def _escaped(text: str) -> str:
    if not _balanced(text):
        text = text.replace("{", "\x00").replace("}", "\x01")
        text = text.replace("\x00", r"\textbraceleft{}").replace("\x01", r"\textbraceright{}")
    text = re.sub(r"(?<!\\)([&%#])", r"\\\1", text)
    if len(re.findall(r"(?<!\\)\$", text)) % 2:
        text = re.sub(r"(?<!\\)\$", r"\\$", text)
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for c in text:
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


def _clusters(text: str) -> list[str]:
    """Each base character with the combining marks that follow it."""
    out: list[str] = []
    for c in unicodedata.normalize("NFD", text):
        if out and unicodedata.combining(c):
            out[-1] += c
        else:
            out.append(c)
    return out


def _accented(cluster: str) -> str:
    if cluster in LETTERS:
        return "{" + LETTERS[cluster] + "}"
    if len(cluster) == 1:
        return cluster
    base, marks = cluster[0], cluster[1:]
    if base.isascii() and base.isalpha() and all(m in ACCENTS for m in marks):
        inner = r"\i" if base == "i" else base
        for accent in (ACCENTS[m] for m in marks):  # \"o, but \c{c}: a letter command needs braces
            inner = f"\\{accent}{{{inner}}}" if accent.isalpha() else f"\\{accent}{inner}"
        return "{" + inner + "}"
    return unicodedata.normalize("NFC", cluster)


def unique(keys: list[tuple[str, str]]) -> list[str]:
    """(key, forum id) of a .bib file's entries, newest first → keys unique within the file: where
    papers share OpenReview's key, the one announced first (the last in the file) keeps it and
    each other adds its forum id (``satija2023group-JkIH4MeOc3``). OpenReview's keys hold no
    hyphen, so a key made so is taken back to OpenReview's first: the result depends only on the
    entries and their order, and a file made of entries kept from its last version (render/papers.py)
    gets the bytes of one rendered whole."""
    seen: set[str] = set()
    out: list[str] = []
    for k, forum in reversed(keys):
        base = k.split("-", 1)[0]
        out.append(base if base not in seen else f"{base}-{forum}")
        seen.add(base)
    return out[::-1]
