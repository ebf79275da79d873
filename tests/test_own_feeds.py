"""Feeds of your own ([[feeds]]): settings, the sample by hand, generated histories against an oracle,
the OPML list, the status in titles, BibTeX, and `digest2feed feeds`."""

from __future__ import annotations

import json
import random
import re
import subprocess
import unicodedata
from datetime import date
from pathlib import Path

import feedparser
import listparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pybtex.database import parse_string

from conftest import FIXTURES, SAMPLE, merge, mtimes, need_tool, read_state, run_cli, snapshot
from digest2feed.digest import parse_digest
from digest2feed.merge import entries as entries_of
from digestgen import CERTS, NAMES, WORDS, Item, digest_text, history

BASE = "https://feeds.example.org/tmlr/"
ISSUE_CONFIG = """
[[feeds]]
name = "privacy"                 # folder: output/privacy/
title = "TMLR: differential privacy"
match = ["differential privacy", "DP-SGD"]   # phrases in title or abstract
exclude = ["federated"]
authors = ["Joelle Pineau"]
status = ["accepted", "certified"]            # rungs: submitted, accepted, certified
certifications = ["Featured Certification"]
"""
# One key at a time on the same sample, each checked by hand against examples/weekly-2023-04-30.txt.
BY_KEY = """
[[feeds]]
name = "dp"
match = ["differential privacy", "DP-SGD"]
exclude = ["federated"]
[[feeds]]
name = "dp-accepted"
match = ["differential privacy", "DP-SGD"]
status = ["accepted", "certified"]
[[feeds]]
name = "pineau"
authors = ["Joëlle PINEAU"]
[[feeds]]
name = "finding"
match = ["equilibrium ﬁnding"]
[[feeds]]
name = "latex"
match = ["\\\\emph{output-specific} $(\\\\varepsilon,\\\\delta)$-DP"]
[[feeds]]
name = "privat"
match = ["differentially privat"]
"""
F = "https://openreview.net/forum?id="


def ids(path: Path) -> list[str]:
    if path.suffix == ".json":
        return [item["id"] for item in json.loads(path.read_text())["items"]]
    feed = feedparser.parse(path.read_bytes())
    assert feed.bozo == 0, path
    return [e.id for e in feed.entries]


