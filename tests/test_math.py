"""Mathematics: TeX spans typeset as MathML, and not one character of the source lost.

The invariant: a rendered text, each <math> replaced by its TeX annotation, equals the
source text once the text-mode macros the renderer turns into markup or characters
are undone on both sides (``undone`` below, written independently of the renderer:
``\\emph{x}``/``\\textit{x}``/``\\textbf{x}`` → ``x`` when x is plain text, and ``\\%``
``\\&`` ``\\_`` ``\\$`` → the character), whitespace aside.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from datetime import date

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from reader import make_reader

from conftest import FIXTURES, ROOT, SAMPLE, run_cli, snapshot
from digest2feed.digest import clean_text, parse_digest
from digest2feed.render import math
from digestgen import Item, digest_text

M = "{http://www.w3.org/1998/Math/MathML}"
MACRO = re.compile(r"(?<!\\)((?:\\\\)*)\\(?:emph|textit|textbf)\{((?:[^{}\\$]|\\[%&_$])*)\}")
ESCAPE = re.compile(r"\\([\\%&_$])")
MARKUP = {"div", "em", "strong", "code", "br"}
CORE = set(
    "math semantics annotation merror mfrac mi mmultiscripts mn mo mover mpadded mphantom mprescripts "
    "mroot mrow ms mspace msqrt mstyle msub msubsup msup mtable mtd mtext mtr munder munderover".split()
)


def undone(text: str) -> str:
    """The text-mode macros undone (innermost first), then whitespace dropped."""
    while (done := MACRO.sub(r"\1\2", text)) != text:
        text = done
    text = ESCAPE.sub(lambda m: m.group(0) if m.group(1) == "\\" else m.group(1), text)
    return "".join(text.split())


def parsed(fragment: str) -> etree._Element:
    """The fragment as XML: stricter than HTML, so well-formed here is well-formed anywhere."""
    return etree.fromstring(f"<div>{fragment.replace('<br>', '<br/>')}</div>")


def shown(el: etree._Element) -> str:
    """The element's text with each <math> replaced by its annotation."""
    if el.tag == M + "math":
        (ann,) = el.findall(f"{M}semantics/{M}annotation")
        assert ann.get("encoding") == "application/x-tex" and el[0][-1] is ann and len(el[0]) == 2
        return ann.text or ""
    return (el.text or "") + "".join(shown(c) + (c.tail or "") for c in el)


def check(text: str, br: bool = False) -> etree._Element:
    """Render ``text``; assert well-formed, only allowed markup, and nothing lost. Returns the parse."""
    out = math.html(text, br=br)
    root = parsed(out)
    for el in root.iter():
        assert isinstance(el.tag, str), out  # no comment or processing instruction
        tag = el.tag.removeprefix(M)
        if tag in ("i", "b", "em") and el.getparent().tag.removeprefix(M) in ("mtext", "i", "b", "em"):
            pass  # HTML phrasing inside mtext, as math-core writes \textit (a browser parses it as HTML)
        elif el.tag.startswith(M):
            assert tag in CORE, tag
        else:
            assert tag in MARKUP, tag
        assert not {a for a in el.attrib if a.startswith("on") or a in ("style", "href", "class") and tag != "code"}
    assert undone(shown(root)) == undone(text), out
    return root


def maths(root: etree._Element) -> list[etree._Element]:
    return list(root.iter(M + "math"))


# --- what a reader sees, checked by hand ---------------------------------------------------


def test_inline_math_becomes_mathml_with_its_tex_kept():
    out = math.html(r"rate $\epsilon < 1$ here")
    assert out == (
        'rate <math xmlns="http://www.w3.org/1998/Math/MathML"><semantics>'
        "<mrow><mi>&#1013;</mi><mo>&lt;</mo><mn>1</mn></mrow>"  # U+03F5 ϵ: TeX's \epsilon is the lunate one
        '<annotation encoding="application/x-tex">$\\epsilon &lt; 1$</annotation></semantics></math> here'
    )


def test_all_four_delimiters_and_display():
    root = check(r"a $x$ b \(y\) c $$z$$ d \[w\] e")
    found = [(m.get("display"), shown(m)) for m in maths(root)]
    assert found == [(None, "$x$"), (None, r"\(y\)"), ("block", "$$z$$"), ("block", r"\[w\]")]
    assert shown(root) == r"a $x$ b \(y\) c $$z$$ d \[w\] e"


