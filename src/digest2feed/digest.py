"""Digest text → Digest: the TMLR digest format, as pure functions with no I/O.

The format is line-oriented: `=`-underlined section headings, entries ended by a
`---` line, labelled fields (`Title:`, `Authors:`, `Abstract:`, `URL:`) or, in the
certifications section, unlabelled paragraphs. Anything around the digest (web
page furniture, mail footers) is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

from dateutil import parser as dateparser

from digest2feed.model import Announcement, Digest, Problem, Rung

TITLE_RE = re.compile(r"\b(Weekly|Daily) TMLR digest for ([A-Z][a-z]{2,8}\.? \d{1,2}, \d{4})", re.IGNORECASE)
FORUM_RE = re.compile(r"https?://openreview\.net/forum\?id=([A-Za-z0-9_-]+)")
LABEL_RE = re.compile(r"(Title|Authors|Abstract|URL):[ \t]?(.*)")
LABELS = ("Title", "Authors", "Abstract", "URL")
SECTIONS = {
    "new certifications": Rung.CERTIFIED,
    "accepted papers": Rung.ACCEPTED,
    "new submissions": Rung.SUBMITTED,
}
# XML 1.0 cannot hold these; removing them here keeps every later layer simple.
ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Bounds on what one entry may hold, far above any real digest (the sample's largest: a title of
# 116 characters, an abstract of 2,519, five authors of at most 26 characters, 24 entries;
# OpenReview caps abstracts at 5,000), so that what one run stores the next can read (README).
MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 500
MAX_NAME = 200  # an author's or a certification's name
MAX_CERTIFICATIONS = 20
MAX_ENTRIES = 2_000  # per digest
# The text of one digest (a weekly one is ~40,000 characters; one of 150 entries would be
# 400,000): what an input may hold in bytes is larger (sources.MAX_TEXT), since a saved page or
# an e-mail carries markup and encodings around its text. Memory follows this one (README).
MAX_DIGEST = 2 * 1024 * 1024
C0_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])  # ILLEGAL_RE's characters below U+0080


class NotADigest(ValueError):
    """The input holds no TMLR digest; ``problem`` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class TooLarge(NotADigest):
    """The text is longer than any digest: said even where a non-digest would be skipped quietly."""


def clean_text(text: str) -> str:
    """Unify line ends and drop characters that no XML document may contain."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    return text if _legal(text) else ILLEGAL_RE.sub("", text)


def _legal(text: str) -> bool:
    """Whether ``text`` holds nothing ILLEGAL_RE matches. The regular expression visits every
    character in Python's matcher (a twentieth of a backfill); this asks C loops over the
    UTF-8 bytes, where U+FFFE and U+FFFF can only be these sequences, and a surrogate fails."""
    try:
        data = text.encode()
    except UnicodeEncodeError:
        return False
    no_c0 = len(data.translate(None, C0_BYTES)) == len(data)
    return no_c0 and b"\xef\xbf\xbe" not in data and b"\xef\xbf\xbf" not in data


def title_date(text: str) -> tuple[datetime, str] | None:
    """The (UTC day, kind) a digest title line or Subject names, if it names one."""
    m = TITLE_RE.search(text)
    if not m:
        return None
    try:
        day = dateparser.parse(m.group(2).replace(".", ""))
    except (ValueError, OverflowError):
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC), m.group(1).lower()


def parse_digest(text: str, source: str, subject: str | None = None, sent: datetime | None = None) -> Digest:
    """Parse one digest; ``subject`` and ``sent`` (the Date header) date it when its text cannot."""
    if len(text) > MAX_DIGEST:
        why = f"holds {len(text):,} characters of text, more than the {MAX_DIGEST:,} of any digest; skipped"
        raise TooLarge(Problem(source, why))
    lines = clean_text(text).split("\n")
    headings = list(_headings(lines))
    dated = title_date("\n".join(lines[:200])) or (subject and title_date(subject)) or None
    known = [h for h in headings if h[1].lower() in SECTIONS]
    if not known:
        why = "no TMLR digest sections found" if dated else "holds no TMLR digest"
        raise NotADigest(Problem(source, why))
    if dated is None:
        if sent is None:
            raise NotADigest(Problem(source, "no digest date: no title line, Subject or Date"))
        day = sent.astimezone(UTC)
        dated = (datetime(day.year, day.month, day.day, tzinfo=UTC), "weekly")

    warnings: list[Problem] = []
    announcements: list[Announcement] = []
    seen: set[tuple[str, Rung]] = set()
    bounds = [*headings, (len(lines) + 1, "")]
    for (start, name), (end, _) in zip(bounds, bounds[1:], strict=False):
        rung = SECTIONS.get(name.lower())
        body = range(start + 1, end - 1)  # below the underline, above the next heading
        chunks = list(_chunks(lines, body))
        if rung is None:
            n = sum(1 for c in chunks if _entry_like(lines, c))
            warnings.append(Problem(source, f"unknown section {name!r} skipped ({n} entries)", start))
            continue
        for i, chunk in enumerate(chunks):
            if len(announcements) == MAX_ENTRIES and _entry_like(lines, chunk):
                why = f"more than {MAX_ENTRIES:,} entries in one digest; this one and the rest skipped"
                warnings.append(Problem(source, why, chunk[0] + 1))
                break
            if not _entry_like(lines, chunk):
                last = end == len(lines) + 1 and i == len(chunks) - 1
                if not last:  # the tail after the last entry is page or mail furniture
                    warnings.append(Problem(source, f"unrecognised text in {name!r} skipped", chunk[0] + 1))
                continue
            parsed = _entry(lines, chunk, rung, len(announcements))
            if not isinstance(parsed, str):
                parsed = _bounded(parsed)
            if isinstance(parsed, str):
                warnings.append(Problem(source, parsed, chunk[0] + 1))
            elif (parsed.forum_id, parsed.rung) not in seen:
                seen.add((parsed.forum_id, parsed.rung))
                announcements.append(parsed)
    date, kind = dated
    return Digest(source, date, kind, tuple(announcements), tuple(warnings))


def _bounded(a: Announcement) -> Announcement | str:
    """``a``, or why it is skipped: a field past its bound (MAX_*) is no real digest's."""
    over = [
        (len(a.title), MAX_TITLE, "a title of"),
        (len(a.abstract or ""), MAX_ABSTRACT, "an abstract of"),
        (len(a.authors), MAX_AUTHORS, "a list of"),
        (max(map(len, a.authors), default=0), MAX_NAME, "an author name of"),
        (len(a.certifications), MAX_CERTIFICATIONS, "a list of"),
        (max(map(len, a.certifications), default=0), MAX_NAME, "a certification name of"),
    ]
    units = ["characters", "characters", "authors", "characters", "certifications", "characters"]
    for (got, limit, what), unit in zip(over, units, strict=True):
        if got > limit:
            return f"entry {a.title[:60]!r} has {what} {got:,} {unit}, over the limit of {limit:,}; skipped"
    return a


