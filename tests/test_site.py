"""The site for people without a feed reader: week pages, the index of weeks, the search index.

What is on disk after real runs, read back with lxml and json; expected values come from
the digests' own text (the order of their URL lines) or are worked out by hand in comments.
Chromium's view of the same pages is in test_site_browser.py.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from lxml import html

from conftest import FIXTURES, SAMPLE, mtimes, run_cli, snapshot
from digest2feed.digest import parse_digest
from digest2feed.layout import Ref
from digest2feed.merge import entries, records
from digest2feed.render import search
from digest2feed.render.stamp import ref_of
from digest2feed.weeks import label, week_of
from digestgen import Item, digest_text

CERTS = FIXTURES / "certifications-2024-03-10.txt"
DAILY = FIXTURES / "daily-2025-11-06.txt"


def urls(path: Path, heading: str) -> list[str]:
    """The forum ids of one section of a digest, in its order, read from the text itself."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n") if f"\n{heading}\n" in text else -1
    if start < 0:
        return []
    nxt = re.search(r"\n\n([A-Z][a-z ]+)\n=+\n", text[start + len(heading) + 2 :])
    body = text[start : start + len(heading) + 2 + (nxt.start() if nxt else len(text))]
    return re.findall(r"https://openreview\.net/forum\?id=([A-Za-z0-9_-]+)", body)


def index_of(out: Path) -> dict:
    data = (out / "search-index.js").read_bytes()
    assert data.startswith(b"digest2feed.index(")
    return json.loads(data[len(b"digest2feed.index(") : data.rindex(b");\n")])


def items_of(out: Path) -> list[tuple[str, str, str, list]]:
    """(week, day, label, item) of every paper in the search index, in its order: each paper's
    line follows the [day, week] line of its digest day."""
    index, rows, day, week = index_of(out), [], None, None
    for row in index["items"]:
        if len(row) == 2:
            day, week = row
        else:
            rows.append((week, day, index["weeks"][week], row))
    return rows


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "out"
    r = run_cli("update", SAMPLE, CERTS, DAILY, "-o", out, "-q")
    assert r.code == 0, r.err
    return out


def test_weeks_end_on_sunday_and_read_as_people_write_them():
    assert week_of("2023-04-30T12:00:00+00:00") == "2023-04-30"  # a Sunday: its own week
    assert week_of("2023-04-24T11:59:40+00:00") == "2023-04-30"  # the Monday before
    assert week_of("2023-04-23T12:00:00+00:00") == "2023-04-23"  # the Sunday before: the week before
    assert week_of("2025-11-06T12:00:00+00:00") == "2025-11-09"  # the daily fixture, a Thursday
    assert week_of("2022-12-26T12:00:00+00:00") == "2023-01-01"  # a Monday of the year before
    assert label("2023-04-30") == "24–30 April 2023"
    assert label("2023-06-04") == "29 May – 4 June 2023"
    assert label("2023-01-01") == "26 December 2022 – 1 January 2023"


def test_a_page_per_week_with_its_papers_by_section_in_the_digest_order(site):
    assert sorted(p.name for p in (site / "weeks").iterdir()) == [
        "2023-04-30.html", "2024-03-10.html", "2025-11-09.html", "index.html",
    ]  # fmt: skip
    dom = html.parse(site / "weeks" / "2023-04-30.html").getroot()
    assert dom.xpath("string(//h1)") == "The week of 24–30 April 2023"
    assert [h.text_content() for h in dom.xpath("//main/section/h2")] == ["Accepted papers", "New submissions"]
    for section, heading in zip(dom.xpath("//main/section"), ["Accepted papers", "New submissions"], strict=True):
        shown = [a.get("href").rpartition("=")[2] for a in section.xpath(".//article/h3/a")]
        assert shown == urls(SAMPLE, heading)
    assert len(dom.xpath("//main//article")) == 24 == 7 + 17
    assert dom.xpath("string(//header/p[@class='meta'])") == "24 papers: 7 accepted · 17 new submissions"
    # The same paper as on index.html: badges, date, PDF, authors, abstract and BibTeX behind <details>.
    first = dom.xpath("//main//article")[0]
    assert first.xpath("string(h3)") == "Group Fairness in Reinforcement Learning"
    assert [s.text_content() for s in first.xpath(".//span[@class='badge']")] == ["Accepted"]
    assert first.xpath(".//a[text()='PDF']/@href") == ["https://openreview.net/pdf?id=JkIH4MeOc3"]
    assert first.xpath("string(p[@class='meta'])") == "Harsh Satija, Alessandro Lazaric, Matteo Pirotta, Joelle Pineau"
    assert [d.xpath("string(summary)") for d in first.xpath("details")] == ["Abstract", "BibTeX"]
    index = html.parse(site / "index.html").getroot()
    same = index.xpath("//main//article[h3/a[contains(@href, 'JkIH4MeOc3')]]")[0]
    assert html.tostring(same) == html.tostring(first)