@pytest.mark.parametrize(
    "text",
    [
        "It costs 5$ today.",  # a price
        "from $5 to $10 a month",  # openers before digits, but no closer after a non-space
        "prices of $5-$10 per hour",  # "$" after a non-space but before a digit closes nothing (Pandoc)
        "a lone $ sign",
        "ends with $",
        r"an escaped \$x\$ pair",
        "$ x$",  # no non-space after the opener
        "$$ unclosed display",
        r"\( never closed",
    ],
)
def test_unmatched_dollars_and_openers_are_text(text):
    root = check(text)
    assert not maths(root) and root.find("code") is None


def test_a_failed_search_for_one_closer_does_not_hide_a_later_span():
    # "$$$$" opens display math twice with nothing inside; the search for a closing "$$" runs
    # to the end and fails; the inline span after it must still be found (checked by hand:
    # "${\\$}$" opens before "{" and closes after "}" before "\\emph", so it is math).
    text = "a $$$${\\$}$\\emph{"
    assert [(body, display) for _, body, display in math.split(text)] == [
        (None, False),
        ("{\\$}", False),
        (None, False),
    ]
    assert "".join(span for span, _, _ in math.split(text)) == text


def test_many_spans_split_in_linear_time():
    # Not a timing test: a scanner made anew per span searched the whole rest of the text
    # for a delimiter it lacks; count the characters the searches visit instead.
    visited = 0
    find = str.find

    class Counting(str):
        def find(self, sub, start=0, *rest):
            nonlocal visited
            i = find(self, sub, start, *rest)
            visited += (len(self) if i < 0 else i) - start
            return i

    n = 20_000
    pieces = math.split(Counting("word $x<1$ " * n))
    assert len(pieces) == 2 * n + 1
    assert visited < 10 * len("word $x<1$ ") * n


def test_an_unmatched_double_dollar_still_lets_its_second_dollar_open_inline_math():
    root = check("a $$x$ b")  # no "$$" closes the display, but "$x$" is a span of its own
    ((m),) = maths(root)
    assert (m.get("display"), shown(m), shown(root)) == (None, "$x$", "a $$x$ b")


def test_escaped_dollar_and_percent_are_characters():
    assert math.html(r"We pay \$5 for 88\% of it \& \_ more") == "We pay $5 for 88% of it &amp; _ more"


def test_text_mode_macros_become_emphasis():
    out = math.html(r"\emph{e.g.}, \textit{offline equilibrium finding} and \textbf{88\% \emph{or} more}")
    assert out == "<em>e.g.</em>, <em>offline equilibrium finding</em> and <strong>88% <em>or</em> more</strong>"
    # After a macro left as typed, the next one inside the same group is converted again.
    assert math.html(r"\emph{\textbf{$}\textit{x}}") == r"\emph{\textbf{$}<em>x</em>}"


@pytest.mark.parametrize(
    "text",
    [
        r"\emph{unclosed",
        r"\emph{a {nested} group}",
        r"\textbf{with $x$ math}",
        r"\\emph{after a line break}",
        r"\emph{\citet{x}}",
    ],
)
def test_macros_with_anything_but_plain_text_stay_as_typed(text):
    root = check(text)
    assert root.find("em") is None and root.find("strong") is None
    assert shown(root) == text


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (r"$\foo x$", "unknown macro"),
        (r"$a & b$", "alignment outside a table (latex2mathml writes <mi>&</mi>)"),
        (r"$\frac{1}{$", "unbalanced braces"),
        (r"$5% of x$", "a TeX comment would swallow the rest"),
        (r"$\color{red} x$", "a style attribute: not MathML Core"),
        (r"$\text{a<b} \href{javascript:alert(1)}{x}$", "a link"),
    ],
)
def test_spans_the_converter_cannot_do_well_stay_tex_in_code(text, why):
    root = check(text)
    assert not maths(root), why
    assert [c.text for c in root.iter("code")] == [text]


def test_markup_in_tex_is_escaped_everywhere():
    text = r'<script>alert(1)</script> $\text{a<b}$ & "q" $x<y$ ]]>'
    out = math.html(text)
    assert "<script>" not in out and "&lt;script&gt;" in out
    root = check(text)
    assert [shown(m) for m in maths(root)] == [r"$\text{a<b}$", "$x<y$"]
    assert root.find(f".//{M}mtext").text == "a<b"