def _headings(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(1-based line, name) of each line underlined by `=` of its own length."""
    for i in range(len(lines) - 1):
        under = lines[i + 1].rstrip()
        if under and under[0] == "=" and under.strip("=") == "":
            name = lines[i].strip()
            if name and len(name) == len(under.strip()):
                yield i + 1, name


def _chunks(lines: list[str], body: range) -> Iterator[list[int]]:
    """Indexes of each entry's non-blank-trimmed lines, split on `---` lines."""
    chunk: list[int] = []
    for i in body:
        if lines[i].strip() == "---":
            if chunk:
                yield chunk
            chunk = []
        elif chunk or lines[i].strip():
            chunk.append(i)
    while chunk and not lines[chunk[-1]].strip():
        chunk.pop()
    if chunk:
        yield chunk


def _entry_like(lines: list[str], chunk: list[int]) -> bool:
    first = lines[chunk[0]]
    return first.startswith("Title:") or _split_certifications(first) is not None


def _entry(lines: list[str], chunk: list[int], rung: Rung, position: int) -> Announcement | str:
    """An Announcement, or the reason (a warning) why the entry is skipped."""
    if lines[chunk[0]].startswith("Title:"):
        return _labelled(lines, chunk, rung, position)
    return _certification(lines, chunk, position)


def _labelled(lines: list[str], chunk: list[int], rung: Rung, position: int) -> Announcement | str:
    fields: dict[str, list[str]] = {}
    current = -1
    for i in chunk:
        m = LABEL_RE.match(lines[i])
        if m and LABELS.index(m.group(1)) > current:
            is_url = m.group(1) == "URL"
            # Inside an abstract only a real forum URL ends it: a sentence may start with "Title:".
            if LABELS[current] != "Abstract" or (is_url and FORUM_RE.search(m.group(2))):
                current = LABELS.index(m.group(1))
                fields[LABELS[current]] = [m.group(2)]
                continue
        if current >= 0:
            fields[LABELS[current]].append(lines[i])
    title = " ".join(" ".join(fields.get("Title", [])).split())
    url = FORUM_RE.search(" ".join(fields.get("URL", [])))
    if not url:
        return f"entry {title[:60]!r} is cut off (no URL); skipped"
    if not title:
        return "entry has no title; skipped"
    authors = _authors(" ".join(fields.get("Authors", [])))
    abstract = _abstract(fields.get("Abstract", []))
    return Announcement(url.group(1), rung, title, authors, abstract, (), position)


def _certification(lines: list[str], chunk: list[int], position: int) -> Announcement | str:
    paragraphs: list[list[str]] = [[]]
    for i in chunk:
        if lines[i].strip():
            paragraphs[-1].append(lines[i].strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    head = " ".join(paragraphs[0])
    certs, title = _split_certifications(head) or ((), head)
    title = " ".join(title.split())
    url = None
    authors: tuple[str, ...] = ()
    for para in paragraphs[1:]:
        url = FORUM_RE.search(" ".join(para))
        if url:
            break
        if not authors:
            authors = _authors(" ".join(para))
    if not url:
        return f"entry {title[:60]!r} is cut off (no URL); skipped"
    if not title:
        return "entry has no title; skipped"
    return Announcement(url.group(1), Rung.CERTIFIED, title, authors, None, certs, position)


def _split_certifications(line: str) -> tuple[tuple[str, ...], str] | None:
    """Split `A Certification, B Certification: Title: more` after the names.

    A title may hold ': ', so split at the first 'Certification: ' if every name before
    it ends in ' Certification'. No certification name holds ': ', so a later one can
    never end the list (mutation testing showed a loop over later ones to be dead).
    """
    at = line.find("Certification: ")
    if at == -1 and line.endswith("Certification:"):  # the names and no title (the line is stripped)
        at = len(line) - len("Certification:")
    if at == -1:
        return None
    names = tuple(n.strip() for n in line[: at + len("Certification")].split(", "))
    if all(n.endswith(" Certification") for n in names):  # stripped, so never just " Certification"
        return names, line[at + len("Certification: ") :]
    return None


def _authors(text: str) -> tuple[str, ...]:
    return tuple(name for name in (" ".join(a.split()) for a in text.split(",")) if name)


def _abstract(raw: list[str]) -> str | None:
    body = [line.rstrip() for line in raw]
    while body and not body[0]:
        body.pop(0)
    while body and not body[-1]:
        body.pop()
    return "\n".join(body) or None
