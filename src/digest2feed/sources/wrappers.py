"""Google Groups wrappers: one "Digest for …" or "Abridged summary of …" e-mail holding several messages.

The text part opens with a ruled "Today's Topic Summary" banner and a topic list; then
each topic has a ruled `Topic:` / `Url:` header, and each of its messages a
`---------- 1 of 2 ----------` line, a `From:` / `Date:` / `Url:` block and the body.
Each body is one TMLR digest, dated by its topic (the digest's own Subject). An
abridged summary cuts every body short, so its parts carry a hint for the warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RULE_RE = re.compile(r"={20,}")
BANNER = "Today's Topic Summary"
MESSAGE_RE = re.compile(r"-{5,} \d+ of \d+ -{5,}")
ABRIDGED_RE = re.compile(r"\bAbridged summary of\b", re.I)
ABRIDGED_HINT = (
    'an abridged summary cuts every message short: set your Google Groups subscription to "All email" '
    '(or "Digest") to get every paper'
)


@dataclass(frozen=True)
class Part:
    topic: str | None  # the Subject of the message inside: the digest's title
    body: str


def is_abridged(subject: str | None) -> bool:
    return bool(subject and ABRIDGED_RE.search(subject))


def split(text: str) -> list[Part] | None:
    """The messages inside a wrapper's text part, or None when ``text`` is not a wrapper (or
    one in a layout this does not know: then it is read whole, never dropped)."""
    lines = text.replace("\r\n", "\n").split("\n")
    opening = [x for x in (line.strip() for line in lines[:20]) if x and not RULE_RE.fullmatch(x)]
    if not opening or opening[0].casefold() != BANNER.casefold():  # the rules around it are not required
        return None
    parts: list[Part] = []
    topic: str | None = None
    i = 0
    while i < len(lines):
        if _topic_at(lines, i):
            topic = lines[i + 1].split(":", 1)[1].strip() or None
            i += 2
        elif MESSAGE_RE.fullmatch(lines[i].strip()):
            i += 1
            while i < len(lines) and lines[i].strip():  # From:, Date:, Url:
                i += 1
            start = i
            while i < len(lines) and not (MESSAGE_RE.fullmatch(lines[i].strip()) or _topic_at(lines, i)):
                i += 1
            parts.append(Part(topic, "\n".join(lines[start:i]).strip("\n") + "\n"))
        else:
            i += 1
    return parts or None  # a layout without message markers is read as one text, as before


def _topic_at(lines: list[str], i: int) -> bool:
    """A topic header: a rule, then `Topic: …`. Digest section underlines are never followed by that."""
    return RULE_RE.fullmatch(lines[i].strip()) is not None and i + 1 < len(lines) and lines[i + 1].startswith("Topic:")