def configure(folder: Path, text: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "digest2feed.toml"
    cfg.write_text(f'base_url = "{BASE}"\n{extra}\n{text}', encoding="utf-8")
    return cfg


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("own")
    out = tmp / "out"
    r = run_cli("update", SAMPLE, "-c", configure(tmp, ISSUE_CONFIG + BY_KEY), "-o", out)
    assert (r.code, r.err) == (0, "")
    return out


# --- the sample, by hand ---------------------------------------------------------------------------


def test_the_issue_config_on_the_sample_is_a_valid_empty_feed(sample):
    # All keys at once: an accepted DP paper by Joelle Pineau with a Featured Certification. The sample
    # has no certification at all, so nothing matches; every format is still a valid feed.
    for name in ("atom.xml", "rss.xml", "feed.json"):
        assert ids(sample / "privacy" / name) == []
    feed = feedparser.parse((sample / "privacy" / "atom.xml").read_bytes()).feed
    assert feed.title == "TMLR: differential privacy"
    assert {(link.rel, link.href) for link in feed.links} >= {("self", BASE + "privacy/atom.xml")}
    assert json.loads((sample / "privacy" / "feed.json").read_text())["feed_url"] == BASE + "privacy/feed.json"


def test_each_key_on_the_sample_selects_the_papers_found_by_hand(sample):
    expected = {
        # "differential privacy" in the abstracts of OarsigVib0 (line 30) and Cj6pLclmwT (line 86), "DP-SGD" in
        # l4Jcxs0fpC (line 126); "differentially private" is another word. The one "federated" paper has no DP.
        "dp": ["OarsigVib0#accepted", "Cj6pLclmwT#accepted", "l4Jcxs0fpC#submitted"],
        "dp-accepted": ["OarsigVib0#accepted", "Cj6pLclmwT#accepted"],
        "pineau": ["JkIH4MeOc3#accepted"],  # "Joelle Pineau" (line 18), matched from "Joëlle PINEAU"
        "finding": ["t1kKoTSWwp#submitted"],  # the ligature folds: "Offline Equilibrium Finding" (lines 97, 99)
        "latex": ["l4Jcxs0fpC#submitted"],  # LaTeX matched as written (line 128)
        "privat": [],  # whole words only: "privat" is not "private"
    }
    main = ids(sample / "atom.xml")
    for name, want in expected.items():
        got = ids(sample / name / "atom.xml")
        assert got == [F + w for w in want], name
        assert ids(sample / name / "rss.xml") == ids(sample / name / "feed.json") == got, name
        assert got == [i for i in main if i in got]  # the main feed's ids, in its order


def test_a_custom_feed_follows_the_retention_window(tmp_path):
    r = run_cli("update", SAMPLE, "-c", configure(tmp_path, BY_KEY), "-o", tmp_path / "out", "--max-entries", "2")
    assert r.code == 0, r.err
    assert ids(tmp_path / "out" / "dp" / "atom.xml") == [F + "OarsigVib0#accepted", F + "Cj6pLclmwT#accepted"]


def test_a_custom_feed_follows_the_ladder(tmp_path):
    # Constructed fixture: a certification digest for Sparse Maps (AbCdEf1234) after the sample.
    cfg = configure(tmp_path, '[[feeds]]\nname = "featured"\ncertifications = ["featured"]\n'
                    '[[feeds]]\nname = "new"\nstatus = ["submitted"]\nmatch = ["sparse"]\n')  # fmt: skip
    out = tmp_path / "out"
    assert run_cli("update", SAMPLE, "-c", cfg, "-o", out).code == 0
    assert ids(out / "featured" / "atom.xml") == []
    assert run_cli("update", FIXTURES / "certifications-2024-03-10.txt", "-c", cfg, "-o", out).code == 0
    assert ids(out / "featured" / "atom.xml") == [F + "AbCdEf1234#certified"]
    title = feedparser.parse((out / "featured" / "atom.xml").read_bytes()).entries[0].title
    assert title == "Sparse Maps: A Study of Things"  # a feed of your own shows exact titles (issue 21)


BAD = [
    ('[[feeds]]\nname = "x"\nmacth = ["a"]\n', "unknown setting 'feeds[1].macth' (did you mean 'feeds[1].match'?)"),
    (
        '[[feeds]]\nname = "x"\nmatch = []\n',
        "feeds[1].match (x) must be a non-empty list of non-empty strings (got [])",
    ),
    ('[[feeds]]\nname = "../up"\n', "feeds[1].name must be a folder name"),
    ('[[feeds]]\nname = "Privacy"\n', "feeds[1].name must be a folder name"),
    ('[[feeds]]\nname = "archive"\n', "feeds[1].name 'archive' is taken by a built-in folder"),
    ('[[feeds]]\nname = "accepted"\n', "feeds[1].name 'accepted' is taken by a built-in folder"),
    ('[[feeds]]\nname = "a"\nstatus = ["published"]\n', "feeds[1].status (a) must be drawn from submitted, accepted"),
    ('[[feeds]]\nname = "a"\n[[feeds]]\nname = "a"\n', "feeds[2].name 'a' is used by another feed"),
    ('[[feeds]]\nname = "a"\nauthors = "Ada"\n', "feeds[1].authors (a) must be a non-empty list"),
    ('feeds = "a"\n', "feeds must be an array of tables"),
]


@pytest.mark.parametrize(("toml", "message"), BAD)
def test_a_bad_feed_table_is_one_line_naming_the_file_and_key(tmp_path, toml, message):
    cfg = tmp_path / "d.toml"
    cfg.write_text(toml, encoding="utf-8")
    r = run_cli("update", SAMPLE, "-c", cfg, "-o", tmp_path / "out")
    assert r.code == 1
    assert r.err.count("\n") == 1 and r.err.startswith(f"digest2feed: {cfg}: ")
    assert message in r.err
    assert not (tmp_path / "out").exists()


# --- generated histories against an oracle ------------------------------------------------------------


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def has(phrase: str, text: str) -> bool:
    """Whole-word phrase search by word lists: another way than the regex the program uses."""
    words, want = re.findall(r"\w+", fold(text)), re.findall(r"\w+", fold(phrase))
    return any(words[i : i + len(want)] == want for i in range(len(words) - len(want) + 1))


def oracle(feed: dict, texts: list[str], limit: int) -> list[str]:
    state = merge({}, [parse_digest(t, "gen") for t in texts])
    current = [e for rec in state.values() for e in entries_of(rec) if e.current]

    def keep(e) -> bool:
        def found(p: str) -> bool:  # in the title or in the abstract: never running from one into the other
            return has(p, e.title) or has(p, e.abstract or "")

        return (
            all(not found(p) for p in feed.get("exclude", []))
            and (not feed.get("match") or any(found(p) for p in feed["match"]))
            and (not feed.get("authors") or any(has(p, a) for p in feed["authors"] for a in e.authors))
            and (not feed.get("status") or e.rung.slug in feed["status"])
            and (not feed.get("certifications") or any(has(p, c) for p in feed["certifications"]
                                                       for c in e.certifications))
        )  # fmt: skip

    chosen = sorted((e for e in current if keep(e)), key=lambda e: (e.forum_id, e.rung))
    chosen.sort(key=lambda e: e.published, reverse=True)
    return [e.id for e in chosen[:limit]]


def phrases(pool: list[str], most: int = 2) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(pool), min_size=1, max_size=most, unique=True)


AUTHORS = [*NAMES, "Zoe Angstrom", "ZHANG", "jose nunez", "Turing"]
FEED = st.fixed_dictionaries(
    {},
    optional={
        "match": phrases([*WORDS, "neural networks", "policy gradient", "88\\%"]),
        "exclude": phrases(WORDS, 1),
        "authors": phrases(AUTHORS),
        "status": phrases(["submitted", "accepted", "certified"], 3),
        "certifications": phrases([*CERTS, "Featured", "survey"]),
    },
)
FEEDS = st.lists(FEED, min_size=1, max_size=3)


