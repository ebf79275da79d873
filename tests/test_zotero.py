"""What Zotero makes of our feeds: every entry of every view, through a reconstruction of Zotero's
mapping (tests/zotero.py, rebuilt by hand from zotero/zotero's feedReader.js and FeedProcessor.mjs;
not Zotero's code). Then the bugs that mapping shows, planted one at a time: each must fail.

The facts the items are checked against come from the digests: for the sample, as the parser
reads them (test_digest.py checks the parser by hand); for the generated history, as this file
wrote them. A few items are written out in full by hand.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import escape, unescape
from pathlib import Path

import feedparser
import pytest

import zotero
from conftest import FIXTURES, SAMPLE, need_tool, run_cli, snapshot
from digest2feed import layout
from digest2feed.render import content, feeds
from digestgen import Generated, Item

JOURNAL = "Transactions on Machine Learning Research"
BASE = "https://feeds.example.org/tmlr/"
F = "https://openreview.net/forum?id="
NOON = timedelta(hours=12)
OWN = """
[[feeds]]
name = "maps"
match = ["sparse"]
[[feeds]]
name = "featured"
certifications = ["Featured Certification"]
[[feeds]]
name = "new"
status = ["submitted"]
"""


@dataclass
class Paper:
    """What the digests said about one paper: per rung, its announcement time, authors and abstract."""

    title: str
    at: dict[str, datetime] = field(default_factory=dict)
    authors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    abstract: dict[str, str] = field(default_factory=dict)
    certified: list[datetime] = field(default_factory=list)  # each certification's first announcement

    def entry_abstract(self, rung: str) -> str | None:
        """A rung without an abstract of its own shows the one announced below it."""
        for r in ("certified", "accepted", "submitted")[("certified", "accepted", "submitted").index(rung) :]:
            if self.abstract.get(r):
                return self.abstract[r]
        return None


def folders(out: Path) -> list[str]:
    return ["", "accepted/", "submissions/", "certified/", "maps/", "featured/", "new/"]


def configure(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "digest2feed.toml"
    cfg.write_text(f'base_url = "{BASE}"\n{extra}\n{OWN}', encoding="utf-8")
    return cfg


def problems(path: Path, papers: dict[str, Paper], version: int = 7) -> list[str]:
    """Each way an item Zotero builds from ``path`` differs from the paper as announced (none: [])."""
    data = path.read_bytes()
    found = zotero.items(data, version)
    rss = path.name == "rss.xml"
    main = path.parent.name == "out"
    bad = []
    for guid, it in found.items():
        forum, rung = guid.removeprefix(F).split("#")
        paper, f = papers[forum], it.fields
        want_title = paper.title
        if version < 7 and main:  # Zotero 6 knows no dc:title: the main feed's title says the status
            want_title = feedparser.parse(data).entries[[*found].index(guid)].title
        wants = {"title": want_title, "url": F + forum, "itemType": "journalArticle"}
        if rung == "submitted":
            wants |= {"publicationTitle": None, "ISSN": None}  # not in the journal yet
        else:
            wants |= {"publicationTitle": JOURNAL, "ISSN": "2835-8856"}
        wants["date"] = _sql(max([paper.at[rung], *paper.certified]) if rung == "certified" and not rss
                             else paper.at[rung])  # fmt: skip
        for name, want in wants.items():
            if f.get(name) != want:
                bad.append(f"{path.name} {guid}: {name} {f.get(name)!r}, not {want!r}")
        bad += _creators(path, guid, it, paper.authors.get(rung, ()), rss)
        bad += _abstract(path, guid, f.get("abstractNote"), paper.entry_abstract(rung), rss or not main, version)
        if it.attachments != [("PDF", "https://openreview.net/pdf?id=" + forum)]:
            bad.append(f"{path.name} {guid}: attachments {it.attachments}")
    return bad


def _sql(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def _creators(path: Path, guid: str, it: zotero.Item, authors: tuple[str, ...], rss: bool) -> list[str]:
    got = [(c.first, c.last) for c in it.creators]
    if not authors:  # anonymous: Atom's entries take the feed's author, RSS has none to give
        want = [] if rss else [("Transactions on Machine Learning", "Research")]
    else:  # one person per author, in order: the last word is the family name (true of every name here)
        want = [(" ".join(a.split()[:-1]), a.split()[-1]) for a in authors]
    return [] if got == want else [f"{path.name} {guid}: creators {got}, not {want}"]


def _abstract(path: Path, guid: str, got: str | None, abstract: str | None, plain: bool, version: int) -> list[str]:
    """``plain``: a file whose abstract is the plain one for Zotero 7 too (RSS, and the Atom of the
    views and your own feeds, which give no content); else the main feed's Atom, whose content wins."""
    if abstract is None:  # no abstract to give: every file keeps the HTML body, which Zotero 7 stores
        if version < 7:  # Zotero 6 reads the summary: none in Atom, RSS's description (the body) as text
            want_none = path.name == "atom.xml"
            return [] if (got is None) == want_none else [f"{path.name} {guid}: abstractNote {got!r} from Zotero 6"]
        return [] if got and got.startswith("<p") else [f"{path.name} {guid}: abstractNote {got!r}, not the body"]
    if version < 7:  # Zotero 6: the summary's text, whitespace folded
        want = zotero.trim_internal(abstract)
    elif plain:  # dc:description or Atom summary, through XMLSerializer: the abstract with &, <, > escaped
        want = escape(abstract, quote=False)
    else:  # Zotero 7 prefers Atom content: the main feed's HTML body, in which the whole abstract stands
        shown = zotero.trim_internal(unescape(re.sub(r"<[^>]+>", " ", got or "")))
        whole = zotero.trim_internal(abstract)
        return [] if whole in shown else [f"{path.name} {guid}: abstract not whole in {shown[:120]!r}…"]
    return [] if got == want else [f"{path.name} {guid}: abstractNote {(got or '')[:80]!r}…, not {want[:80]!r}…"]