def test_a_paper_certified_and_accepted_in_one_digest_is_in_both_sections(site):
    dom = html.parse(site / "weeks" / "2024-03-10.html").getroot()
    sections = {s.xpath("string(h2)"): s for s in dom.xpath("//main/section")}
    assert list(sections) == ["New certifications", "Accepted papers"]
    certified = [a.get("href").rpartition("=")[2] for a in sections["New certifications"].xpath(".//h3/a")]
    assert certified == urls(CERTS, "New certifications") == ["AbCdEf1234", "Xy_Z-09876"]
    badges = sections["New certifications"].xpath(".//article")[0].xpath(".//span[@class='badge']")
    assert [b.text_content() for b in badges] == ["Certified", "Featured Certification", "Survey Certification"]
    assert [a.get("href") for a in sections["Accepted papers"].xpath(".//h3/a")] == [
        "https://openreview.net/forum?id=AbCdEf1234"
    ]


def test_previous_and_next_links_lead_through_every_week(site):
    links = {}
    for name in ("2023-04-30", "2024-03-10", "2025-11-09"):
        dom = html.parse(site / "weeks" / f"{name}.html").getroot()
        nav = dom.xpath("//nav[@class='weeks']")
        assert len(nav) == 2  # above and below the papers
        links[name] = (nav[0].xpath("a[@rel='prev']/@href"), nav[0].xpath("a[@rel='next']/@href"))
        assert dom.xpath("//header//a/@href") == ["../index.html", "index.html"]
    assert links == {
        "2023-04-30": ([], ["2024-03-10.html"]),
        "2024-03-10": (["2023-04-30.html"], ["2025-11-09.html"]),
        "2025-11-09": (["2024-03-10.html"], []),
    }


def test_the_index_of_weeks_lists_every_week_newest_first_with_its_counts(site):
    dom = html.parse(site / "weeks" / "index.html").getroot()
    rows = [(li.xpath("string(a/@href)"), li.xpath("string(a)"), li.xpath("string(span)")) for li in dom.xpath("//li")]
    assert rows == [
        ("2025-11-09.html", "3–9 November 2025", "1 accepted · 1 new submission"),  # the 'Retractions' entry is skipped
        ("2024-03-10.html", "4–10 March 2024", "2 certifications · 1 accepted"),
        ("2023-04-30.html", "24–30 April 2023", "7 accepted · 17 new submissions"),
    ]
    assert [h.text_content() for h in dom.xpath("//main//h2")] == ["2025", "2024", "2023"]
    for href, _, _ in rows:
        assert (site / "weeks" / href).is_file()


def test_index_html_groups_its_papers_by_week_and_links_to_the_weeks(site):
    dom = html.parse(site / "index.html").getroot()
    headings = dom.xpath("//main/section/h2/a")
    assert [(a.get("href"), a.text_content()) for a in headings] == [
        ("weeks/2025-11-09.html", "The week of 3–9 November 2025"),
        ("weeks/2024-03-10.html", "The week of 4–10 March 2024"),
        ("weeks/2023-04-30.html", "The week of 24–30 April 2023"),
    ]
    assert [len(s.xpath(".//article")) for s in dom.xpath("//main/section")] == [2, 2, 24]  # each paper's newest entry
    assert dom.xpath("//header//a/@href") == ["weeks/index.html"]
    # The search box is there only for JavaScript to show; the page holds one script, ours.
    assert dom.xpath("//section[@id='search']/@hidden") == [""]
    assert dom.xpath("//script/@src") == ["search.js"] and not dom.xpath("//script[not(@src)]")


def test_the_search_index_holds_every_paper_once_at_its_newest_rung(site):
    rows = items_of(site)
    assert len(rows) == 24 + 2 + 2
    by_id = {it[0]: (w, d, lab, it) for w, d, lab, it in rows}
    assert len(by_id) == len(rows)
    assert by_id["AbCdEf1234"] == (
        "2024-03-10", "2024-03-10", "4–10 March 2024",
        ["AbCdEf1234", 2, "Sparse Maps: A Study of Things", "Ada Lovelace,José Núñez,Wei ZHANG",
         ["Featured Certification", "Survey Certification"]],
    )  # fmt: skip
    assert by_id["DailySub01"] == ("2025-11-09", "2025-11-06", "3–9 November 2025", ["DailySub01", 0,
                                   "An Anonymous Daily Submission", ""])  # fmt: skip
    assert by_id["JkIH4MeOc3"][3][:2] == ["JkIH4MeOc3", 1]
    # Newest first, and within a digest in its own order.
    assert [it[0] for w, _, _, it in rows if w == "2023-04-30"] == urls(SAMPLE, "Accepted papers") + urls(
        SAMPLE, "New submissions"
    )
    assert [w for w, *_ in rows] == sorted((w for w, *_ in rows), reverse=True)


