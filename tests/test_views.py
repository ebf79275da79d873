"""JSON Feed and the per-status views: same entry identities as the main feed, their own windows."""

from __future__ import annotations

import json
from datetime import datetime

import feedparser
import pytest
from reader import make_reader

from conftest import FIXTURES, SAMPLE, run_cli, snapshot
from test_merge import LADDER, write

BASE = "https://feeds.example.org/tmlr/"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("views")
    inputs = write(tmp / "in", LADDER)
    out = tmp / "out"
    certs = FIXTURES / "certifications-2024-03-10.txt"
    r = run_cli("update", SAMPLE, certs, *inputs.values(), "-o", out, "--base-url", BASE)
    assert r.code == 0, r.err
    return out


def ids(path):
    if path.suffix == ".json":
        return [item["id"] for item in json.loads(path.read_text())["items"]]
    feed = feedparser.parse(path.read_bytes())
    assert feed.bozo == 0, path
    return [e.id for e in feed.entries]


def test_json_feed_required_fields_and_types(site):
    doc = json.loads((site / "feed.json").read_text(encoding="utf-8"))
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(doc["title"], str) and doc["title"] == "TMLR papers"
    assert doc["home_page_url"] == BASE and doc["feed_url"] == BASE + "feed.json"
    # No feed-level author: JSON Feed does not ask for one, and items would inherit it (issue 21).
    assert doc["language"] == "en" and "authors" not in doc
    assert isinstance(doc["items"], list) and len(doc["items"]) == 24 + 2 + 2
    for item in doc["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert isinstance(item["content_html"], str) and isinstance(item["content_text"], str)
        for key in ("date_published", "date_modified"):
            assert datetime.fromisoformat(item[key].replace("Z", "+00:00")).tzinfo is not None
        assert all(isinstance(t, str) for t in item["tags"])
        assert all(set(a) == {"name"} and isinstance(a["name"], str) for a in item.get("authors", []))
        assert item["attachments"][0]["mime_type"] == "application/pdf"
        assert set(item["_digest2feed"]) == {"forum_id", "title", "status", "certifications", "milestones"}
    first = doc["items"][0]
    assert first["id"] == "https://openreview.net/forum?id=AbCdEf1234#certified"
    assert first["date_published"] == "2024-03-10T12:00:00Z"
    assert first["authors"] == [{"name": "Ada Lovelace"}, {"name": "José Núñez"}, {"name": "Wei ZHANG"}]
    assert first["_digest2feed"]["certifications"] == ["Featured Certification", "Survey Certification"]
    sub = next(i for i in doc["items"] if i["id"].endswith("t1kKoTSWwp#submitted"))
    assert "authors" not in sub and sub["tags"] == ["New submission"]
    assert "$\\epsilon &lt; 1$" in next(i for i in doc["items"] if "Cj6pLclmwT" in i["id"])["content_html"]


def test_json_feed_read_by_a_json_feed_reader(site):
    r = make_reader(":memory:", feed_root=str(site))
    r.add_feed("feed.json")
    r.update_feeds()
    feed = r.get_feed("feed.json")
    assert (feed.version, feed.last_exception) == ("json11", None)
    entries = {e.id: e for e in r.get_entries()}
    assert set(entries) == set(ids(site / "atom.xml"))
    cert = entries["https://openreview.net/forum?id=AbCdEf1234#certified"]
    assert cert.title == "Certified (Featured, Survey): Sparse Maps: A Study of Things"
    assert cert.link == "https://openreview.net/forum?id=AbCdEf1234"
    assert [e.href for e in cert.enclosures] == ["https://openreview.net/pdf?id=AbCdEf1234"]


def test_every_format_of_a_view_holds_the_same_entries(site):
    for folder in ("", "accepted/", "submissions/", "certified/"):
        atom = ids(site / f"{folder}atom.xml")
        assert ids(site / f"{folder}rss.xml") == atom == ids(site / f"{folder}feed.json"), folder


def test_views_select_by_status_with_the_main_feed_identities(site):
    main = ids(site / "atom.xml")
    archived = [i for p in sorted(site.glob("archive/*.xml")) for i in ids(p)]
    everything = set(main) | set(archived)
    accepted, submissions, certified = (ids(site / f"{v}/atom.xml") for v in ("accepted", "submissions", "certified"))
    assert set(accepted) | set(submissions) | set(certified) <= everything
    # Accepted: each accepted paper's newest entry, certified ones included.
    assert accepted == [i for i in main if not i.endswith("#submitted")]
    assert len(accepted) == 7 + 2 + 1
    # Certified: the certified entries only.
    assert certified == [i for i in main if i.endswith("#certified")]
    # Submissions: every submission entry, including one whose paper has since been accepted.
    assert "https://openreview.net/forum?id=PaperAAAA1#submitted" in submissions
    assert "https://openreview.net/forum?id=PaperAAAA1#submitted" not in main
    assert len(submissions) == 17 + 2
    titles = {v: feedparser.parse((site / v / "atom.xml").read_bytes()).feed.title for v in ("accepted", "certified")}
    assert titles == {
        "accepted": "TMLR papers: accepted papers, certified ones included",
        "certified": "TMLR papers: certified papers",
    }
    feed = feedparser.parse((site / "certified" / "rss.xml").read_bytes()).feed
    assert {(link.rel, link.href) for link in feed.links} == {("self", BASE + "certified/rss.xml"), ("alternate", BASE)}


def test_views_have_their_own_windows(tmp_path):
    r = run_cli("update", SAMPLE, "-o", tmp_path, "--max-entries", "3")
    assert r.code == 0
    assert len(ids(tmp_path / "atom.xml")) == 3
    assert len(ids(tmp_path / "submissions" / "atom.xml")) == 3
    assert ids(tmp_path / "submissions" / "atom.xml")[0].endswith("t1kKoTSWwp#submitted")


def test_which_views_and_formats_is_a_setting(tmp_path):
    cfg = tmp_path / "d.toml"
    cfg.write_text('views = ["certified"]\nformats = ["atom", "json"]\nhtml = false\n')
    out = tmp_path / "out"
    assert run_cli("update", SAMPLE, "-c", cfg, "-o", out).code == 0
    assert sorted(snapshot(out)) == [
        "atom.xml", "certified/atom.xml", "certified/feed.json",
        "certified/papers.bib",  # not a feed format: every view's folder has one (issue 21)
        "feed.json", "feeds.opml",
    ]  # fmt: skip
    cfg.write_text('formats = ["rss"]\n')
    r = run_cli("update", SAMPLE, "-c", cfg, "-o", out)
    assert r.code == 1 and "formats must include atom" in r.err
