"""The week pages and the search as Chromium shows them, at a phone's width and a desktop's.

Chromium is driven over the DevTools protocol (tests/browser.py): the mouse clicks into
the box and the keyboard types into it, as a person would. Screenshots go to
$SCREENSHOTS if set (docs/ keeps two, looked at for the README), else to the test's
temporary folder. The hostile digest is constructed for this test: markup, script,
quotes meant to break out of an attribute, and ``javascript:`` in every text field.
"""

from __future__ import annotations

import json
import os
import threading
import time
import unicodedata
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from browser import Browser
from conftest import FIXTURES, SAMPLE, need_tool, run_cli
from digest2feed.digest import parse_digest
from digest2feed.filters import fold
from digestgen import Item, digest_text

CERTS = FIXTURES / "certifications-2024-03-10.txt"
DAILY = FIXTURES / "daily-2025-11-06.txt"
WIDTHS = [390, 1280]

# Constructed: each field tries to end its element or attribute, inject one, or run script.
EVIL_TITLE = 'Hostile </script><script>window.pwned=1</script><img src=x onerror="window.pwned=2"> "><b id="inj">b</b>'
EVIL_AUTHORS = ('Eve "onmouseover=window.pwned=3 x="', "<i>Mallory</i>", "javascript:window.pwned=4")
EVIL_ABSTRACT = '</details></article><script>window.pwned=5</script> <a href="javascript:window.pwned=6">go</a>'
EVIL_CERT = "Evil </b><script>window.pwned=7</script> Certification"
EVIL_CERTIFIED = 'Hostile "certified" </title><svg onload="window.pwned=8">'
HOSTILE = digest_text(
    date(2024, 6, 2),
    certified=[Item("Hostile002", EVIL_CERTIFIED, ("Eve",), "",
                    (EVIL_CERT,))],
    accepted=[Item("Hostile001", EVIL_TITLE, EVIL_AUTHORS, EVIL_ABSTRACT)],
)  # fmt: skip