def readers(path: Path, papers: dict[str, Paper]) -> list[str]:
    """What feedparser reads: the exact title outside the main feed, the forum as the link, and the
    whole abstract as the summary (Atom summary; RSS dc:description, the first of the item's two
    descriptions), with the HTML body as the content where a reader shows it (checked by
    test_feeds.py and test_math.py): in RSS and the main feed's Atom, not in a view's Atom."""
    bad = []
    view = path.parent.name != "out"
    for e in feedparser.parse(path.read_bytes()).entries:
        forum, rung = e.id.removeprefix(F).split("#")
        paper, abstract = papers[forum], papers[forum].entry_abstract(rung)
        if view and e.title != paper.title:
            bad.append(f"{path} {e.id}: title {e.title!r}")
        if e.get("link") != F + forum:
            bad.append(f"{path} {e.id}: link {e.get('link')!r}")
        # A view's Atom gives the abstract alone; an entry with none keeps the body (with no text
        # at all the validator warns). RSS: feedparser's content is checked elsewhere.
        if path.name == "atom.xml" and ("content" in e) != (not view or abstract is None):
            bad.append(f"{path} {e.id}: content {'in a view' if view else 'missing from the main feed'}")
        got = e.get("summary") if path.name == "atom.xml" else unescape(e.get("summary", ""))  # RSS: it is HTML
        if abstract is not None and got != abstract:  # none: feedparser gives the content as summary
            bad.append(f"{path} {e.id}: summary {(got or '')[:60]!r}…, not {(abstract or '')[:60]!r}…")
    return bad


def every_file(out: Path) -> list[Path]:
    files = [out / f"{folder}{name}" for folder in folders(out) for name in ("atom.xml", "rss.xml")]
    assert all(p.is_file() for p in files)
    return files


# --- the sample and the certification fixture ---------------------------------------------------------