def test_line_breaks_become_br_only_in_prose():
    out = math.html("one\ntwo $a\nb$ three", br=True)
    assert out.startswith("one<br>\ntwo <math")
    assert out.count("<br>") == 1
    check("one\ntwo $a\nb$ three", br=True)


def test_a_10000_character_span_is_typeset():
    span = "$" + "x^{2} + " * 1250 + "y$"
    assert len(span) > 10_000
    root = check(f"before {span} after")
    assert len(maths(root)) == 1 and shown(maths(root)[0]) == span


# --- the sample: every title and abstract ---------------------------------------------------


def sample_texts() -> list[str]:
    texts = []
    for path in (SAMPLE, FIXTURES / "certifications-2024-03-10.txt"):
        for a in parse_digest(path.read_text(encoding="utf-8"), str(path)).announcements:
            texts.append(a.title)
            texts += [("\n".join(p)) for p in _paragraphs(a.abstract or "")]
    return texts


def _paragraphs(abstract: str) -> list[list[str]]:
    from digest2feed.render.content import paragraphs

    return paragraphs(abstract)


def test_sample_loses_nothing_and_typesets_every_span():
    texts = sample_texts()
    roots = [check(t) for t in texts] + [check(t, br=True) for t in texts]
    spans = [shown(m) for r in roots[: len(texts)] for m in maths(r)]
    assert len(spans) == 19  # counted by hand: 18 $…$ in the sample, 1 in the certification fixture
    assert not any(r.find(".//code") is not None for r in roots)


# --- hypothesis: nasty TeX ------------------------------------------------------------------

PIECES = [
    "$", "$$", "\\(", "\\)", "\\[", "\\]", "\\\\", "\\", "{", "}", "%", "<", ">", "&", '"', "'", "]]>",
    "\\emph{", "\\textit{", "\\textbf{", "\\%", "\\&", "\\_", "\\$", "\\foo", "\\frac", "\\text{", "^", "_",
    "\\epsilon", "\\alpha", "\\mathcal{O}", "\\begin{pmatrix}", "\\end{pmatrix}", "\\left(", "\\right.",
    "\\color{red}", "\\href{javascript:alert(1)}{x}", "<script>", "\\operatorname{argmin}", " ", "\n", "a", "1",
    "x", "é", "𝒪", "\u2061", "\\\n", "$5", "5$", "\\textit{plates}", "\\newcommand{\\a}{b}", "#", "~",
]  # fmt: skip
# Any text as the digest parser hands it on (clean_text: no character XML cannot hold).
# A few pieces drawn often find the interactions of delimiters, escapes and macros sooner.
FEW = ["$", "$$", "\\(", "\\)", "\\emph{", "\\textbf{", "{", "}", "\\\\", "\\", "\\%", "\\$", "a", " ", "\n"]
# And macros around a short argument, so the argument's every kind of token is tried.
macro = st.tuples(
    st.sampled_from(["\\emph{", "\\textit{", "\\textbf{"]), st.lists(st.sampled_from(FEW), max_size=4)
).map(lambda t: t[0] + "".join(t[1]) + "}")
nasty = (
    (
        st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=40)
        | st.lists(st.sampled_from(FEW), min_size=3, max_size=25)
        | st.lists(macro | st.sampled_from(FEW), min_size=1, max_size=8)
    )
    .map("".join)
    .map(clean_text)
)
# A 10,000-character span: a short nasty body repeated, between delimiters.
CLOSER = {"$": "$", "$$": "$$", "\\(": "\\)", "\\[": "\\]"}
body = st.lists(st.sampled_from(PIECES[20:]), min_size=1, max_size=6).map(lambda p: ("".join(p) * 10_000)[:10_000])
long_span = st.tuples(st.sampled_from(list(CLOSER)), body).map(lambda t: t[0] + t[1] + CLOSER[t[0]])
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nasty, st.booleans())
def test_nasty_tex_loses_nothing(text, br):
    check(text, br)