HOSTILE_TITLE = "</script><script>alert(1)</script> \"a\" 'b' <!-- x --> & javascript:alert(2)"


def test_the_search_index_cannot_end_a_script_and_keeps_every_text(tmp_path):
    hostile = tmp_path / "hostile.txt"
    hostile.write_text(digest_text(date(2024, 6, 2), accepted=[Item("Hostile001", HOSTILE_TITLE, ("</script>",))]))
    out = tmp_path / "out"
    assert run_cli("update", hostile, "-o", out, "-q").code == 0
    data = (out / "search-index.js").read_bytes()
    body = data[: data.rindex(b"// <!-- digest2feed ")]  # the fingerprint comment is ours
    for unsafe in (b"<", b">", b"&", "\u2028".encode(), b"</script"):
        assert unsafe not in body
    (row,) = items_of(out)
    assert row[3][2] == HOSTILE_TITLE and row[3][3] == "</script>"
    # The parser makes U+2028 and U+2029 a space in titles and names; written anyway, they are escaped.
    assert search._json(["a\u2028b\u2029<"]) == '["a\\u2028b\\u2029\\u003c"]'


def test_a_run_that_adds_nothing_rewrites_nothing_and_a_new_week_rewrites_only_its_neighbour(tmp_path):
    out = tmp_path / "out"
    assert run_cli("update", SAMPLE, "-o", out, "-q").code == 0
    before, times = snapshot(out), mtimes(out)
    assert run_cli("update", SAMPLE, "-o", out, "-q").code == 0
    assert (snapshot(out), mtimes(out)) == (before, times)
    assert run_cli("update", "-o", out, "-q").code == 0  # a regeneration gives the same bytes: nothing written
    assert (snapshot(out), mtimes(out)) == (before, times)
    # A later week: its page, and the page before it gains a "next" link.
    assert run_cli("update", CERTS, "-o", out, "-q").code == 0
    changed = {rel for rel, t in mtimes(out).items() if times.get(rel) != t}
    assert {"index.html", "search-index.js", "weeks/index.html", "weeks/2024-03-10.html"} <= changed
    assert "weeks/2023-04-30.html" in changed  # its "next" link
    assert "search.js" not in changed  # the code and its tables do not depend on the papers
    # A late digest of an earlier week: its page and the two around it; no other week page.
    times = mtimes(out)
    early = tmp_path / "early.txt"
    early.write_text(digest_text(date(2023, 1, 8), submitted=[Item("Early00001", "An early paper", abstract="x")]))
    far = tmp_path / "far.txt"
    far.write_text(digest_text(date(2022, 6, 5), submitted=[Item("Far0000001", "A far paper", abstract="y")]))
    assert run_cli("update", far, "-o", out, "-q").code == 0
    times = mtimes(out)
    assert run_cli("update", early, "-o", out, "-q").code == 0
    changed = {rel for rel, t in mtimes(out).items() if times.get(rel) != t}
    weeks_changed = {rel for rel in changed if rel.startswith("weeks/2")}
    assert weeks_changed == {"weeks/2023-01-08.html", "weeks/2022-06-05.html", "weeks/2023-04-30.html"}
    # The index of weeks has one more week (its newest week and date are the same as before).
    assert "weeks/index.html" in changed and b'href="2023-01-08.html"' in (out / "weeks" / "index.html").read_bytes()
    assert "weeks/2024-03-10.html" not in changed