def parsed(*inputs: Path) -> dict[str, Paper]:
    """The papers as announced, from `digest2feed parse --json`: each digest's day at noon UTC
    minus one second per entry above (the parser's positions: certifications, acceptances,
    submissions, as in the text)."""
    papers: dict[str, Paper] = {}
    for digest in json.loads(run_cli("parse", *inputs, "--json").out)["digests"]:
        day = datetime.fromisoformat(digest["date"]).replace(tzinfo=UTC) + NOON
        text = Path(digest["source"]).read_text(encoding="utf-8")
        order = [m[1] for m in re.finditer(r"https://openreview\.net/forum\?id=([A-Za-z0-9_-]+)", text)]
        for p in digest["papers"]:
            paper = papers.setdefault(p["id"], Paper(p["title"]))
            rungs = ["submitted", "accepted", "certified"][
                : ["submitted", "accepted", "certified"].index(p["status"]) + 1
            ]
            for rung, pos in zip(reversed(rungs), [i for i, fid in enumerate(order) if fid == p["id"]], strict=False):
                paper.at.setdefault(rung, day - timedelta(seconds=pos))
                paper.authors.setdefault(rung, tuple(p["authors"]))
                if p["abstract"]:
                    paper.abstract.setdefault(rung, p["abstract"])
            if p["certifications"]:
                paper.certified.append(paper.at["certified"])
    return papers


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict[str, Paper]]:
    tmp = tmp_path_factory.mktemp("zotero")
    out = tmp / "out"
    inputs = (SAMPLE, FIXTURES / "certifications-2024-03-10.txt")
    r = run_cli("update", *inputs, "-o", out, "-c", configure(tmp))
    assert (r.code, r.err) == (0, "")
    return out, parsed(*inputs)


def test_the_facts_of_the_sample_as_the_test_reads_them(sample):
    """The test's own reading of the digests, checked by hand against the texts."""
    _, papers = sample
    gf = papers["JkIH4MeOc3"]
    assert gf.title == "Group Fairness in Reinforcement Learning"
    assert gf.at == {"accepted": datetime(2023, 4, 30, 12, tzinfo=UTC)}  # the digest's first entry
    assert gf.authors["accepted"] == ("Harsh Satija", "Alessandro Lazaric", "Matteo Pirotta", "Joelle Pineau")
    assert gf.abstract["accepted"].startswith("We pose and study the problem of satisfying fairness")
    sm = papers["AbCdEf1234"]  # certified and accepted in one digest: two entries above it, the certification first
    assert sm.at == {
        "certified": datetime(2024, 3, 10, 12, tzinfo=UTC),
        "accepted": datetime(2024, 3, 10, 11, 59, 58, tzinfo=UTC),
    }
    assert sm.entry_abstract("certified") == sm.abstract["accepted"] and "$\\epsilon < 1$" in sm.abstract["accepted"]
    assert papers["t1kKoTSWwp"].authors == {"submitted": ()}


def test_group_fairness_in_zotero_written_out_by_hand(sample):
    out, papers = sample
    for path in (out / "accepted" / "atom.xml", out / "accepted" / "rss.xml", out / "atom.xml", out / "rss.xml"):
        it = zotero.items(path.read_bytes())[F + "JkIH4MeOc3#accepted"]
        assert {k: v for k, v in it.fields.items() if k != "abstractNote"} == {
            "title": "Group Fairness in Reinforcement Learning",
            "url": "https://openreview.net/forum?id=JkIH4MeOc3",
            "date": "2023-04-30 12:00:00",
            "publicationTitle": "Transactions on Machine Learning Research",
            "ISSN": "2835-8856",
            "itemType": "journalArticle",
            **(
                {"language": "en"} if path.name == "rss.xml" else {}
            ),  # RSS says its language, Atom's xml:lang is not read
        }, path
        assert [(c.first, c.last, c.single_field) for c in it.creators] == [
            ("Harsh", "Satija", False), ("Alessandro", "Lazaric", False),
            ("Matteo", "Pirotta", False), ("Joelle", "Pineau", False),
        ], path  # fmt: skip
        assert it.attachments == [("PDF", "https://openreview.net/pdf?id=JkIH4MeOc3")]
        note = it.fields["abstractNote"]
        if path != out / "atom.xml":  # RSS's dc:description, the accepted view's Atom summary: the abstract
            assert note.startswith("We pose and study the problem") and note.endswith(
                "performing a fair learning process."
            )
            assert note == papers["JkIH4MeOc3"].abstract["accepted"], path  # whole, and nothing around it
        else:  # Zotero 7 takes the main feed's Atom content: the status, the authors, then the whole abstract
            assert note.startswith(f'<p xmlns="{zotero.XHTML}"><strong>Accepted</strong></p>')
            assert "performing a fair learning process.</p>" in note


