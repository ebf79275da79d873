"""A realistic digest history drawn from the real sample, for the benchmark.

Weekly digests of 25-120 entries; abstracts of 600-2,500 characters built from the
sample's own sentences (LaTeX and line breaks included); 1-15 authors drawn from
the sample's names; papers submitted, accepted 4-30 weeks later (about 60%), and
about one accepted paper in ten certified some weeks after that.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "weekly-2023-04-30.txt"
CERTS = ["Featured Certification", "Survey Certification", "Reproducibility Certification", "Expert Certification"]


def _vocabulary() -> tuple[list[str], list[str], list[str]]:
    text = SAMPLE.read_text(encoding="utf-8")
    abstracts = re.findall(r"^Abstract: (.*?)\n\nURL:", text, flags=re.M | re.S)
    sentences = [s.strip() for a in abstracts for s in re.split(r"(?<=[.?!])\s+", a) if len(s.strip()) > 20]
    titles = re.findall(r"^Title: (.*)$", text, flags=re.M)
    words = [w for t in titles for w in t.split()]
    names = [n.strip() for line in re.findall(r"^Authors: (.*)$", text, flags=re.M) for n in line.split(",")]
    return sentences, words, names


def _section(name: str) -> list[str]:
    return ["", name, "=" * len(name), "", ""]


class History:
    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.sentences, self.words, self.names = _vocabulary()
        self.serial = 0

    def abstract(self) -> str:
        rng, target, out = self.rng, self.rng.randint(600, 2500), []
        size = 0
        while size < target:
            s = rng.choice(self.sentences)
            out.append(s)
            size += len(s) + 1
        text = " ".join(out)
        # The authors' own line breaks, and now and then a second paragraph.
        cuts = sorted(rng.sample(range(1, len(out)), min(len(out) - 1, rng.randint(0, 3))))
        lines, last = [], 0
        for c in cuts:
            lines.append(" ".join(out[last:c]))
            last = c
        lines.append(" ".join(out[last:]))
        return (rng.choice(["\n", "\n\n"])).join(lines) if len(lines) > 1 else text

    def paper(self) -> dict:
        self.serial += 1
        rng = self.rng
        return {
            "id": f"B{self.serial:06d}{rng.choice('abcdefgh')}{rng.randint(10, 99)}",
            "title": " ".join(rng.choice(self.words) for _ in range(rng.randint(4, 14))),
            "abstract": self.abstract(),
            "authors": rng.sample(self.names, rng.randint(1, min(15, len(self.names)))),
        }

    def digests(self, papers: int, start: date = date(2016, 1, 3)) -> list[tuple[str, str]]:
        """Weekly digests until ``papers`` distinct papers have been announced."""
        rng = self.rng
        pending: list[tuple[int, dict]] = []  # (week it gets accepted, paper)
        certify: list[tuple[int, dict]] = []
        out, week = [], 0
        while self.serial < papers or pending or certify:
            day = start + timedelta(days=7 * week)
            size = rng.randint(25, 120)
            acc = [p for w, p in pending if w <= week][: size // 2]
            pending = [(w, p) for w, p in pending if not any(p is a for a in acc)]
            cert = [p for w, p in certify if w <= week][:5]
            certify = [(w, p) for w, p in certify if not any(p is c for c in cert)]
            new = [self.paper() for _ in range(max(0, min(size - len(acc) - len(cert), papers - self.serial)))]
            for p in new:
                if rng.random() < 0.6:
                    pending.append((week + rng.randint(4, 30), p))
            for p in acc:
                if rng.random() < 0.1:
                    certify.append((week + rng.randint(1, 10), p))
            if cert or acc or new:  # TMLR sends no empty digest
                out.append((f"weekly-{day:%Y-%m-%d}.txt", self.render(day, cert, acc, new)))
            week += 1
        return out

    def render(self, day: date, cert: list[dict], acc: list[dict], new: list[dict]) -> str:
        rng = self.rng
        lines = [f"Weekly TMLR digest for {day:%b} {day.day:02d}, {day.year}", ""]
        if cert:
            lines += _section("New certifications")
            for p in cert:
                names = ", ".join(rng.sample(CERTS, rng.randint(1, 2)))
                lines += [f"{names}: {p['title']}", "", ", ".join(p["authors"]), "",
                          f"https://openreview.net/forum?id={p['id']}", "", "---", ""]  # fmt: skip
        if acc:
            lines += _section("Accepted papers")
            for p in acc:
                lines += [f"Title: {p['title']}", "", f"Authors: {', '.join(p['authors'])}", "",
                          f"Abstract: {p['abstract']}", "", f"URL: https://openreview.net/forum?id={p['id']}",
                          "", "---", ""]  # fmt: skip
        if new:
            lines += _section("New submissions")
            for p in new:
                lines += [f"Title: {p['title']}", "", f"Abstract: {p['abstract']}", "",
                          f"URL: https://openreview.net/forum?id={p['id']}", "", "---", ""]  # fmt: skip
        return "\n".join(lines) + "\n"


def write_history(folder: Path, papers: int, seed: int = 1) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in History(seed).digests(papers):
        paths.append(folder / name)
        paths[-1].write_text(text, encoding="utf-8")
    return paths


if __name__ == "__main__":
    import sys

    write_history(Path(sys.argv[2]), int(sys.argv[1]))
