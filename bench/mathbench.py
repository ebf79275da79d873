"""Mathematics: which converter, and what typesetting costs.

    python bench/mathbench.py compare [PAPERS]   # converters on the sample, the bench history, a corpus
    python bench/mathbench.py page [--runs N]    # index.html for 500 papers, with and without math
    python bench/mathbench.py backfill [PAPERS] [--runs N] [--baseline SRC]   # full backfill, tex and mathml

`compare` needs latex2mathml installed beside math-core (`pip install latex2mathml`);
it is not a dependency. The history is bench/work/PAPERS/in, made by generate.py
when missing (the same files bench/run.py uses).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import write_history  # noqa: E402
from run import D2F, measured  # noqa: E402

from digest2feed.digest import parse_digest  # noqa: E402
from digest2feed.render import math  # noqa: E402
from digest2feed.render.content import paragraphs  # noqa: E402

SAMPLE = ROOT / "examples" / "weekly-2023-04-30.txt"

# Constructed (not captured): TeX of the kind ML abstracts hold, and a few known traps.
CORPUS = r"""
\mathcal{O}(\sqrt{T}) | \tilde{O}(d\sqrt{T}) | \widetilde{O}(n^{-1/2}) | (\epsilon, \delta) | \ell_p | \ell_\infty
\|x\|_2 | \mathbb{R}^d | \mathbb{E}[X] | x \in \mathbb{R}^{n \times d} | \frac{1}{n}\sum_{i=1}^n x_i | O(n \log n)
\Omega(\sqrt{n}) | \Theta(1/\epsilon^2) | \mathrm{KL}(p \| q) | \operatorname{argmin}_\theta L(\theta) | \lambda_{\max}
\sigma^2 | \alpha = 0.1 | k \ll n | d \gg 1 | p \geq 2 | \hat{\theta} | \bar{x} | \mathbf{W} | \boldsymbol{\theta}
\nabla f(x) | \partial_t u | \int_0^1 f(x)\,dx | \binom{n}{k} | n^{1/3} | 10^{-3} | 1-\delta | \texttt{code}
\text{ReLU} | \textsc{Adam} | f: \mathcal{X} \to \mathcal{Y} | \{0,1\}^n | |S| = k | \langle x, y \rangle
\lceil n/2 \rceil | \mathsf{TV} | \mathcal{N}(0, I) | x \sim p | \approx 2\times | W^\top x | \pm 0.3 | 95\%
\mathbb{P}(A \mid B) | \pi^* | Q^\pi(s,a) | \gamma \in [0,1) | \begin{pmatrix} a & b \\ c & d \end{pmatrix}
\begin{cases} 1 & x>0 \\ 0 & \text{else} \end{cases} | \underbrace{x+y}_{z} | \overline{AB} | \vec{v} | \dot{x}
\sqrt[3]{x} | \lim_{n\to\infty} a_n | 1, \ldots, n | \ell_2\text{-norm} | \xrightarrow{f} | \textbf{bold}
\mathscr{L} | \mathfrak{g} | \varphi | \Pr[X > t] | \mathbbm{1} | \eqref{eq:1} | \textit{plates}
a & b | \text{a<b} | \foo x | \frac{1}{ | x} | 5% of x | \color{red} x | \href{javascript:alert(1)}{x}
"""


def corpus() -> list[str]:
    return [s.strip() for line in CORPUS.strip().splitlines() for s in line.split(" | ") if s.strip()]


def spans_of(paths: list[Path]) -> Counter[tuple[str, bool]]:
    """Every math span body (with its display flag) of the titles and abstracts, counted."""
    seen: Counter[tuple[str, bool]] = Counter()
    for path in paths:
        for a in parse_digest(path.read_text(encoding="utf-8"), str(path)).announcements:
            for text in [a.title, *("\n".join(p) for p in paragraphs(a.abstract or ""))]:
                seen.update((body, display) for _, body, display in math.split(text) if body is not None)
    return seen


def history(papers: int) -> list[Path]:
    folder = HERE / "work" / str(papers) / "in"
    return sorted(folder.glob("*.txt")) or write_history(folder, papers)


def converters() -> dict:
    import latex2mathml.converter
    from math_core import LatexToMathML

    core = LatexToMathML(fancy_error=False)

    def l2m(body: str, display: bool) -> str:
        out = latex2mathml.converter.convert(body, display="block" if display else "inline")
        return out.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "")

    return {"math-core": lambda b, d: core.convert_with_local_state(b, displaystyle=d), "latex2mathml": l2m}


def verdict(convert, body: str, display: bool) -> str:
    try:
        out = convert(body, display)
    except Exception:
        return "refused"
    plain = re.sub(r"\\.", "", body)  # escaped characters aside
    if "%" in plain or plain.count("{") != plain.count("}"):
        return "accepted, drops text"  # a TeX comment swallows the rest; an unbalanced brace vanishes
    from lxml import etree

    try:
        etree.fromstring(out.replace("&ApplyFunction;", "\u2061").replace("&InvisibleTimes;", "\u2062"))
    except etree.XMLSyntaxError:
        return "malformed"
    if math.checked(out) is None:
        return "not Core"
    if "\\" in "".join(etree.fromstring(math.checked(out)).itertext()):
        return "raw TeX shown"  # an unknown macro typeset as its own name
    return "typeset"


def compare(papers: int) -> None:
    sets = {
        "sample": spans_of([SAMPLE]),
        f"history ({papers:,} papers)": spans_of(history(papers)),
        "corpus (constructed)": Counter((s, False) for s in corpus()),
    }
    for name, convert in converters().items():
        print(f"\n{name}")
        for label, spans in sets.items():
            kinds: Counter[str] = Counter()
            for (body, display), n in spans.items():
                kinds[verdict(convert, body, display)] += n
            distinct = list(spans)
            runs = []
            for _ in range(5):
                start = time.perf_counter()
                for body, display in distinct:
                    with contextlib.suppress(Exception):
                        convert(body, display)
                runs.append((time.perf_counter() - start) / len(distinct))
            total = sum(spans.values())
            shares = ", ".join(f"{k} {v:,}" for k, v in kinds.most_common())
            print(f"  {label}: {total:,} spans ({len(distinct):,} distinct): {shares}; "
                  f"{statistics.median(runs) * 1e6:.0f} µs a distinct span")  # fmt: skip
        bad = [s for s in corpus() if verdict(convert, s, False) != "typeset"]
        print(f"  corpus spans not typeset: {' | '.join(bad)}")


def page(runs: int) -> None:
    """index.html for the 500 newest papers of a history: typeset, and with plain escaping.

    Each variant runs in a fresh process, twice, alternating: in one process the second
    variant profits from the allocator state the first left (its large strings freed
    raise glibc's mmap threshold), which made the page without math look 1.5× faster.
    """
    best: dict[str, list[float]] = {"math": [], "plain": []}
    for variant in ("plain", "math", "plain", "math"):
        out = subprocess.run([sys.executable, __file__, "page-one", variant, "--runs", str(runs)],
                             check=True, capture_output=True, text=True).stdout.split()  # fmt: skip
        best[variant].append(float(out[0]))
        spans, papers = out[1], out[2]
    with_math, without = min(best["math"]), min(best["plain"])
    print(f"page of {papers} papers ({int(spans):,} math spans): {with_math:.1f} ms with math, "
          f"{without:.1f} ms without: {with_math / without:.2f}×")  # fmt: skip


def page_one(variant: str, runs: int) -> None:
    """Prints the least CPU time of ``runs`` renders (ms), the math spans and the papers."""
    from html import escape

    from digest2feed.layout import Document
    from digest2feed.merge import combine, entries, records
    from digest2feed.render import page as page_mod

    recs: dict = {}
    for path in history(1000):
        combine(recs, records(parse_digest(path.read_text(encoding="utf-8"), str(path))))
    shown = sorted((e for r in recs.values() for e in entries(r) if e.current), key=lambda e: e.published)[-500:]
    doc = Document("index.html", "html", "TMLR", "sub", (), "urn:x", None, "https://x/", "2026-01-01T00:00:00+00:00")
    spans = sum(1 for e in shown for t in (e.title, e.abstract or "") for p in math.split(t) if p[1] is not None)
    if variant == "plain":
        page_mod.math.html = lambda text, br=False: escape(text)
    times = []
    for _ in range(runs):
        math.typeset.cache_clear()  # every run pays for every conversion
        start = time.process_time()  # CPU time: wall time on this shared machine swings by 2×
        page_mod.render(doc, shown, "0" * 64)
        times.append(time.process_time() - start)
    print(f"{min(times) * 1e3:.2f} {spans} {len(shown)}")  # the least disturbed run


def timed_cpu(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak memory in MB) of one child process and those it starts."""
    wall, memory, cpu = measured(cmd, env)
    return wall, cpu, memory


def backfill(papers: int, runs: int, baseline: Path | None) -> None:
    """Full backfill with math = "tex" and "mathml", runs interleaved; with ``baseline`` (the
    ``src`` folder of another checkout, e.g. ``git archive main src``) that code too, so a
    busy machine slows every variant alike."""
    paths = history(papers)
    variants = [("tex", "tex", None), ("mathml", "mathml", None)]
    if baseline:
        variants.insert(0, ("baseline", "tex", {**os.environ, "PYTHONPATH": str(baseline)}))
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _, _ in variants}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        for _ in range(runs):
            for name, mode, env in variants:
                conf = Path(tmp) / f"{name}.toml"
                conf.write_text(f'math = "{mode}"\n' if name != "baseline" else "")
                shutil.rmtree(out, ignore_errors=True)
                cmd = [*D2F, "update", str(paths[0].parent), "-o", str(out), "-c", str(conf)]
                results[name].append(timed_cpu(cmd, env))
    for name, mode, _ in variants:
        wall = statistics.median(r[0] for r in results[name])
        cpu = statistics.median(r[1] for r in results[name])
        rss = max(r[2] for r in results[name])
        rate = f"{papers / wall:,.0f} papers/s; {cpu:.2f} s CPU, {papers / cpu:,.0f} papers/s"
        print(f'backfill {papers:,} papers, {name} (math = "{mode}"): {wall:.2f} s wall, {rate}; {rss:.0f} MB')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["compare", "page", "page-one", "backfill"])
    ap.add_argument("papers", nargs="?", default="50000", help="history size (page-one: math or plain)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--baseline", type=Path, help="backfill: also time the code in this src folder")
    args = ap.parse_args()
    if args.what == "compare":
        compare(int(args.papers))
    elif args.what == "page":
        page(args.runs)
    elif args.what == "page-one":
        page_one(args.papers, args.runs)
    else:
        backfill(int(args.papers), args.runs, args.baseline)


if __name__ == "__main__":
    main()