def test_an_anonymous_submission_in_zotero(sample):
    out, _ = sample
    atom = zotero.items((out / "submissions" / "atom.xml").read_bytes())[F + "t1kKoTSWwp#submitted"]
    rss = zotero.items((out / "submissions" / "rss.xml").read_bytes())[F + "t1kKoTSWwp#submitted"]
    assert atom.fields["title"] == rss.fields["title"] == "Offline Equilibrium Finding"
    # Atom must name an author (RFC 4287): the journal, at feed level, and Zotero takes it. RSS names none.
    assert [(c.first, c.last) for c in atom.creators] == [("Transactions on Machine Learning", "Research")]
    assert rss.creators == []
    assert "publicationTitle" not in atom.fields and "ISSN" not in rss.fields


def test_every_view_of_the_sample_lands_whole_in_zotero(sample):
    out, papers = sample
    checked = 0
    for path in every_file(out):
        assert problems(path, papers) == [], path
        assert problems(path, papers, version=6) == [], path
        assert readers(path, papers) == [], path
        checked += len(zotero.items(path.read_bytes()))
    # Main 7 accepted + 17 submitted + 2 certified; accepted view 9; submissions 17; certified 2; "maps" 4
    # (Sparse Maps, and three sample abstracts say "sparse": grep -i); "featured" 1; "new" 17. Twice (Atom, RSS).
    assert checked == 2 * (26 + 9 + 17 + 2 + 4 + 1 + 17)


def test_the_main_feed_keeps_the_status_for_readers_and_gives_zotero_the_exact_title(sample):
    out, _ = sample
    for name in ("atom.xml", "rss.xml"):
        data = (out / name).read_bytes()
        shown = {e.id: e.title for e in feedparser.parse(data).entries}
        assert shown[F + "AbCdEf1234#certified"] == "Certified (Featured, Survey): Sparse Maps: A Study of Things"
        assert zotero.items(data)[F + "AbCdEf1234#certified"].fields["title"] == "Sparse Maps: A Study of Things"
        assert zotero.items(data, 6)[F + "AbCdEf1234#certified"].fields["title"] == shown[F + "AbCdEf1234#certified"]


def newsboat_items(newsboat: str, path: Path, home: Path) -> dict[str, tuple[str, str, str, str]]:
    """guid → (title, author, content, url) as newsboat stores what it shows, one cache per file (it
    shows an entry once across feeds)."""
    home.mkdir()
    (home / "urls").write_text(f"file://{path}\n", encoding="utf-8")
    cmd = [newsboat, "-u", str(home / "urls"), "-c", str(home / "cache.db"), "-x", "reload"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60, env={"HOME": str(home), "PATH": "/usr/bin"})
    with sqlite3.connect(home / "cache.db") as db:
        rows = db.execute("SELECT guid, title, author, content, url FROM rss_item")
        return {g: (t, a, c, u) for g, t, a, c, u in rows}