def toml(feeds: list[dict]) -> str:
    out = []
    for i, feed in enumerate(feeds):
        out.append(f'[[feeds]]\nname = "f{i}"')
        out += [f"{key} = {json.dumps(values, ensure_ascii=False)}" for key, values in feed.items()]
    return "\n".join(out) + "\n"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32 - 1),
    first=FEEDS,
    then=FEEDS,
    cuts=st.tuples(st.integers(1, 4), st.integers(4, 7)),
    limit=st.integers(1, 12),
)
def test_custom_feeds_hold_exactly_the_matching_papers(tmp_path_factory, seed, first, then, cuts, limit):
    tmp = tmp_path_factory.mktemp("gen")
    texts = [text for _, text in history(8, 5, random.Random(seed))]
    paths = []
    for i, text in enumerate(texts):
        paths.append(tmp / f"d{i}.txt")
        paths[-1].write_text(text, encoding="utf-8")
    out, opts = tmp / "out", ["--max-entries", str(limit)]
    a, b = configure(tmp / "a", toml(first)), configure(tmp / "b", toml(then))
    # Three runs: filters A; then other filters B (every stored bit is stale); then B again (bits reused).
    assert run_cli("update", *paths[: cuts[0]], "-c", a, "-o", out, *opts).code == 0
    assert run_cli("update", *paths[cuts[0] : cuts[1]], "-c", b, "-o", out, *opts).code == 0
    assert run_cli("update", *paths[cuts[1] :], "-c", b, "-o", out, *opts).code == 0
    for i, feed in enumerate(then):
        assert ids(out / f"f{i}" / "atom.xml") == oracle(feed, texts, limit), feed
    # A feed dropped from the settings keeps its last files (digest2feed deletes no feed): set them aside.
    dropped = {f"f{i}" for i in range(len(then), len(first))}
    incremental = {path: data for path, data in snapshot(out).items() if path.split("/")[0] not in dropped}
    # The same as regenerating everything from the state, and as one run of every digest in reverse order.
    assert run_cli("update", "-c", b, "-o", out, *opts).code == 0
    assert {p: d for p, d in snapshot(out).items() if p.split("/")[0] not in dropped} == incremental
    once = tmp / "once"
    assert run_cli("update", *reversed(paths), "-c", b, "-o", once, *opts).code == 0
    assert snapshot(once) == incremental


def test_stored_feed_bits_of_a_fifth_feed_are_read_back_as_written(tmp_path):
    """Constructed: six feeds, one topic each. A paper only the fifth feed holds (bit 0x10) is not
    named by the second run, which takes its feeds from the bits stored in atom.xml: it must stay
    in f4 alone (read as a decimal 10 it would move to f1 and f3)."""
    cfg = configure(tmp_path, "".join(f'[[feeds]]\nname = "f{i}"\nmatch = ["topic{i}"]\n' for i in range(6)))
    first = [Item("PaperP0004", "A study of topic4", (), "P."), Item("PaperQ0001", "A study of topic1", (), "Q.")]
    texts = [
        digest_text(date(2024, 1, 7), submitted=first),
        digest_text(date(2024, 1, 14), submitted=[Item("PaperR0000", "A study of topic0", (), "R.")]),
    ]
    paths = [tmp_path / "d0.txt", tmp_path / "d1.txt"]
    for path, text in zip(paths, texts, strict=True):
        path.write_text(text, encoding="utf-8")
    out, once = tmp_path / "out", tmp_path / "once"
    assert run_cli("update", paths[0], "-c", cfg, "-o", out).code == 0
    assert run_cli("update", paths[1], "-c", cfg, "-o", out).code == 0
    forum = "https://openreview.net/forum?id="
    held = {f"f{i}": ids(out / f"f{i}" / "atom.xml") for i in range(6)}
    assert held == {"f0": [f"{forum}PaperR0000#submitted"], "f1": [f"{forum}PaperQ0001#submitted"], "f2": [],
                    "f3": [], "f4": [f"{forum}PaperP0004#submitted"], "f5": []}  # fmt: skip
    assert run_cli("update", *paths, "-c", cfg, "-o", once).code == 0
    assert snapshot(out) == snapshot(once)


def test_a_rerun_with_custom_feeds_writes_nothing(tmp_path):
    cfg, out = configure(tmp_path, BY_KEY), tmp_path / "out"
    assert run_cli("update", SAMPLE, "-c", cfg, "-o", out).code == 0
    before, times = snapshot(out), mtimes(out)
    r = run_cli("update", SAMPLE, "-c", cfg, "-o", out, "-v")
    assert r.code == 0 and "files written: 0" in r.out
    assert snapshot(out) == before and mtimes(out) == times


# --- listed everywhere -------------------------------------------------------------------------------


def test_feeds_opml_lists_every_feed(sample):
    tree = etree.parse(str(sample / "feeds.opml"))
    root = tree.getroot()
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "TMLR papers"
    assert root.findtext("head/dateModified") == "Sun, 30 Apr 2023 12:00:00 +0000"
    folders = ["", "accepted/", "submissions/", "certified/", "privacy/", "dp/", "dp-accepted/", "pineau/",
               "finding/", "latex/", "privat/"]  # fmt: skip
    outlines = root.findall("body/outline")
    assert [o.get("xmlUrl") for o in outlines] == [f"{BASE}{f}atom.xml" for f in folders]
    assert {o.get("type") for o in outlines} == {"rss"}
    assert outlines[4].get("text") == outlines[4].get("title") == "TMLR: differential privacy"
    # A reader shows "text": the short label the page uses; "title" is the feed's own title.
    assert [(o.get("text"), o.get("title")) for o in outlines[:2]] == [
        ("All papers", "TMLR papers"),
        ("Accepted", "TMLR papers: accepted papers, certified ones included"),
    ]
    parsed = listparser.parse((sample / "feeds.opml").read_bytes())
    assert parsed.bozo == 0 and [f.url for f in parsed.feeds] == [f"{BASE}{f}atom.xml" for f in folders]


