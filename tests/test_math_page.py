"""index.html's mathematics as Chromium renders it: typeset, counted, nothing lost, no console error.

Screenshots of the sample's page at 390 px and 1280 px go to $SCREENSHOTS if set
(docs/ holds the ones looked at for the README), else to the test's temporary folder.
"""

from __future__ import annotations

import os
import struct
import sys
from datetime import date
from pathlib import Path

import pytest

from browser import Browser
from conftest import FIXTURES, ROOT, SAMPLE, need_tool, run_cli
from digest2feed.digest import parse_digest
from digest2feed.layout import Document
from digest2feed.merge import combine, entries, records
from digest2feed.render import page
from digestgen import Item, digest_text
from test_math import undone

# Constructed: math in a title, a span the converter refuses, display math, a lone dollar.
MADE = Item(
    "MathTitle1",
    r"Bounds for $\ell_1$ and $\foo$ Losses",
    abstract="We show $$\\sum_i x_i \\le 1$$ for 88\\% of \\emph{cases}, at 5$ a run.\nSecond line $a<b$.",
)
# Counted by hand: 18 $…$ spans in the sample, 1 in the certification fixture, and in MADE
# $\ell_1$, $$…$$ and $a<b$ ($\foo$ stays TeX in <code>).
MATHS = 18 + 1 + 3

SHOWN = """(() => {
  const shown = el => el.localName === "math" ? el.querySelector("annotation").textContent
    : [...el.childNodes].map(c => c.nodeType === 3 ? c.data : c.nodeType === 1 ? shown(c) : "").join("");
  return [...document.querySelectorAll("main article")].map(a => ({
    href: a.querySelector("h3 a").getAttribute("href"),
    title: shown(a.querySelector("h3")),
    abstract: [...a.querySelectorAll("details p")].map(shown).join("\\n"),
  }));
})()"""