def test_newsboat_lists_the_status_in_the_main_feed_and_the_exact_title_in_the_views(sample, tmp_path):
    newsboat = need_tool("newsboat")
    out, papers = sample
    sm, sub = F + "AbCdEf1234#certified", F + "t1kKoTSWwp#submitted"
    for n, (folder, name) in enumerate(
        (f, x) for f in ("", "accepted/", "submissions/") for x in ("atom.xml", "rss.xml")
    ):
        shown = newsboat_items(newsboat, out / folder / name, tmp_path / str(n))
        plain = bool(folder) and name == "atom.xml"  # a view's Atom: no HTML body, newsboat shows the summary
        if folder != "submissions/":
            title, author, body, url = shown[sm]
            assert title == ("Certified (Featured, Survey): " if not folder else "") + "Sparse Maps: A Study of Things"
            assert author == "Ada Lovelace, José Núñez, Wei ZHANG"
            assert url == F + "AbCdEf1234"
            if plain:  # the abstract exactly as the digest gave it, TeX and line breaks as written
                assert body == papers["AbCdEf1234"].abstract["accepted"]
                assert body.startswith("We study sparse maps.\nTitle: this line") and "$\\epsilon < 1$" in body
            else:  # where the title no longer says it, the article still does, first thing
                status = "<p><strong>Accepted · Featured Certification · Survey Certification</strong></p>"
                assert body.startswith(status)
        if folder != "accepted/":
            title, author, body, url = shown[sub]
            assert (title, author, url) == ("Offline Equilibrium Finding", "", F + "t1kKoTSWwp")  # no author invented
            if plain:
                assert body == papers["t1kKoTSWwp"].abstract["submitted"]
            else:
                assert body.startswith("<p><strong>New submission</strong></p>")


# --- a generated history: a late certification, a second one, a paper certified unseen -----------------


def history() -> tuple[list[Generated], dict[str, Paper]]:
    tex = 'We bound $a < b$ and $x<y$ for R&D \\emph{e.g.} 88\\% of\nthe time.\n\nA second paragraph, "quoted".'
    lace = ("Ada Lovelace", "José Núñez", "Wei ZHANG")
    d1, d2, d3, d4, d5 = (date(2024, 1, 7) + timedelta(weeks=w) for w in (0, 1, 2, 4, 6))
    late = Item("LateCert01", "Sparse Late Bloomers", lace, tex)
    twice = Item("TwiceCert2", "Certified Twice: Sparse and Dense", ("Grace Hopper", "Zoë Ångström"), "Twice.")
    digests = [
        Generated(d1, submitted=(late, Item("AnonSub003", "Only Submitted", (), "Under review.\nStill."))),
        Generated(d2, accepted=(late, twice)),
        Generated(d3, certified=(Item(twice.forum_id, twice.title, twice.authors, "", ("Survey Certification",)),)),
        Generated(d4, certified=(Item(late.forum_id, late.title, lace, "", ("Featured Certification",)),),
                  accepted=(Item("Direct0004", "Accepted Unseen Before", ("Søren Kierkegaard",), "Direct."),)),
        Generated(d5, certified=(Item(twice.forum_id, twice.title, twice.authors, "", ("Expert Certification",)),
                                 Item("CertOnly05", "Certified, Acceptance Unseen", ("Alan Turing",), "",
                                      ("Featured Certification",)))),
    ]  # fmt: skip
    at = {d: datetime(d.year, d.month, d.day, tzinfo=UTC) + NOON for d in (d1, d2, d3, d4, d5)}
    papers = {
        "LateCert01": Paper(late.title, {"submitted": at[d1], "accepted": at[d2], "certified": at[d4]},
                            {"submitted": (), "accepted": lace, "certified": lace},
                            {"submitted": tex, "accepted": tex}, [at[d4]]),
        "AnonSub003": Paper("Only Submitted", {"submitted": at[d1] - timedelta(seconds=1)}, {"submitted": ()},
                            {"submitted": "Under review.\nStill."}),
        "TwiceCert2": Paper(twice.title, {"accepted": at[d2] - timedelta(seconds=1), "certified": at[d3]},
                            {"accepted": twice.authors, "certified": twice.authors}, {"accepted": "Twice."},
                            [at[d3], at[d5]]),
        "Direct0004": Paper("Accepted Unseen Before", {"accepted": at[d4] - timedelta(seconds=1)},
                            {"accepted": ("Søren Kierkegaard",)}, {"accepted": "Direct."}),
        "CertOnly05": Paper("Certified, Acceptance Unseen", {"certified": at[d5] - timedelta(seconds=1)},
                            {"certified": ("Alan Turing",)}, {}, [at[d5] - timedelta(seconds=1)]),
    }  # fmt: skip
    return digests, papers


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict[str, Paper], Path]:
    """The history one digest per run (so each run splices into the files of the one before), and
    the same digests in one run into another folder."""
    tmp = tmp_path_factory.mktemp("history")
    digests, papers = history()
    for g in digests:
        (tmp / g.name).write_text(g.text, encoding="utf-8")
    cfg, out, once = configure(tmp, "max_entries = 3"), tmp / "out", tmp / "once"
    for g in digests:
        assert run_cli("update", tmp / g.name, "-o", out, "-c", cfg).code == 0
    assert run_cli("update", *(tmp / g.name for g in reversed(digests)), "-o", once, "-c", cfg).code == 0
    return out, papers, once