def test_newsboat_imports_feeds_opml(sample, tmp_path):
    newsboat = need_tool("newsboat")
    urls = tmp_path / "urls"
    cmd = [newsboat, "-u", str(urls), "-c", str(tmp_path / "cache.db"), "-i", str(sample / "feeds.opml")]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60, env={"HOME": str(tmp_path), "PATH": "/usr/bin"})
    listed = [etree.parse(str(sample / "feeds.opml")).getroot().findall("body/outline")]
    assert urls.read_text().split() == [o.get("xmlUrl") for o in listed[0]]


def test_the_page_lists_every_feed_and_chromium_renders_it(sample, tmp_path):
    from test_page import render  # skips the module's tests where Chromium is missing

    need_tool("chromium")
    dom = render(sample / "index.html", tmp_path)
    rows = dom.xpath("//table[@class='feeds']/tbody/tr")
    assert [r.xpath("string(th)") for r in rows] == [
        "All papers", "Accepted", "New submissions", "Certified", "TMLR: differential privacy",
        "TMLR papers: dp", "TMLR papers: dp-accepted", "TMLR papers: pineau", "TMLR papers: finding",
        "TMLR papers: latex", "TMLR papers: privat",
    ]  # fmt: skip
    hrefs = dom.xpath("//head/link[@rel='alternate']/@href")
    assert len(hrefs) == 11 * 3 and sorted(hrefs) == sorted(dom.xpath("//table[@class='feeds']//a/@href"))
    assert BASE + "privacy/feed.json" in hrefs
    assert dom.xpath("//nav//a[@type='text/x-opml']/@href") == [BASE + "feeds.opml"]
    cite = dom.xpath("//article[.//h3/a[contains(@href,'JkIH4MeOc3')]]//details[summary='BibTeX']/pre")
    assert cite[0].text_content().startswith("@article{\nsatija2023group,\n")


# --- the status in the title, BibTeX ---------------------------------------------------------------


GROUP_FAIRNESS = """@article{
satija2023group,
title={Group Fairness in Reinforcement Learning},
author={Harsh Satija and Alessandro Lazaric and Matteo Pirotta and Joelle Pineau},
journal={Transactions on Machine Learning Research},
issn={2835-8856},
year={2023},
url={https://openreview.net/forum?id=JkIH4MeOc3},
note={}
}"""