def test_a_promotion_rewrites_the_week_that_shows_it_not_the_week_of_the_submission(tmp_path):
    out = tmp_path / "out"
    assert run_cli("update", SAMPLE, "-o", out, "-q").code == 0
    times = mtimes(out)
    # The sample's first new submission, accepted three weeks later (constructed).
    accept = tmp_path / "accept.txt"
    paper = Item("t1kKoTSWwp", "Offline Equilibrium Finding", ("Ada Lovelace",), abstract="Accepted now.")
    accept.write_text(digest_text(date(2023, 5, 21), accepted=[paper]))
    assert run_cli("update", accept, "-o", out, "-q").code == 0
    changed = {rel for rel, t in mtimes(out).items() if times.get(rel) != t}
    assert "weeks/2023-04-30.html" in changed  # only for its new "next" link
    old = html.parse(out / "weeks" / "2023-04-30.html").getroot()
    assert len(old.xpath("//article")) == 24  # the submission is still shown where it was announced
    new = html.parse(out / "weeks" / "2023-05-21.html").getroot()
    assert [a.get("href") for a in new.xpath("//article/h3/a")] == ["https://openreview.net/forum?id=t1kKoTSWwp"]
    row = next(r for r in items_of(out) if r[3][0] == "t1kKoTSWwp")
    assert row[:2] == ("2023-05-21", "2023-05-21") and row[3][1] == 1 and row[3][3] == "Ada Lovelace"
    assert len(items_of(out)) == 24  # still once
    # Another digest later: the week of the submission is left alone now.
    times = mtimes(out)
    later = tmp_path / "later.txt"
    later.write_text(digest_text(date(2023, 6, 4), submitted=[Item("Later00001", "Later", abstract="z")]))
    assert run_cli("update", later, "-o", out, "-q").code == 0
    assert mtimes(out)["weeks/2023-04-30.html"] == times["weeks/2023-04-30.html"]


def test_the_same_digests_in_any_order_give_the_same_tree(tmp_path):
    accept = tmp_path / "accept.txt"
    accept.write_text(digest_text(date(2023, 5, 21), accepted=[Item("t1kKoTSWwp", "Offline", ("Ada",), "x")]))
    orders = [[SAMPLE, CERTS, DAILY, accept], [accept, DAILY], [CERTS, SAMPLE], [DAILY, accept, CERTS, SAMPLE]]
    trees = []
    for i, runs in enumerate([[orders[0]], [orders[1], orders[2]], [[p] for p in orders[3]]]):
        out = tmp_path / f"out{i}"
        for group in runs:
            assert run_cli("update", *group, "-o", out, "-q").code == 0
        trees.append(snapshot(out))
    assert trees[0] == trees[1] == trees[2]
    assert {k for k in trees[0] if k.startswith("weeks/")} == {
        "weeks/index.html", "weeks/2023-04-30.html", "weeks/2023-05-21.html", "weeks/2024-03-10.html",
        "weeks/2025-11-09.html",
    }  # fmt: skip


def test_html_false_removes_the_site_and_leaves_foreign_files(tmp_path):
    out = tmp_path / "out"
    assert run_cli("update", SAMPLE, CERTS, "-o", out, "-q").code == 0
    (out / "weeks" / "notes.html").write_text("mine")
    (out / "weeks" / "2020-01-05.html").write_text("<p>a page of my own, named like a week</p>")
    (out / "search.txt").write_text("mine too")
    config = tmp_path / "digest2feed.toml"
    config.write_text("html = false\n")
    assert run_cli("update", "-o", out, "-c", config, "-q").code == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html")) == [
        "weeks/2020-01-05.html", "weeks/notes.html",
    ]  # fmt: skip
    assert not (out / "search.js").exists() and not (out / "search-index.js").exists()
    assert (out / "search.txt").read_text() == "mine too"
    # Back on: the site is rebuilt from the state, the foreign files are still left alone.
    assert run_cli("update", "-o", out, "-q").code == 0
    assert (out / "weeks" / "2024-03-10.html").is_file() and (out / "weeks" / "notes.html").read_text() == "mine"
    # Emptied of our files, the weeks folder goes too.
    (out / "weeks" / "notes.html").unlink()
    (out / "weeks" / "2020-01-05.html").unlink()
    assert run_cli("update", "-o", out, "-c", config, "-q").code == 0
    assert not (out / "weeks").exists()


def test_a_foreign_file_where_a_week_page_goes_stops_the_run(tmp_path):
    out = tmp_path / "out"
    assert run_cli("update", SAMPLE, "-o", out, "-q").code == 0
    (out / "weeks" / "2024-03-10.html").write_text("<p>mine</p>")
    before = snapshot(out)
    r = run_cli("update", CERTS, "-o", out)
    assert r.code == 1
    assert r.err == (
        f"digest2feed: {out / 'weeks' / '2024-03-10.html'}: was not written by digest2feed (no fingerprint);"
        " refusing to overwrite it\n"
    )
    assert snapshot(out) == before


def refs_and_entries(digest: Path) -> tuple[list[Ref], dict]:
    recs = records(parse_digest(digest.read_text(encoding="utf-8"), str(digest)))
    es = sorted((e for r in recs.values() for e in entries(r) if e.current), key=lambda e: e.published, reverse=True)
    return [ref_of(e) for e in es], {(e.forum_id, e.rung): e for e in es}