def test_every_view_of_a_history_with_late_certifications_lands_whole_in_zotero(generated):
    out, papers, once = generated
    assert snapshot(out) == snapshot(once)  # run by run (spliced) or in one run: the same bytes
    seen: set[str] = set()
    for path in every_file(out):
        assert problems(path, papers) == [], path
        assert problems(path, papers, version=6) == [], path
        assert readers(path, papers) == [], path
        seen |= set(zotero.items(path.read_bytes()))
    # The late certification, the paper certified twice (Atom's date: its latest certification), the rest.
    assert seen == {F + i for i in ("LateCert01#certified", "TwiceCert2#certified", "CertOnly05#certified",
                                    "Direct0004#accepted", "AnonSub003#submitted", "LateCert01#submitted")}  # fmt: skip
    twice = F + "TwiceCert2#certified"
    assert zotero.items((out / "certified" / "atom.xml").read_bytes())[twice].fields["date"] == "2024-02-18 12:00:00"
    assert zotero.items((out / "certified" / "rss.xml").read_bytes())[twice].fields["date"] == "2024-01-21 12:00:00"


def test_a_tex_abstract_reaches_zotero_escaped_only_as_zotero_escapes_every_feed(generated):
    out, papers, _ = generated
    it = zotero.items((out / "accepted" / "rss.xml").read_bytes())[F + "LateCert01#certified"]
    assert it.fields["abstractNote"] == (
        'We bound $a &lt; b$ and $x&lt;y$ for R&amp;D \\emph{e.g.} 88\\% of\nthe time.\n\nA second paragraph, "quoted".'
    )  # XMLSerializer escapes &, < and > in any text; the feed pane shows them as written
    assert (
        zotero.items((out / "accepted" / "rss.xml").read_bytes(), 6)[F + "LateCert01#certified"].fields["abstractNote"]
        == 'We bound $a < b$ and $x<y$ for R&D \\emph{e.g.} 88\\% of the time. A second paragraph, "quoted".'
    )


def test_two_authors_after_a_one_word_name_are_one_person_in_zotero_from_rss_only(tmp_path):
    """Zotero reads one name list ("Mausam, Ada Lovelace") as "Last, First" when its first part has
    no space: a limit of its heuristic for RSS, where one dc:creator holds all names. Atom is exact."""
    g = Generated(date(2024, 1, 7), accepted=(Item("MonoName06", "One Word", ("Mausam", "Ada Lovelace"), "A."),))
    (tmp_path / g.name).write_text(g.text, encoding="utf-8")
    assert run_cli("update", tmp_path / g.name, "-o", tmp_path / "out").code == 0
    atom = zotero.items((tmp_path / "out" / "accepted" / "atom.xml").read_bytes())[F + "MonoName06#accepted"]
    rss = zotero.items((tmp_path / "out" / "accepted" / "rss.xml").read_bytes())[F + "MonoName06#accepted"]
    assert [(c.first, c.last, c.single_field) for c in atom.creators] == [
        ("", "Mausam", True),
        ("Ada", "Lovelace", False),
    ]
    assert [(c.first, c.last) for c in rss.creators] == [("Ada Lovelace", "Mausam")]