# The sample's "$\epsilon < 1$": where it is, how big, and how its parts are laid out.
EPSILON = """(() => {
  const ann = [...document.querySelectorAll("annotation")].find(a => a.textContent === "$\\\\epsilon < 1$"
    && a.closest("article").querySelector("h3").textContent.startsWith("Differentially"));
  const math = ann.closest("math"), art = math.closest("article");
  art.querySelector("details").open = true;  // as a reader's click would
  const box = e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
  const r = art.getBoundingClientRect();
  return {
    clip: {x: r.x, y: r.y + window.scrollY, width: r.width, height: r.height},
    ns: math.namespaceURI, math: box(math), annotation: getComputedStyle(ann).display,
    mi: [math.querySelector("mi").textContent, getComputedStyle(math.querySelector("mi")).textTransform],
    mo: [math.querySelector("mo").textContent, box(math.querySelector("mo"))],
  };
})()"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mathpage")
    made = tmp / "made.txt"
    made.write_text(digest_text(date(2024, 6, 2), submitted=[MADE]))
    out = tmp / "out"
    r = run_cli("update", SAMPLE, FIXTURES / "certifications-2024-03-10.txt", made, "-o", out)
    assert r.code == 0, r.err
    return tmp, out


@pytest.fixture(scope="module")
def chromium():
    return need_tool("chromium")


def expected() -> dict[str, tuple[str, str]]:
    """forum URL → (title, abstract) as the digests gave them."""
    papers: dict[str, tuple[str, str]] = {}
    texts = [(p, p.read_text(encoding="utf-8")) for p in (SAMPLE, FIXTURES / "certifications-2024-03-10.txt")]
    texts.append((Path("made"), digest_text(date(2024, 6, 2), submitted=[MADE])))
    for path, text in texts:
        for a in parse_digest(text, str(path)).announcements:
            url = f"https://openreview.net/forum?id={a.forum_id}"
            papers[url] = (a.title, a.abstract or papers.get(url, ("", ""))[1])
    return papers


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def assert_page(b: Browser, maths: int, papers: dict[str, tuple[str, str]]) -> None:
    """The loaded page holds ``maths`` MathML elements and shows every paper, nothing lost."""
    assert b.eval('document.querySelectorAll("math").length') == maths
    assert b.eval('[...document.querySelectorAll("math")].every(m => m.namespaceURI.endsWith("MathML"))')
    assert b.eval('[...document.querySelectorAll("math semantics > annotation")].length') == maths
    # Nothing lost: each paper's title and abstract as the browser parsed them.
    shown = b.eval(SHOWN)
    assert len(shown) == len(papers)
    for paper in shown:
        title, abstract = papers[paper["href"]]
        assert undone(paper["title"]) == undone(title)
        assert undone(paper["abstract"]) == undone(abstract), paper["href"]


@pytest.mark.parametrize("width", [390, 1280])
def test_chromium_typesets_every_span_and_loses_nothing(site, chromium, width):
    tmp, out = site
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count("<math ") == MATHS and page.count('<code class="tex">') == 1
    b = Browser(chromium, tmp / f"profile-{width}", width)
    try:
        b.load((out / "index.html").as_uri())
        papers = expected()
        assert len(papers) == 24 + 2 + 1
        assert_page(b, MATHS, papers)
        # Seen: the sample's epsilon is typeset (an italic ϵ, a real "<"), its TeX hidden.
        eps = b.eval(EPSILON)
        assert eps["ns"] == "http://www.w3.org/1998/Math/MathML"
        assert eps["mi"] == ["\u03f5", "math-auto"]  # math-auto: a single-letter <mi> is drawn italic
        assert eps["mo"][0] == "<" and eps["mo"][1][0] > 0
        assert eps["annotation"] == "none" and eps["math"][0] > 10 and eps["math"][1] > 5
        shots = Path(os.environ.get("SCREENSHOTS") or tmp)
        shot = shots / f"math-{width}.png"
        b.screenshot(shot, eps["clip"])
        assert png_size(shot) == (round(eps["clip"]["width"]), round(eps["clip"]["height"]))
        assert b.problems() == []
        # The same collector does see a console error: the check above can fail.
        b.load("data:text/html,<p>x</p><script>console.error('seen')</script>")
        assert b.problems() and "seen" in b.problems()[0]
    finally:
        b.close()


@pytest.mark.long_run("MATH_HISTORY")  # deselected, not skipped, unless MATH_HISTORY=<papers> (e.g. 50000)
def test_every_paper_of_the_bench_history_in_chromium(tmp_path, chromium):
    """Every paper of the bench history on pages of 2,000 (the real renderer), each loaded in Chromium."""
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import write_history

    papers = int(os.environ["MATH_HISTORY"])
    folder = ROOT / "bench" / "work" / str(papers) / "in"
    recs: dict = {}
    for path in sorted(folder.glob("*.txt")) or write_history(folder, papers):
        combine(recs, records(parse_digest(path.read_text(encoding="utf-8"), str(path))))
    shown = [e for r in recs.values() for e in entries(r) if e.current]
    assert len(shown) == papers
    b = Browser(chromium, tmp_path / "profile", 1280)
    pages = maths = 0
    try:
        for i in range(0, len(shown), 2000):
            chunk = shown[i : i + 2000]
            doc = Document("index.html", "html", "TMLR", "sub", (), "urn:x", None, "https://x/", "2026-01-01T00:00:00Z")
            html = page.render(doc, chunk, "0" * 64)
            (tmp_path / "index.html").write_bytes(html)
            b.load((tmp_path / "index.html").as_uri())
            count = html.count(b"<math ")
            assert_page(b, count, {e.url: (e.title, e.abstract or "") for e in chunk})
            assert b.problems() == []
            pages, maths = pages + 1, maths + count
    finally:
        b.close()
    print(f"\n{len(shown)} papers on {pages} pages: {maths} <math> in Chromium's DOM, nothing lost, no console message")
