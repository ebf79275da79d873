"""Write digest text in TMLR's own format, for tests and the benchmark.

The layout follows the real sample (examples/weekly-2023-04-30.txt): title line,
`=`-underlined headings, blank lines around them, entries ended by `---`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Item:
    forum_id: str
    title: str
    authors: tuple[str, ...] = ()
    abstract: str = ""
    certifications: tuple[str, ...] = ()


def digest_text(day: date, certified=(), accepted=(), submitted=(), kind: str = "Weekly") -> str:
    out = [f"{kind} TMLR digest for {day:%b} {day.day:02d}, {day.year}", ""]
    if certified:
        out += _heading("New certifications")
        for it in certified:
            out += [
                f"{', '.join(it.certifications)}: {it.title}",
                "",
                ", ".join(it.authors),
                "",
                f"https://openreview.net/forum?id={it.forum_id}",
                "",
                "---",
                "",
            ]
    if accepted:
        out += _heading("Accepted papers")
        for it in accepted:
            out += [
                f"Title: {it.title}",
                "",
                f"Authors: {', '.join(it.authors)}",
                "",
                f"Abstract: {it.abstract}",
                "",
                f"URL: https://openreview.net/forum?id={it.forum_id}",
                "",
                "---",
                "",
            ]
    if submitted:
        out += _heading("New submissions")
        for it in submitted:
            out += [
                f"Title: {it.title}",
                "",
                f"Abstract: {it.abstract}",
                "",
                f"URL: https://openreview.net/forum?id={it.forum_id}",
                "",
                "---",
                "",
            ]
    return "\n".join(out) + "\n"


def _heading(name: str) -> list[str]:
    return ["", name, "=" * len(name), "", ""]