def test_a_folder_written_with_the_body_in_the_views_atom_loses_it_on_the_next_run(tmp_path, monkeypatch):
    """A folder from before (the views' Atom with the HTML body as content): the next run, with
    nothing new, rewrites those files (their fingerprint says the body) and leaves every other one."""
    cfg, old, fresh = configure(tmp_path), tmp_path / "old", tmp_path / "fresh"
    with monkeypatch.context() as m:
        _body_in_views(m)
        assert run_cli("update", SAMPLE, "-o", old, "-c", cfg).code == 0
    before = snapshot(old)
    assert b"<content" in before["accepted/atom.xml"] and b"<content" in before["maps/atom.xml"]
    assert run_cli("update", SAMPLE, "-o", old, "-c", cfg).code == 0
    assert run_cli("update", SAMPLE, "-o", fresh, "-c", cfg).code == 0
    after = snapshot(old)
    assert after == snapshot(fresh)
    changed = {rel for rel in after if after[rel] != before.get(rel)}
    views = ("accepted", "submissions", "certified", "maps", "featured", "new")
    assert changed == {f"{v}/atom.xml" for v in views}
    assert not any(b"<content" in after[rel] for rel in changed)


# --- the bugs the mapping shows, planted one at a time ------------------------------------------------


def _prefix_in_views(monkeypatch):  # the views and your own feeds show the status in titles again
    real = content.shown_title
    monkeypatch.setattr(content, "shown_title", lambda e, status=True: real(e, True))


def _prefix_in_dc_title(monkeypatch):  # the title Zotero takes (dc:title) says the status
    real = feeds.library
    monkeypatch.setattr(feeds, "library", lambda e, s: [(n, content.shown_title(e, s) if n == "title" else t)
                                                        for n, t in real(e, s)])  # fmt: skip


def _abstract_cut(monkeypatch):  # the summary of before: the status, then the abstract cut at 300 characters
    monkeypatch.setattr(content, "summary", lambda e: e.abstract and f"{e.rung.label}. {e.abstract[:300]} …")


def _body_in_views(monkeypatch):  # the views' and your own feeds' Atom carry the HTML body as content again
    real = layout.Document
    monkeypatch.setattr(layout, "Document", lambda **kw: real(**{**kw, "body": True}))


def _journal_missing(monkeypatch):
    real = feeds.library
    monkeypatch.setattr(feeds, "library", lambda e, s: [(n, t) for n, t in real(e, s) if n != "source"])


@pytest.mark.parametrize(
    ("plant", "version", "expect"),
    [
        (_prefix_in_views, 6, "title 'Accepted: "),
        (_prefix_in_views, "readers", "title 'Accepted: "),
        (_prefix_in_dc_title, 7, "title 'Certified (Featured): "),
        (_abstract_cut, 7, "abstractNote 'Accepted. "),
        (_abstract_cut, 6, "abstractNote 'Accepted. "),
        (_abstract_cut, "readers", "summary 'Accepted. "),
        (_body_in_views, 7, f'abstractNote \'<p xmlns="{zotero.XHTML}"><strong>Accepted'),
        (_body_in_views, "readers", "content in a view"),
        (_journal_missing, 7, "publicationTitle None, not 'Transactions on Machine Learning Research'"),
        (_journal_missing, 6, "publicationTitle None"),
    ],
)
def test_a_planted_bug_fails_the_check(plant, version, expect, tmp_path, monkeypatch):
    digests, papers = history()
    for g in digests:
        (tmp_path / g.name).write_text(g.text, encoding="utf-8")
    plant(monkeypatch)
    content.html.cache_clear()
    out = tmp_path / "out"
    assert run_cli("update", *(tmp_path / g.name for g in digests), "-o", out, "-c", configure(tmp_path)).code == 0
    found = []
    for path in every_file(out):
        found += readers(path, papers) if version == "readers" else problems(path, papers, version)
    assert found and any(expect in line for line in found), found[:5]