@settings(max_examples=max(10, EXAMPLES // 15), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_span, nasty)
def test_long_nasty_spans_lose_nothing(span, text):
    check(f"{text} {span} {text}")


# --- the setting and the feeds --------------------------------------------------------------


def test_math_setting_must_be_known(tmp_path):
    (tmp_path / "c.toml").write_text('math = "latex"\n')
    r = run_cli("update", SAMPLE, "-o", tmp_path / "out", "-c", tmp_path / "c.toml")
    assert r.code == 1
    assert r.err.strip() == f"""digest2feed: {tmp_path / "c.toml"}: math must be "tex" or "mathml" (got 'latex')"""
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mathfeeds")
    made = tmp / "made.txt"  # constructed: math in a title, a fallback span, display math
    made.write_text(digest_text(date(2024, 6, 2), submitted=[Item(
        "MathTitle1", r"Bounds for $\ell_1$ and $\foo$ Losses",
        abstract="We show $$\\sum_i x_i \\le 1$$ for 88\\% of \\emph{cases}.\nSecond line $a<b$.")]))  # fmt: skip
    out = {}
    for mode in ("tex", "mathml"):
        (tmp / f"{mode}.toml").write_text(f'math = "{mode}"\nbase_url = "https://feeds.example.org/tmlr/"\n')
        out[mode] = tmp / mode
        r = run_cli("update", SAMPLE, FIXTURES / "certifications-2024-03-10.txt", made, "-o", out[mode],
                    "-c", tmp / f"{mode}.toml")  # fmt: skip
        assert r.code == 0, r.err
    return out


def test_tex_feeds_carry_the_tex_as_text(sites):
    atom = (sites["tex"] / "atom.xml").read_text(encoding="utf-8")
    assert "&lt;math" not in atom and "<math" not in atom
    assert "$\\epsilon &amp;lt; 1$" in atom  # escaped HTML inside escaped XML: the TeX, as today
    assert "<math" not in json.loads((sites["tex"] / "feed.json").read_text())["items"][0]["content_html"]


def test_only_content_changes_between_tex_and_mathml(sites):
    tex, mathml = snapshot(sites["tex"]), snapshot(sites["mathml"])
    assert tex.keys() == mathml.keys()
    # The page typesets either way; only its closing fingerprint comment tells the settings apart.
    assert tex["index.html"].rsplit(b"<!--", 1)[0] == mathml["index.html"].rsplit(b"<!--", 1)[0]
    for name in ("atom.xml", "archive/2023-04.xml") if "archive/2023-04.xml" in tex else ("atom.xml",):
        t, m = (etree.fromstring(x) for x in (tex[name], mathml[name]))
        ns = {"a": "http://www.w3.org/2005/Atom", "d": "http://purl.org/dc/terms/"}
        # The state keeps the TeX exactly, whatever the setting.
        assert t.xpath("//d:abstract/text()", namespaces=ns) == m.xpath("//d:abstract/text()", namespaces=ns)
        assert t.xpath("//a:summary/text()", namespaces=ns) == m.xpath("//a:summary/text()", namespaces=ns)


# feedparser 6 reads no JSON Feed: feed.json is read as JSON below and by reader.
@pytest.mark.parametrize("name", ["atom.xml", "rss.xml", "accepted/rss.xml", "submissions/rss.xml"])
def test_feedparser_keeps_mathml_in_content(sites, name):
    feed = feedparser.parse((sites["mathml"] / name).read_bytes())
    assert feed.bozo == 0, feed.get("bozo_exception")
    bodies = {e.id: (e.content[0].value if "content" in e else e.summary) for e in feed.entries}
    maths_kept = [b for b in bodies.values() if "<math" in b]
    assert maths_kept, name
    for body in maths_kept:
        assert 'xmlns="http://www.w3.org/1998/Math/MathML"' in body
        assert '<annotation encoding="application/x-tex">' in body
    dp = next((b for i, b in bodies.items() if "Cj6pLclmwT" in i), None)
    if dp is not None:  # the sample's "$\epsilon < 1$": a real less-than, the TeX beside it
        assert (
            '<math xmlns="http://www.w3.org/1998/Math/MathML"><semantics><mrow><mi>&#1013;</mi><mo>&lt;</mo><mn>1</mn>'
            '</mrow><annotation encoding="application/x-tex">$\\epsilon &lt; 1$</annotation></semantics></math>'
        ) in dp
    made = next((b for i, b in bodies.items() if "MathTitle1" in i), None)
    if made is not None:
        assert (
            "<mo>&#8804;</mo><mn>1</mn></mrow>"  # U+2264 ≤
            '<annotation encoding="application/x-tex">$$\\sum_i x_i \\le 1$$</annotation></semantics></math>'
        ) in made
        assert "88% of <em>cases</em>" in made
    assert dp or made, name


@pytest.mark.parametrize("view", ["accepted/", "submissions/", "certified/"])
def test_a_views_atom_has_no_body_and_keeps_the_tex_as_written_under_mathml(sites, view):
    """The views' Atom is for reference managers (Zotero 7 stores content as the abstract): an entry
    with an abstract has no content, so no MathML; its summary is the abstract as the digest gave it,
    whatever math says. An entry without an abstract keeps the body (the validator wants text)."""
    ns = {"a": "http://www.w3.org/2005/Atom"}
    tex, mathml = (etree.fromstring((sites[m] / view / "atom.xml").read_bytes()) for m in ("tex", "mathml"))
    with_abstract = [[etree.tostring(e) for e in root.findall("a:entry", ns) if e.find("a:summary", ns) is not None]
                     for root in (tex, mathml)]  # fmt: skip
    assert with_abstract[0] and with_abstract[0] == with_abstract[1]  # the same bytes under either setting
    assert not any(b"<math" in e or b"&lt;math" in e or b"<content" in e for e in with_abstract[1])
    for e in mathml.findall("a:entry", ns):  # content exactly where no abstract was given
        assert (e.find("a:content", ns) is None) == (e.find("a:summary", ns) is not None)
    summaries = {e.findtext("a:id", namespaces=ns): e.find("a:summary", ns) for e in mathml.findall("a:entry", ns)}
    if view == "submissions/":
        made = summaries["https://openreview.net/forum?id=MathTitle1#submitted"]
        assert made.get("type") == "text"
        assert made.text == "We show $$\\sum_i x_i \\le 1$$ for 88\\% of \\emph{cases}.\nSecond line $a<b$."
    else:  # the sample's certified paper: "$\epsilon < 1$" in its second paragraph, as the digest has it
        sm = summaries["https://openreview.net/forum?id=AbCdEf1234#certified"]
        assert "A second paragraph with $\\epsilon < 1$ and 88\\% of \\emph{e.g.} things." in sm.text


def test_json_feed_text_keeps_the_tex(sites):
    items = json.loads((sites["mathml"] / "feed.json").read_text(encoding="utf-8"))["items"]
    made = next(i for i in items if "MathTitle1" in i["id"])
    assert "We show $$\\sum_i x_i \\le 1$$ for 88\\% of \\emph{cases}.\nSecond line $a<b$." in made["content_text"]
    assert "<math" in made["content_html"] and made["title"] == r"Bounds for $\ell_1$ and $\foo$ Losses"


def test_reader_reads_every_mathml_feed(sites):
    out = sites["mathml"]
    r = make_reader(":memory:", feed_root=str(out))
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.suffix in (".xml", ".json"))
    for name in names:
        r.add_feed(name)
    r.update_feeds()
    for name in names:
        feed = r.get_feed(name)
        assert feed.last_exception is None, (name, feed.last_exception)
        assert feed.version in ("atom10", "rss20", "json11"), name
    entries = list(r.get_entries(feed="atom.xml"))
    with_math = [e for e in entries if any("<math" in c.value for c in e.content)]
    assert with_math and len(entries) == len(list(r.get_entries(feed="rss.xml")))


# --- the 50,000-paper bench history (long: MATH_HISTORY=50000) ------------------------------


@pytest.mark.long_run("MATH_HISTORY")  # deselected, not skipped, unless MATH_HISTORY=<papers> (e.g. 50000)
def test_every_abstract_of_the_bench_history_loses_nothing(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import write_history

    papers = int(os.environ["MATH_HISTORY"])
    folder = ROOT / "bench" / "work" / str(papers) / "in"
    paths = sorted(folder.glob("*.txt")) or write_history(folder, papers)
    abstracts = titles = spans = code = 0
    seen: set[str] = set()
    start = time.perf_counter()
    for path in paths:
        for a in parse_digest(path.read_text(encoding="utf-8"), str(path)).announcements:
            texts = [a.title] + ["\n".join(p) for p in _paragraphs(a.abstract or "")]
            titles += 1
            abstracts += a.abstract is not None
            for t in texts:
                root = check(t)
                spans += len(maths(root))
                code += len(root.findall(".//code"))
                seen.update(shown(m) for m in maths(root))
    took = time.perf_counter() - start
    print(f"\n{len(paths)} digests, {titles} announcements, {abstracts} abstracts: {spans} spans typeset "
          f"({len(seen)} distinct), {code} kept as code, nothing lost; {took:.1f} s")  # fmt: skip
    assert abstracts and spans and not code