# Every way a page could have been broken into: a script that ran, an element or a handler
# that the digest's text made, a javascript: link. Our own elements are named by what we wrote.
INJECTED = """(() => ({
  pwned: window.pwned === undefined ? null : window.pwned,
  scripts: [...document.scripts].map(s => s.getAttribute("src")),
  elements: [...document.querySelectorAll("img, b, i, svg, iframe, object, embed, #inj")]
    .filter(e => !e.closest("math")).length,  // math-core writes <mtext><i>…</i></mtext> for \\textit
  handlers: [...document.querySelectorAll("*")].flatMap(e => [...e.attributes].map(a => a.name))
    .filter(n => n.startsWith("on")),
  javascript: [...document.querySelectorAll("[href], [src]")]
    .filter(e => /^\\s*javascript:/i.test(e.getAttribute("href") || e.getAttribute("src") || "")).length,
}))()"""
RESULTS = """[...document.querySelectorAll("#results article")].map(a => ({
  title: a.querySelector("h3").textContent,
  openreview: a.querySelector("h3 a").href,
  badges: [...a.querySelectorAll(".badge")].map(b => b.textContent),
  date: a.querySelector("time").textContent,
  week: [...a.querySelectorAll("a")].at(-1).href,
  authors: a.querySelector("p.meta") ? a.querySelector("p.meta").textContent : "",
}))"""
SAID = '(document.querySelector("#results p") ? document.querySelector("#results p").textContent : "")'
WIDE = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def chromium():
    return need_tool("chromium")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sitebrowser")
    (tmp / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    out = tmp / "out"
    r = run_cli("update", SAMPLE, CERTS, DAILY, tmp / "hostile.txt", "-o", out, "-q")
    assert r.code == 0, r.err
    return tmp, out


@pytest.fixture
def browser(site, chromium, request):
    tmp, _ = site
    b = Browser(chromium, tmp / f"profile-{request.node.name}", getattr(request, "param", 1280))
    yield b
    b.close()


def shots(tmp: Path) -> Path:
    return Path(os.environ.get("SCREENSHOTS") or tmp)


def wait(b: Browser, expression: str, timeout: float = 20) -> object:
    """The value of ``expression`` once it is truthy (the index loads on its own time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = b.eval(expression)
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def search(b: Browser, text: str) -> list[dict]:
    """Type ``text`` into the emptied box and return the results once the page shows them."""
    b.clear()
    b.type(text)
    assert wait(b, f"document.getElementById('q').value === {json.dumps(text)} && {SAID}.endsWith('.')")
    hits = b.eval(RESULTS)
    print("searched", repr(text), "->", b.eval(SAID), len(hits), b.problems())  # shown when a test fails
    return hits


@pytest.mark.parametrize("browser", WIDTHS, indirect=True)
def test_a_week_page_of_the_sample_shows_every_paper(site, browser):
    tmp, out = site
    b = browser
    b.load((out / "weeks" / "2023-04-30.html").as_uri())
    ids = [a.forum_id for a in parse_digest(SAMPLE.read_text(encoding="utf-8"), str(SAMPLE)).announcements]
    shown = b.eval('[...document.querySelectorAll("main article h3 a")].map(a => a.href.split("=").pop())')
    assert shown == ids and len(ids) == 24
    assert b.eval('[...document.querySelectorAll("main h2")].map(h => h.textContent)') == [
        "Accepted papers", "New submissions",
    ]  # fmt: skip
    assert b.eval(WIDE) == 0  # no horizontal scroll
    assert b.eval('document.querySelector("a[rel=next]").getAttribute("href")') == "2024-03-10.html"
    width = b.eval("window.innerWidth")
    if width == 390:
        height = b.eval("document.querySelector('main section:nth-of-type(2)').getBoundingClientRect().top")
        b.screenshot(shots(tmp) / "site-week-390.png", {"x": 0, "y": 0, "width": 390, "height": height + 200})
    assert b.problems() == []


@pytest.mark.parametrize("browser", WIDTHS, indirect=True)
def test_typing_finds_papers_by_title_word_accented_author_and_certification(site, browser):
    tmp, out = site
    b = browser
    b.load((out / "index.html").as_uri())
    assert b.eval("!document.getElementById('search').hidden && document.getElementById('q').offsetWidth > 0")
    assert b.eval("document.querySelectorAll('script[src$=\"search-index.js\"]').length") == 0  # not before use
    b.click("#q")
    hits = search(b, "fairness")
    assert [h["title"] for h in hits] == ["Group Fairness in Reinforcement Learning"]
    (hit,) = hits
    assert hit["openreview"] == "https://openreview.net/forum?id=JkIH4MeOc3"
    assert (hit["badges"], hit["date"]) == (["Accepted"], "2023-04-30")
    assert hit["week"] == (out / "weeks" / "2023-04-30.html").as_uri()
    assert b"JkIH4MeOc3" in (out / "weeks" / "2023-04-30.html").read_bytes()
    assert b.eval("document.querySelectorAll('script[src$=\"search-index.js\"]').length") == 1
    statistics = "On the Statistical Complexity of Estimation and Testing under Privacy Constraints"
    for typed in ("Clément", "clement", "CLÉMENT Lalanne"):  # the author's name as the digest has it: Clément
        assert [h["title"] for h in search(b, typed)] == [statistics], typed
    zoe = search(b, "zoe angstrom")  # Zoë Ångström
    assert [h["title"] for h in zoe] == ["A Daily Paper With a Title That Breaks Across Lines"]
    assert zoe[0]["authors"] == "Søren Kierkegaard, Zoë Ångström"
    survey = search(b, "survey certification")
    assert [(h["title"], h["badges"]) for h in survey] == [
        ("Sparse Maps: A Study of Things", ["Certified", "Featured Certification", "Survey Certification"])
    ]
    assert search(b, "xylophone") == [] and b.eval(SAID) == "No paper found."
    assert wait(b, "location.search === '?q=xylophone'")  # the search can be linked (once typing pauses)
    assert search(b, "airness") == []  # inside "Fairness": a word's start, not any part of it
    # A word's start finds it: three titles of the sample hold "Privacy" or "Private" (its lines 26, 82, 124).
    assert [h["title"] for h in search(b, "priva")] == [
        statistics,
        "Differentially Private Image Classification from Features",
        "Individual Privacy Accounting for Differentially Private Stochastic Gradient Descent",
    ]
    assert b.eval(WIDE) == 0
    width = b.eval("window.innerWidth")
    search(b, "learning")
    if width == 1280:
        end = b.eval("document.querySelector('#results ol li:nth-child(4)').getBoundingClientRect().bottom")
        b.screenshot(shots(tmp) / "site-search-1280.png", {"x": 0, "y": 0, "width": 1280, "height": end + 20})
    assert b.eval(WIDE) == 0
    assert b.problems() == []


@pytest.mark.parametrize("browser", WIDTHS, indirect=True)
def test_the_query_in_the_address_shows_results_on_load(site, browser):
    _, out = site
    b = browser
    b.load((out / "index.html").as_uri() + "?q=pineau")
    assert wait(b, SAID)
    assert b.eval("document.getElementById('q').value") == "pineau"
    assert [h["title"] for h in b.eval(RESULTS)] == ["Group Fairness in Reinforcement Learning"]
    assert b.eval(WIDE) == 0
    assert b.problems() == []


@pytest.fixture
def served(site):
    """The output folder on a real HTTP server on 127.0.0.1, with the paths browsers asked for."""
    _, out = site
    asked: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(out), **kwargs)

        def log_message(self, format: str, *args: object) -> None:
            asked.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_served_over_http_the_index_is_fetched_only_when_the_search_is_used(served, browser):
    url, asked = served
    b = browser
    b.load(url + "index.html")
    time.sleep(0.5)
    assert "/search.js" in asked and not any(a.startswith("/search-index.js") for a in asked)
    b.click("#q")
    assert [h["title"] for h in search(b, "pineau")] == ["Group Fairness in Reinforcement Learning"]
    assert [a for a in asked if a.startswith("/search-index.js")] == ["/search-index.js"]  # once
    assert [h["title"] for h in search(b, "lalanne")] == [
        "On the Statistical Complexity of Estimation and Testing under Privacy Constraints"
    ]
    assert [a for a in asked if a.startswith("/search-index.js")] == ["/search-index.js"]
    assert wait(b, f"location.href === {json.dumps(url + 'index.html?q=lalanne')}")
    b.load(url + "index.html?q=zo%C3%AB")  # a linked search: Zoë
    assert wait(b, SAID) == "1 paper found."
    assert b.eval(RESULTS)[0]["week"] == url + "weeks/2025-11-09.html"
    b.load(url + "weeks/2025-11-09.html")
    time.sleep(0.5)
    assert "/favicon.ico" not in asked  # the pages name an empty icon: no 404 for the console
    assert b.problems() == []


def test_many_results_come_twenty_at_first_then_fifty_more_at_a_time(site, browser):
    tmp, _ = site
    # Constructed: 75 papers whose titles share a word, in one digest, in the order 1 to 75.
    many = [Item(f"Many{i:06d}", f"Manifold number {i}", abstract="x") for i in range(1, 76)]
    (tmp / "many.txt").write_text(digest_text(date(2024, 1, 7), submitted=many), encoding="utf-8")
    out = tmp / "many"
    assert run_cli("update", tmp / "many.txt", "-o", out, "-q").code == 0
    b = browser
    b.load((out / "index.html").as_uri() + "?q=manifold")
    assert wait(b, SAID) == "75 papers found."
    assert [h["title"] for h in b.eval(RESULTS)] == [f"Manifold number {i}" for i in range(1, 21)]
    assert b.eval("document.querySelector('#results button').textContent") == "Show 50 more"
    b.click("#results button")
    assert len(b.eval(RESULTS)) == 70
    assert b.eval("document.querySelector('#results button').textContent") == "Show 5 more"
    b.click("#results button")
    assert [h["title"] for h in b.eval(RESULTS)] == [f"Manifold number {i}" for i in range(1, 76)]
    assert b.eval("document.querySelector('#results button')") is None
    assert b.problems() == []


def test_without_javascript_there_is_no_box_and_the_weeks_still_lead_everywhere(site, browser):
    _, out = site
    b = browser
    b.send("Emulation.setScriptExecutionDisabled", value=True)
    b.load((out / "index.html").as_uri())
    assert b.eval("getComputedStyle(document.getElementById('search')).display") == "none"
    assert b.eval("document.getElementById('q').offsetWidth") == 0
    assert b.eval("window.digest2feed === undefined")
    weeks = b.eval('[...document.querySelectorAll("main h2 a")].map(a => a.getAttribute("href"))')
    assert weeks[-1] == "weeks/2023-04-30.html" and all((out / w).is_file() for w in weeks)
    b.load((out / "weeks" / "index.html").as_uri())
    listed = b.eval('[...document.querySelectorAll("main li a")].map(a => a.getAttribute("href"))')
    assert len(listed) == 4 and all((out / "weeks" / w).is_file() for w in listed)


TRICKY = [
    "Joëlle Pineau", "JOËLLE", "Straße", "STRASSE", "ẞ", "ΟΔΟΣ ΣΟΦΟΣ", "ς", "ﬁnding", "Ǆemal", "İstanbul",
    "ı", "Ångström Å", "ÅNGSTRÖM", "x\u0301\u0327y", "e\u0301", "\u0301", "ß\u0301", "한국어", "ｆｕｌｌ　ｗｉｄｔｈ",
    "①②", "½", "™", "ᾈ", "ΐ", "ǰ", "ŉ", "ꭰꮳ Ꭰ", "Ꮳ", "👍🏽", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "a\u00adb", "Ωmega \u2126", "Ȿ", "ⓐ",
    "Ｃｌéｍｅｎｔ", "naïve café", "Hồ Chí Minh", "Đặng", "Łukasz", "Øystein", "Þór", "Ǳ", "ﬃ", "ﬆ", "µ", "K",
    "\u0345", "ΣΑΣ", "σς", "i̇", "x\u200dy", "$\\epsilon < 1$", "<b>&amp;</b>", "",
]  # fmt: skip


def test_the_search_folds_as_feeds_phrases_are_folded(site, browser):
    """JavaScript's fold against filters.fold: every code point, and strings where order,
    context or neighbours could matter. They differ only on code points this Python's
    Unicode data does not assign (the browser's Unicode is newer)."""
    _, out = site
    b = browser
    b.load((out / "index.html").as_uri())
    got = b.eval(f"{json.dumps(TRICKY)}.map(digest2feed.fold)")
    assert got == [fold(s) for s in TRICKY]
    differ = []
    for start in range(0, 0x110000, 0x10000):
        folded = b.eval(
            f"(() => {{ const out = []; for (let cp = {start}; cp < {start + 0x10000}; cp++)"
            " out.push(cp >= 0xd800 && cp < 0xe000 ? '' : digest2feed.fold(String.fromCodePoint(cp)));"
            " return out; })()"
        )
        differ += [
            start + i for i, js in enumerate(folded) if not 0xD800 <= start + i < 0xE000 and js != fold(chr(start + i))
        ]
    unassigned = [cp for cp in differ if unicodedata.category(chr(cp)) == "Cn"]
    assert differ == unassigned, [hex(cp) for cp in differ if cp not in unassigned]
    print(f"\n{len(differ)} code points fold differently, all unassigned in Unicode {unicodedata.unidata_version}")


EVIL_PAGES = ["index.html", "weeks/2024-06-02.html", "weeks/index.html"]


@pytest.mark.parametrize("page", EVIL_PAGES)
def test_hostile_text_is_text_on_every_page(site, browser, page):
    _, out = site
    b = browser
    b.load((out / page).as_uri())
    injected = b.eval(INJECTED)
    ours = ["search.js"] if page == "index.html" else []
    assert injected == {"pwned": None, "scripts": ours, "elements": 0, "handlers": [], "javascript": 0}
    if page != "weeks/index.html":
        titles = b.eval('[...document.querySelectorAll("main article h3")].map(h => h.textContent)')
        assert EVIL_TITLE in titles and EVIL_CERTIFIED in titles
        text = b.eval("document.querySelector('main').textContent")
        assert all(name in text for name in EVIL_AUTHORS) and EVIL_CERT in text
        b.eval("document.querySelectorAll('details').forEach(d => d.open = true)")
        assert EVIL_ABSTRACT in b.eval("document.querySelector('main').textContent")
    assert b.eval("document.title") in ("TMLR papers", "TMLR papers: the week of 27 May – 2 June 2024",
                                        "TMLR papers: every week")  # fmt: skip
    assert b.problems() == []


def test_hostile_text_is_text_in_the_search_results(site, browser):
    _, out = site
    b = browser
    b.load((out / "index.html").as_uri())
    b.click("#q")
    hits = search(b, "hostile")
    assert sorted(h["title"] for h in hits) == sorted([EVIL_TITLE, EVIL_CERTIFIED])
    accepted = next(h for h in hits if h["title"] == EVIL_TITLE)
    assert accepted["authors"] == ", ".join(EVIL_AUTHORS)
    certified = next(h for h in hits if h["title"] != EVIL_TITLE)
    assert certified["badges"] == ["Certified", EVIL_CERT]
    for typed in ("javascript", "mallory", "script"):
        assert {h["openreview"] for h in search(b, typed)} <= {
            "https://openreview.net/forum?id=Hostile001", "https://openreview.net/forum?id=Hostile002",
        }  # fmt: skip
    scripts = [(out / "search-index.js").as_uri(), "search.js"]  # the index's, added to <head> on first use
    assert b.eval(INJECTED) == {"pwned": None, "scripts": scripts, "elements": 0, "handlers": [], "javascript": 0}
    assert b.problems() == []
