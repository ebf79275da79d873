"""Worst-case single inputs (issue 19): each at the per-message limit, run through `update`.

    cd bench && ../.venv/bin/python bounds.py

Prints wall time and peak memory (run.py's measure: max RSS or the process tree's summed
PSS, whichever is larger) for each input, and how long settings with many feeds take to load.
Every input is constructed here; the README's limits say why each is where it is.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from run import measured

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from digest2feed.digest import MAX_ABSTRACT, MAX_DIGEST  # noqa: E402
from digest2feed.sources.items import MAX_TEXT  # noqa: E402

D2F = str(Path(sys.executable).parent / "digest2feed")
HEAD = "Weekly TMLR digest for May 07, 2023\n\nNew submissions\n===============\n\n"


def entries(n: int, abstract: str) -> str:
    url = "https://openreview.net/forum?id=P"
    return "".join(f"Title: Paper {i}\n\nAbstract: {abstract}\n\nURL: {url}{i:08d}\n\n---\n\n" for i in range(n))


def fill(abstract_chars: int, room: int = MAX_TEXT) -> str:
    """A digest as close under ``room`` bytes as whole entries allow."""
    abstract = ("$x_i < y$ \\emph{e.g.} " * abstract_chars)[:abstract_chars]
    one = len(entries(1, abstract)) + 8  # the paper number grows by a few digits
    return HEAD + entries((room - len(HEAD)) // one, abstract)


def mail(text: str, subtype: str = "plain") -> bytes:
    m = EmailMessage()
    m["From"], m["Subject"] = "tmlr@example.org", "Weekly TMLR digest for May 07, 2023"
    m.set_content(text if subtype == "plain" else f"<pre>{text}</pre>", subtype=subtype, cte="base64")
    return m.as_bytes()


def cases(work: Path) -> dict[str, tuple[Path, str]]:
    """name → (input, settings text)."""
    out: dict[str, tuple[Path, str]] = {}

    def add(name: str, data: bytes | str, settings: str = "") -> None:
        path = work / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        out[name] = (path, settings)

    add("tiny-entries.txt", fill(10, MAX_DIGEST))  # far past MAX_ENTRIES: parsing stops there
    add("max-abstracts.txt", fill(MAX_ABSTRACT, MAX_DIGEST))  # every abstract at its limit
    add("max-abstracts-math.txt", fill(MAX_ABSTRACT, MAX_DIGEST), 'math = "mathml"\n')
    add("over-digest-limit.txt", fill(MAX_ABSTRACT))  # MAX_TEXT bytes of text: refused unparsed
    add("one-line-abstract.txt", HEAD + entries(1, "$x$ " * (MAX_DIGEST // 5)), 'math = "mathml"\n')
    add("base64-text.eml", mail(fill(2000, MAX_DIGEST)))
    add("base64-html.eml", mail(fill(2000, MAX_DIGEST - 64), "html"))
    add("base64-max.eml", mail(fill(2000, MAX_TEXT * 72 // 100)))  # decoded past MAX_DIGEST: refused
    junk = base64.encodebytes(b"\xff" * (MAX_TEXT * 72 // 100))
    add("base64-junk.eml", b"From: a@b\nSubject: x\nContent-Transfer-Encoding: base64\n\n" + junk)
    return out


def main() -> None:
    if sys.argv[1:2] == ["--make"]:  # in a child: a measured process inherits its parent's peak RSS
        for name, (_, settings) in cases(Path(sys.argv[2])).items():
            (Path(sys.argv[2]) / f"{name}.toml").write_text(settings)
        return
    work = Path(tempfile.mkdtemp(prefix="d2f-bounds-"))
    try:
        subprocess.run([sys.executable, __file__, "--make", str(work)], check=True)
        print(f"{'input':<24} {'MB in':>6} {'wall':>7} {'memory':>8}")
        for path in sorted(p for p in work.iterdir() if p.suffix != ".toml"):
            name = path.name
            out = work / "out"
            cmd = [D2F, "update", str(path), "-o", str(out), "-c", str(work / f"{name}.toml")]
            wall, mb, _ = measured(cmd, codes=(0, 1))
            size = path.stat().st_size / 1e6
            print(f"{name:<24} {size:>6.1f} {wall:>6.2f}s {mb:>6.0f}MB", flush=True)
            shutil.rmtree(out, ignore_errors=True)
        for n in (1_000, 10_000):
            toml = work / f"feeds-{n}.toml"
            table = '[[feeds]]\nname = "f{}"\nmatch = ["word {}"]\nauthors = ["Jöelle"]\n\n'
            toml.write_text("".join(table.format(i, i) for i in range(n)))
            start = time.perf_counter()
            wall, mb, _ = measured([D2F, "feeds", "-o", str(work / "none"), "-c", str(toml)], codes=(0, 1))
            print(f"settings with {n:,} feeds: `feeds` {wall:.2f} s, {mb:.0f} MB ({time.perf_counter() - start:.2f} s)")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
