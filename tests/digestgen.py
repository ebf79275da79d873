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
    for heading, items in (("Accepted papers", accepted), ("New submissions", submitted)):
        if items:
            out += _heading(heading)
            for it in items:
                authors = [f"Authors: {', '.join(it.authors)}", ""] if heading == "Accepted papers" else []
                out += [f"Title: {it.title}", "", *authors, f"Abstract: {it.abstract}", "",
                        f"URL: https://openreview.net/forum?id={it.forum_id}", "", "---", ""]  # fmt: skip
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Generated:
    """One digest as a test generated it: the facts a model can use, and the text the parser gets."""

    day: date
    kind: str = "Weekly"  # or "Daily"
    certified: tuple[Item, ...] = ()
    accepted: tuple[Item, ...] = ()
    submitted: tuple[Item, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.kind.lower()}-{self.day:%Y-%m-%d}.txt"

    @property
    def text(self) -> str:
        return digest_text(self.day, self.certified, self.accepted, self.submitted, kind=self.kind)


def _heading(name: str) -> list[str]:
    return ["", name, "=" * len(name), "", ""]


WORDS = (
    "learning neural networks robust sparse optimal graph policy gradient bound kernel transformer inference "
    "privacy causal diffusion contrastive bayesian federated reinforcement stochastic convex representation "
    "generalization adversarial estimation regret attention spectral manifold"
).split(" ")
NAMES = ["Ada Lovelace", "Alan Turing", "José Núñez", "Wei ZHANG", "Zoë Ångström", "Grace Hopper", "Søren Kierkegaard"]
CERTS = ["Featured Certification", "Survey Certification", "Reproducibility Certification", "Expert Certification"]


def history(weeks: int, per_week: int, rng, start: date = date(2022, 1, 2)) -> list[tuple[str, str]]:
    """(file name, text) of each digest of ``history_digests``."""
    return [(g.name, g.text) for g in history_digests(weeks, per_week, rng, start)]


def history_digests(weeks: int, per_week: int, rng, start: date = date(2022, 1, 2)) -> list[Generated]:
    """Weekly digests in which papers are submitted, accepted weeks later, some certified after.

    ``rng`` is a ``random.Random``: the same seed gives the same history.
    """
    from datetime import timedelta

    def words(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    def abstract() -> str:
        latex = " with $\\epsilon < 1$ and 88\\% \\emph{e.g.}"
        paragraphs = [words(rng.randint(20, 60)) + latex for _ in range(rng.randint(1, 3))]
        return "\n\n".join(p.replace(" with ", "\nwith ", 1) for p in paragraphs)

    out: list[Generated] = []
    submitted: list[Item] = []
    accepted: list[Item] = []
    serial = 0
    for week in range(weeks):
        day = start + timedelta(days=7 * week)
        new = []
        for _ in range(rng.randint(per_week // 2, per_week)):
            serial += 1
            new.append(Item(f"P{serial:07d}x", words(rng.randint(4, 12)).capitalize(), abstract=abstract()))
        n_acc = min(len(submitted), rng.randint(0, per_week // 2))
        acc = [submitted.pop(rng.randrange(len(submitted))) for _ in range(n_acc)]
        acc = [Item(i.forum_id, i.title, tuple(rng.sample(NAMES, rng.randint(1, 5))), i.abstract) for i in acc]
        cert = [accepted.pop(rng.randrange(len(accepted))) for _ in range(min(len(accepted), rng.randint(0, 2)))]
        cert = [Item(i.forum_id, i.title, i.authors, "", tuple(rng.sample(CERTS, rng.randint(1, 2)))) for i in cert]
        submitted += new
        accepted += acc
        out.append(Generated(day, "Weekly", tuple(cert), tuple(acc), tuple(new)))
    return out