def test_bibtex_in_openreview_form_in_every_format(sample):
    atom = feedparser.parse((sample / "atom.xml").read_bytes())
    entry = next(e for e in atom.entries if e.id == F + "JkIH4MeOc3#accepted")
    assert f"<pre>{GROUP_FAIRNESS}</pre>" in entry.content[0].value
    item = next(i for i in json.loads((sample / "feed.json").read_text())["items"] if "JkIH4MeOc3" in i["id"])
    assert item["content_text"].endswith("\n\n" + GROUP_FAIRNESS)
    rss = feedparser.parse((sample / "rss.xml").read_bytes())
    # RSS description: feedparser reads it as the content, dc:description (the abstract) coming first (issue 21).
    assert GROUP_FAIRNESS in next(e for e in rss.entries if "JkIH4MeOc3" in e.id).content[0].value
    # Submissions have no BibTeX: OpenReview gives none for a paper under review.
    sub = next(e for e in atom.entries if e.id == F + "t1kKoTSWwp#submitted")
    assert "@article" not in sub.content[0].value
    # Every BibTeX entry of the sample parses, with the key and fields OpenReview builds.
    keys = {}
    for e in atom.entries:
        m = re.search(r"<pre>(.*?)</pre>", e.content[0].value, re.S)
        if m:
            db = parse_string(m.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"), "bibtex")
            (key,) = db.entries
            keys[e.id.split("=")[1]] = key
    assert keys == {
        "JkIH4MeOc3#accepted": "satija2023group",
        "OarsigVib0#accepted": "lalanne2023on",  # Clément Lalanne, folded; "On" is kept, as OpenReview keeps "A"
        "B4J40x7NjA#accepted": "schmier2023positive",
        "s9efQF3QW1#accepted": "li2023uncovering",
        "qxrwt6F3sf#accepted": "haddouche2023pacbayes",
        "Sb6p5mcefw#accepted": "kozachkov2023generalization",
        "Cj6pLclmwT#accepted": "mehta2023differentially",
    }


def test_bibtex_of_awkward_titles_and_names_stays_valid():
    from datetime import UTC, datetime

    from digest2feed.model import Entry, Rung, Sighting
    from digest2feed.render.bibtex import entry

    at = datetime(2024, 3, 10, 12, tzinfo=UTC)
    titles = ["A {Broken} } Title", "50% of $\\epsilon$ & {Friends} #1", "Cost $5 per {GPU", "GOPlan: Goal"]
    for title in titles:
        e = Entry("AbCdEf1234", Rung.CERTIFIED, title, ("Søren Kierkegaard", "Zoë Ångström"), None,
                  (("Featured Certification", at),), ((Rung.CERTIFIED, at),), at, at, True,
                  Sighting(at, title))  # fmt: skip
        text = entry(e)
        (key,) = parse_string(text, "bibtex").entries
        fields = parse_string(text, "bibtex").entries[key].fields
        assert key == "kierkegaard2024" + re.sub("[^a-z]", "", title.split()[0].lower())
        assert fields["note"] == "Featured Certification" and fields["year"] == "2024"
        assert text.count("{") == text.count("}")
    assert "title={{GOP}lan: Goal}" in text
    e = Entry("AbCdEf1234", Rung.CERTIFIED, titles[1], ("Ada Lovelace",), None, (), ((Rung.CERTIFIED, at),), at, at,
              True, Sighting(at, titles[1]))  # fmt: skip
    assert "title={50\\% of $\\epsilon$ \\& {Friends} \\#1}," in entry(e)  # LaTeX's specials escaped, by hand
    e = Entry("AbCdEf1234", Rung.ACCEPTED, "RL with LLMs", ("José Martín",), None, (), ((Rung.ACCEPTED, at),), at, at,
              True, Sighting(at, "RL with LLMs"))  # fmt: skip
    assert "title={{RL} with {LLM}s}," in entry(e)  # two capitals are a run too, as OpenReview braces them
    assert "author={Jos{\\'e} Mart{\\'\\i}n}," in entry(e)  # a dotless i under the accent
    assert 'author={S{\\o}ren Kierkegaard and Zo{\\"e} {\\r{A}}ngstr{\\"o}m}' in text


def test_bibtex_year_and_key_are_the_acceptance_year_even_for_a_later_certification():
    """Accepted on 30 December 2023, certified a week later: the paper is TMLR 2023."""
    from datetime import UTC, datetime

    from digest2feed.model import Entry, Rung, Sighting
    from digest2feed.render.bibtex import entry

    accepted, certified = datetime(2023, 12, 30, tzinfo=UTC), datetime(2024, 1, 6, tzinfo=UTC)
    e = Entry("AbCdEf1234", Rung.CERTIFIED, "Late Bloomers", ("Ada Lovelace",), None,
              (("Featured Certification", certified),), ((Rung.ACCEPTED, accepted), (Rung.CERTIFIED, certified)),
              certified, certified, True, Sighting(certified, "Late Bloomers"))  # fmt: skip
    text = entry(e)
    assert text.splitlines()[1] == "lovelace2023late," and "year={2023}," in text


def test_status_in_titles_can_be_turned_off_and_the_state_keeps_plain_titles(tmp_path):
    plain = "Group Fairness in Reinforcement Learning"
    for setting, shown in (("true", "Accepted: " + plain), ("false", plain)):
        out = tmp_path / setting
        cfg = configure(tmp_path / f"c{setting}", BY_KEY, f"status_in_title = {setting}")
        assert run_cli("update", SAMPLE, "-c", cfg, "-o", out).code == 0
        for path in (out / "atom.xml", out / "rss.xml"):
            assert feedparser.parse(path.read_bytes()).entries[0].title == shown, path
        # Only the main feed holds several rungs of a paper: views and your own feeds keep the exact title.
        for path in (out / "pineau" / "atom.xml", out / "accepted" / "rss.xml"):
            assert feedparser.parse(path.read_bytes()).entries[0].title == plain, path
        items = json.loads((out / "feed.json").read_text())["items"]
        assert items[0]["title"] == shown and items[0]["_digest2feed"]["title"] == plain
        assert read_state(out)["JkIH4MeOc3"].sightings[0][1].title == plain
    assert json.loads(run_cli("parse", SAMPLE, "--json").out)["digests"][0]["papers"][0]["title"] == plain


# --- digest2feed feeds -------------------------------------------------------------------------------


def test_feeds_command_shows_each_feed_from_the_state(sample, tmp_path):
    before = mtimes(sample)
    cfg = configure(tmp_path, BY_KEY + '[[feeds]]\nname = "rl"\nmatch = ["reinforcement learning"]\n')
    r = run_cli("feeds", "-o", sample, "-c", cfg)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "./  TMLR papers: 24 entries"
    assert "pineau/  TMLR papers: pineau: 1 entry" in lines
    at = lines.index("dp-accepted/  TMLR papers: dp-accepted: 2 entries")
    assert lines[at + 1 : at + 3] == [
        "  2023-04-30  Accepted: On the Statistical Complexity of Estimation and Testing under Privacy Constraints",
        "  2023-04-30  Accepted: Differentially Private Image Classification from Features",
    ]
    # A filter the state has never seen is evaluated from the state: "reinforcement learning" is in the titles or
    # abstracts of JkIH4MeOc3, t1kKoTSWwp, 0XBuaxqEcG, XRpt5JYF8m and A6IjcbMcOC (checked with grep -i).
    r = run_cli("feeds", "-o", sample, "-c", cfg, "--json")
    assert (r.code, r.err) == (0, "")
    doc = json.loads(r.out)["feeds"]
    rl = next(f for f in doc if f["folder"] == "rl")
    assert rl["entries"] == 5 and rl["files"] == ["rl/atom.xml", "rl/rss.xml", "rl/feed.json"]
    assert [n["id"] for n in rl["newest"]] == [F + "JkIH4MeOc3#accepted", F + "t1kKoTSWwp#submitted",
                                               F + "0XBuaxqEcG#submitted"]  # fmt: skip
    assert rl["newest"][0]["title"] == "Group Fairness in Reinforcement Learning"
    assert mtimes(sample) == before and not (sample / "rl").exists()  # read only


def test_feeds_command_errors(tmp_path):
    r = run_cli("feeds", "-o", tmp_path / "none")
    assert r.code == 1 and r.err == f"digest2feed: {tmp_path / 'none' / 'atom.xml'}: no feeds here yet" \
        " (run `digest2feed update` first)\n"  # fmt: skip
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[[feeds]]\nname = "archive"\n')
    r = run_cli("feeds", "-c", cfg)
    assert r.code == 1 and "feeds[1].name 'archive' is taken" in r.err


def test_a_damaged_subscription_file_is_rendered_whole(tmp_path):
    # A subscription file damaged by hand (an item line doubled) is rendered again from the state
    # by the next run that changes it, never patched.
    cfg, out, once = configure(tmp_path, BY_KEY), tmp_path / "out", tmp_path / "once"
    certs = FIXTURES / "certifications-2024-03-10.txt"
    assert run_cli("update", certs, "-c", cfg, "-o", out).code == 0
    rss = out / "rss.xml"
    rss.write_bytes(rss.read_bytes().replace(b"    <item>\n", b"    <item>\n    <item>\n", 1))
    assert run_cli("update", SAMPLE, "-c", cfg, "-o", out).code == 0
    assert run_cli("update", certs, SAMPLE, "-c", cfg, "-o", once).code == 0
    assert snapshot(out) == snapshot(once)


# --- combinations the issues did not test together (added by the outside review) ------------------------


def combo_digest(folder: Path) -> Path:
    """Constructed: an accepted paper with TeX in its title and abstract, and another whose
    words only *contain* the filter's phrase and name ("Paragraph", "Subgraph", "Ashlee"), and whose
    authors "Ming Yang, Liu Chen" hold "Yang Liu" only across two names."""
    from datetime import date

    from digestgen import Item, digest_text

    text = digest_text(
        date(2024, 3, 3),
        accepted=[
            Item("CoMbOaCc01", "Graph bounds for $\\alpha$-mixing", ("Ada Lee", "Yang Liu"), "We show $x^2 < 1$."),
            Item("CoMbOaCc02", "Paragraph vectors", ("Eli Ashlee", "Ming Yang", "Liu Chen"), "Subgraph-free $\\beta$."),
        ],
        submitted=[Item("CoMbOsUb03", "Offpolicy gradient descent", (), "Theory for it.")],  # anonymous, as in TMLR
    )
    path = folder / "combo.txt"
    path.write_text(text, encoding="utf-8")
    return path


COMBO = """
[[feeds]]
name = "graphs"
match = ["graph"]
[[feeds]]
name = "lee"
authors = ["Lee"]
[[feeds]]
name = "yang-liu"
authors = ["Yang Liu"]
[[feeds]]
name = "descent"
match = ["policy gradient", "gradient descent"]
[[feeds]]
name = "spans"
match = ["descent theory"]
"""


def entry_parts(path: Path, body: str = "content") -> list[tuple[str, str, str]]:
    """(id, title, content) of each Atom entry, read with lxml: the content's markup as written.
    ``body="summary"``: the summary instead, where a feed of your own gives no content."""
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = etree.fromstring(path.read_bytes())
    keys = ("id", "title", body)
    return [tuple(e.findtext(f"a:{k}", namespaces=ns) for k in keys) for e in root.findall("a:entry", ns)]


def rss_parts(path: Path) -> list[tuple[str, str, str]]:
    """(guid, title, description) of each RSS item: the HTML body, unescaped once by the XML parser."""
    root = etree.fromstring(path.read_bytes())
    return [(i.findtext("guid"), i.findtext("title"), i.findtext("description")) for i in root.iter("item")]


def test_own_feeds_with_mathml_and_plain_titles_then_switched_back(tmp_path):
    """[[feeds]] + math = "mathml" + status_in_title = false in one run; then the other choices on
    the same folder, one at a time, each giving exactly the bytes a fresh folder gets (no entry
    reused from the files written under other choices)."""
    digest = combo_digest(tmp_path)
    out = tmp_path / "out"
    cfg = configure(tmp_path / "c1", COMBO, 'math = "mathml"\nstatus_in_title = false')
    r = run_cli("update", digest, "-c", cfg, "-o", out)
    assert (r.code, r.err) == (0, "")
    accepted = F + "CoMbOaCc01#accepted"
    for name in ("graphs", "lee", "yang-liu"):  # whole words of one name: not "Paragraph", "Ashlee", "Yang, Liu"
        assert ids(out / name / "atom.xml") == ids(out / name / "feed.json") == [accepted], name
        ((_, title, summary),) = entry_parts(out / name / "atom.xml", "summary")
        assert title == "Graph bounds for $\\alpha$-mixing"  # no "Accepted: ", TeX kept in the title
        # Its Atom is for reference managers: no content, the abstract as the digest gave it, no MathML.
        assert entry_parts(out / name / "atom.xml") == [(accepted, title, None)]
        assert summary == "We show $x^2 < 1$."
        ((_, rss_title, content),) = rss_parts(out / name / "rss.xml")
        assert rss_title == title
        assert '<math xmlns="http://www.w3.org/1998/Math/MathML">' in content
        assert '<annotation encoding="application/x-tex">$x^2 &lt; 1$</annotation>' in content
        (item,) = json.loads((out / name / "feed.json").read_text())["items"]
        assert item["title"] == title and "<math" in item["content_html"]

    # "policy gradient" fails at "Offpolicy", but "gradient descent" inside that match stands alone;
    # a phrase never runs from the title into the abstract.
    assert ids(out / "descent" / "atom.xml") == [F + "CoMbOsUb03#submitted"]
    assert ids(out / "spans" / "atom.xml") == []

    # One choice at a time, each giving the bytes a fresh folder gets under it.
    for step, (maths, status) in enumerate([("tex", "false"), ("tex", "true"), ("mathml", "true")], 2):
        cfg = configure(tmp_path / f"c{step}", COMBO, f'math = "{maths}"\nstatus_in_title = {status}')
        assert run_cli("update", digest, "-c", cfg, "-o", out).code == 0
        fresh = tmp_path / f"fresh{step}"
        assert run_cli("update", digest, "-c", cfg, "-o", fresh).code == 0
        assert snapshot(out) == snapshot(fresh), (maths, status)
        ((_, title, summary),) = entry_parts(out / "graphs" / "atom.xml", "summary")
        assert title == "Graph bounds for $\\alpha$-mixing"  # exact whatever status_in_title says (issue 21)
        assert summary == "We show $x^2 < 1$."  # the TeX as written, whatever math says
        main = [(t, c) for _, t, c in entry_parts(out / "atom.xml") if "Graph bounds" in t]
        assert [t for t, _ in main] == ["Accepted: Graph bounds for $\\alpha$-mixing" if status == "true" else title]
        ((_, _, content),) = rss_parts(out / "graphs" / "rss.xml")
        for body in (content, main[0][1]):  # the own feed's RSS and the main feed's Atom carry the body
            assert ("<math" in body) == (maths == "mathml") and "$x^2 &lt; 1$" in body


def test_changing_only_a_feeds_certifications_refilters_it(tmp_path):
    """The stored feed bits name the filters they were computed under: a feed whose only change
    is its certifications list is evaluated afresh, even for papers the next run's input does not
    name, exactly as a fresh folder given every input would be."""
    certs, out = FIXTURES / "certifications-2024-03-10.txt", tmp_path / "out"
    first = configure(tmp_path / "a", '[[feeds]]\nname = "mine"\ncertifications = ["Featured Certification"]\n')
    then = configure(tmp_path / "b", '[[feeds]]\nname = "mine"\ncertifications = ["Reproducibility Certification"]\n')
    assert run_cli("update", certs, "-c", first, "-o", out).code == 0
    assert run_cli("update", SAMPLE, "-c", then, "-o", out).code == 0  # the certified papers are not in it
    assert run_cli("update", certs, SAMPLE, "-c", then, "-o", tmp_path / "fresh").code == 0
    assert snapshot(out) == snapshot(tmp_path / "fresh")
    titles = [e.title for e in feedparser.parse((out / "mine" / "atom.xml").read_bytes()).entries]
    assert titles == ["On the Certification: Of Long Titles That Wrap Across Two Lines"]


def test_a_promotion_leaves_the_archive_of_the_older_entry_alone(tmp_path: Path) -> None:
    # Constructed digests. With feeds of your own, every state file stores each entry's feed
    # bits. Paper A's submission sits in archive/2023-01.xml; its acceptance must put
    # A#accepted in the "dp" feed without rewriting that archive: the submission's bits
    # hold still, and the feed shows current entries only.
    from datetime import date

    from digestgen import Item, digest_text

    def paper(forum: str, title: str) -> Item:
        return Item(forum, title, ("Ada Lovelace",), f"We study {title.lower()}.")

    a, b = paper("AAAAAAAAA1", "Differential privacy for cats"), paper("BBBBBBBBB1", "Robust vision")
    later = [paper(f"CCCCCCCCC{i}", f"Sparse models {i}") for i in range(3)]
    days = [(date(2023, 1, 1), {"submitted": (a, b)}), (date(2023, 3, 5), {"submitted": tuple(later)}),
            (date(2023, 5, 7), {"accepted": (a,)})]  # fmt: skip
    paths = []
    for day, sections in days:
        paths.append(tmp_path / f"weekly-{day}.txt")
        paths[-1].write_text(digest_text(day, **sections), encoding="utf-8")
    cfg = configure(tmp_path / "cfg", '[[feeds]]\nname = "dp"\nmatch = ["differential privacy"]\n', "max_entries = 2")
    out = tmp_path / "out"
    assert run_cli("update", *paths[:2], "-o", out, "-c", cfg).code == 0
    archive = out / "archive" / "2023-01.xml"
    before, stat = archive.read_bytes(), archive.stat()
    assert f"{F}AAAAAAAAA1#submitted" in ids(archive)
    assert ids(out / "dp" / "atom.xml") == [f"{F}AAAAAAAAA1#submitted"]

    assert run_cli("update", paths[2], "-o", out, "-c", cfg).code == 0
    assert ids(out / "dp" / "atom.xml") == [f"{F}AAAAAAAAA1#accepted"]
    assert archive.read_bytes() == before and archive.stat().st_ino == stat.st_ino  # not written again
    promoted = snapshot(out)
    assert run_cli("update", "--regenerate", "-o", out, "-c", cfg).code == 0
    assert snapshot(out) == promoted


# --- files the settings no longer ask for --------------------------------------------------------------


def test_a_feed_taken_out_of_the_settings_is_removed_with_its_folder(tmp_path: Path) -> None:
    # A feed of your own the user deletes from digest2feed.toml must stop being served: its three
    # files and its folder go, the page and feeds.opml stop listing it, and the folder is then
    # byte for byte what a first run with the new settings writes.
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    assert run_cli("update", SAMPLE, "-o", out, "-c", configure(tmp_path / "a", BY_KEY)).code == 0
    assert sorted(p.name for p in (out / "pineau").iterdir()) == ["atom.xml", "feed.json", "papers.bib", "rss.xml"]
    fewer = BY_KEY.replace('[[feeds]]\nname = "pineau"\nauthors = ["Joëlle PINEAU"]\n', "")
    assert fewer != BY_KEY
    r = run_cli("update", SAMPLE, "-o", out, "-c", configure(tmp_path / "b", fewer))
    assert (r.code, r.err) == (0, "")
    assert not (out / "pineau").exists()
    assert b"pineau" not in (out / "feeds.opml").read_bytes() and b"pineau/" not in (out / "index.html").read_bytes()
    assert (out / "dp" / "atom.xml").is_file()  # the others stay
    assert run_cli("update", SAMPLE, "-o", fresh, "-c", configure(tmp_path / "b", fewer)).code == 0
    assert snapshot(out) == snapshot(fresh)


def test_formats_and_the_page_turned_off_leave_only_what_is_asked_for(tmp_path: Path) -> None:
    # Turning RSS, JSON Feed and the page off removes the files of those formats everywhere we wrote
    # them. Files that are not ours stay: one without our fingerprint, one with a name we never
    # write, and a second output folder the user keeps inside this one (it has its own lock file).
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    assert run_cli("update", SAMPLE, "-o", out).code == 0
    assert run_cli("update", SAMPLE, "-o", out / "nested").code == 0
    (out / "mine").mkdir()
    (out / "mine" / "rss.xml").write_text("<rss>my own</rss>\n", encoding="utf-8")
    (out / "notes.txt").write_text("hello\n", encoding="utf-8")
    nested = snapshot(out / "nested")
    cfg = configure(tmp_path / "cfg", "", 'formats = ["atom"]\nhtml = false')
    r = run_cli("update", SAMPLE, "-o", out, "-c", cfg)
    assert (r.code, r.err) == (0, "")
    left = {rel for rel in snapshot(out) if not rel.startswith(("nested/", "archive/"))}
    assert left == {
        "atom.xml", "feeds.opml", "accepted/atom.xml", "submissions/atom.xml", "certified/atom.xml",
        "mine/rss.xml", "notes.txt",
        "accepted/papers.bib", "submissions/papers.bib", "certified/papers.bib",  # not a feed format
    }  # fmt: skip
    assert snapshot(out / "nested") == nested
    assert run_cli("update", SAMPLE, "-o", fresh, "-c", cfg).code == 0
    ours = {rel: data for rel, data in snapshot(out).items() if not rel.startswith(("nested/", "mine/", "notes"))}
    assert ours == snapshot(fresh)


def test_a_folder_from_the_version_before_gets_its_feed_bits_evaluated_again(tmp_path: Path) -> None:
    # tests/fixtures/upgrade-from-c4b2c13: a folder the previous version wrote (captured, not
    # hand-made), where archive/2023-01.xml stores bit 0 for paper A's superseded submission, as
    # that version did. A bit now says whether the filters match (1 for A#submitted), so the
    # first run of this version must evaluate every entry again, even though the digest it
    # reads names only a new paper: its folder must equal a regeneration of the same state.
    import shutil

    fixture = FIXTURES / "upgrade-from-c4b2c13"
    out, again = tmp_path / "out", tmp_path / "again"
    shutil.copytree(fixture / "out", out)
    old = (out / "archive" / "2023-01.xml").read_bytes()
    assert b"<!-- digest2feed-feeds 70759d4ec33e62ca 0 0 -->" in old
    cfg = fixture / "digest2feed.toml"
    assert run_cli("update", fixture / "weekly-2023-06-04.txt", "-o", out, "-c", cfg).code == 0
    assert b" 1 0 -->" in (out / "archive" / "2023-01.xml").read_bytes()
    shutil.copytree(out, again)
    assert run_cli("update", "--regenerate", "-o", again, "-c", cfg).code == 0
    assert snapshot(out) == snapshot(again)
