"""The written feeds as a real client (feedparser) reads them."""

from __future__ import annotations

from datetime import UTC, datetime

import feedparser
import pytest
from lxml import etree

from conftest import FIXTURES, SAMPLE, mtimes, run_cli, snapshot

BASE = "https://feeds.example.org/tmlr/"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    r = run_cli("update", SAMPLE, FIXTURES / "certifications-2024-03-10.txt", "-o", out, "--base-url", BASE)
    assert r.code == 0, r.err
    return out


def parsed(path):
    feed = feedparser.parse(path.read_bytes())
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


def test_atom_and_rss_hold_the_same_entries(site):
    atom, rss = parsed(site / "atom.xml"), parsed(site / "rss.xml")
    assert atom.version == "atom10" and rss.version == "rss20"
    assert len(atom.entries) == len(rss.entries) == 26
    assert [e.id for e in atom.entries] == [e.id for e in rss.entries]
    assert [e.link for e in atom.entries] == [e.link for e in rss.entries]
    assert [e.published_parsed for e in atom.entries] == [e.published_parsed for e in rss.entries]
    # Newest digest first; within a digest its own order.
    assert atom.entries[0].id == "https://openreview.net/forum?id=AbCdEf1234#certified"
    assert atom.entries[1].id == "https://openreview.net/forum?id=Xy_Z-09876#certified"
    assert atom.entries[2].id == "https://openreview.net/forum?id=JkIH4MeOc3#accepted"
    assert atom.entries[-1].id == "https://openreview.net/forum?id=XuOE99cmST#submitted"
    assert rss.entries[0].guidislink is False


def test_entry_fields(site):
    atom, rss = parsed(site / "atom.xml"), parsed(site / "rss.xml")
    a, r = atom.entries[2], rss.entries[2]
    assert a.title == r.title == "Accepted: Group Fairness in Reinforcement Learning"
    assert a.link == "https://openreview.net/forum?id=JkIH4MeOc3"
    links = {(link.rel, link.href, link.type) for link in a.links}
    assert ("related", "https://openreview.net/pdf?id=JkIH4MeOc3", "application/pdf") in links
    assert [x.name for x in a.authors] == ["Harsh Satija", "Alessandro Lazaric", "Matteo Pirotta", "Joelle Pineau"]
    assert r.author == "Harsh Satija, Alessandro Lazaric, Matteo Pirotta, Joelle Pineau"
    assert [t.term for t in a.tags] == ["Accepted"] and [t.term for t in r.tags] == ["Accepted"]
    assert a.published == "2023-04-30T12:00:00+00:00" and a.updated == a.published
    assert datetime(*a.published_parsed[:6], tzinfo=UTC) == datetime(2023, 4, 30, 12, tzinfo=UTC)
    # Entries of one digest are one second apart, in the digest's order: no two share a time stamp.
    assert atom.entries[3].published == "2023-04-30T11:59:59+00:00"
    assert len({e.updated for e in atom.entries}) == len(atom.entries)


def test_certified_entry(site):
    atom = parsed(site / "atom.xml")
    e = atom.entries[0]
    assert e.title == "Certified (Featured, Survey): Sparse Maps: A Study of Things"
    assert [t.term for t in e.tags] == ["Accepted", "Featured Certification", "Survey Certification"]
    assert [x.name for x in e.authors] == ["Ada Lovelace", "José Núñez", "Wei ZHANG"]
    assert "Featured Certification" in e.content[0].value


def test_anonymous_submission_has_no_invented_author(site):
    atom, rss = parsed(site / "atom.xml"), parsed(site / "rss.xml")
    a, r = atom.entries[-1], rss.entries[-1]
    assert "authors" not in a and "author" not in r
    assert atom.feed.author == "Transactions on Machine Learning Research"
    assert b"Anonymous" not in (site / "atom.xml").read_bytes()


def test_abstract_is_escaped_text_not_markup(site):
    atom, rss = parsed(site / "atom.xml"), parsed(site / "rss.xml")
    entry = next(e for e in atom.entries if e.id.endswith("Cj6pLclmwT#accepted"))
    assert entry.content[0].type == "text/html"
    html = entry.content[0].value
    assert "stricter epsilon values ($\\epsilon &lt; 1$)" in html
    assert "88\\% under DP guarantee" in html
    item = next(e for e in rss.entries if e.id.endswith("Cj6pLclmwT#accepted"))
    assert "($\\epsilon &lt; 1$)" in item.description
    # Multi-paragraph abstract: three paragraphs, nothing lost.
    gen = next(e for e in atom.entries if e.id.endswith("Sb6p5mcefw#accepted")).content[0].value
    assert gen.count("<p>") == 7  # status, authors, three abstract paragraphs, dates, links
    assert "<p>A key property of successful learning algorithms is generalization." in gen
    assert "through the notion of algorithmic stability.</p>\n<p>In particular, we prove" in gen
    assert "such as wide neural networks.</p>" in gen


def test_a_wrapped_abstract_keeps_each_line_break_as_br_and_newline(site):
    # The sample's abstract of s9efQF3QW1 is one paragraph over three lines (test_digest.py):
    # in the bytes of atom.xml, each line but the last ends in an escaped "<br>" and the line
    # break itself.
    data = (site / "atom.xml").read_bytes()
    start = data.index(b"Spiking Neural Networks (SNNs) are recognized as the candidate")
    para = data[start : data.index(b"&lt;/p&gt;", start)]
    assert para.count(b"&lt;br&gt;") == 2
    assert b"Does the time&lt;br&gt;\ndimension in SNNs provide unique representation power?" in para
    assert b"spatial dimension of&lt;br&gt;\nthe networks, including both the width and the depth." in para


def test_feed_level_metadata(site):
    atom = parsed(site / "atom.xml")
    f = atom.feed
    assert f.title == "TMLR papers"
    assert f.id == BASE + "atom.xml"
    assert f.updated == "2024-03-10T12:00:00+00:00"  # the newest entry, never "now"
    assert {(link.rel, link.href) for link in f.links} >= {("self", BASE + "atom.xml"), ("alternate", BASE)}
    assert f.generator == "digest2feed" and f.language == "en"
    rss = parsed(site / "rss.xml")
    assert rss.feed.link == BASE


def test_state_carries_the_exact_abstract(site):
    root = etree.parse(str(site / "atom.xml")).getroot()
    ns = {"a": "http://www.w3.org/2005/Atom", "dcterms": "http://purl.org/dc/terms/"}
    entry = root.xpath("a:entry[a:id='https://openreview.net/forum?id=Sb6p5mcefw#accepted']", namespaces=ns)[0]
    abstract = entry.findtext("dcterms:abstract", namespaces=ns)
    assert abstract.count("\n\n") == 2 and abstract.startswith("A key property of successful learning")


def test_feeds_without_base_url_still_parse(out):
    assert run_cli("update", SAMPLE, "-o", out).code == 0
    feed = parsed(out / "atom.xml")
    assert feed.feed.id.startswith("urn:uuid:")
    assert not [link for link in feed.feed.links if link.rel == "self"]


def test_entry_hashs_are_the_ones_earlier_versions_stored():
    # Constructed entries: one paper submitted, accepted, then certified twice (updated later
    # than published), with and without abstracts. Files keep these digests (splice blocks,
    # state files, fingerprints); a digest that changed for the same entry would make the first
    # run after an upgrade rewrite every file. The values are those digest2feed wrote before
    # entry_hash stopped calling repr() (commit c4b2c13).
    from datetime import timedelta

    from digest2feed.model import Entry, Rung, Sighting
    from digest2feed.render.stamp import entry_hash, ref_of

    t, names = datetime(2023, 4, 30, 12, tzinfo=UTC), ("Ada Lovelace", "Émile Borel")
    abstract = "We study cats.\n\nTwice."
    s1 = Sighting(t - timedelta(seconds=3), "Sparse cats")
    s2 = Sighting(t + timedelta(days=40, seconds=-1), "Sparse cats", names)
    c = t + timedelta(days=90)
    certs = (("Featured Certification", c), ("Reproducibility Certification", c + timedelta(days=7)))
    sub, acc = (Rung.SUBMITTED, s1.at), (Rung.ACCEPTED, s2.at)
    entries = [
        Entry("Abc123xyz0", Rung.SUBMITTED, "Sparse cats", (), None, (), (sub,), s1.at, s1.at, False, s1),
        Entry("Abc123xyz0", Rung.ACCEPTED, "Sparse cats", names, abstract, (), (sub, acc), s2.at, s2.at, False, s2),
        Entry("Abc123xyz0", Rung.CERTIFIED, "Sparse cats", names, abstract, certs, (sub, acc, (Rung.CERTIFIED, c)),
              c, certs[-1][1], True, Sighting(c, "Sparse cats", names)),
    ]  # fmt: skip
    expected = ["63ed77a0ccd1a26e858f9c8e", "48170e1304fcea6c066d1da7", "4b8fe6cb085f8ed1f898ea6d"]
    assert [entry_hash(e) for e in entries] == expected
    assert [ref_of(e).hash for e in entries] == expected


def test_an_upgrade_of_a_rendering_library_renders_every_file_once_more(tmp_path, monkeypatch):
    """Issue 20: upgrading feedgen, lxml or math-core changed no fingerprint, so files rendered by
    the old and the new library mixed in one folder. Simulated: another feedgen version, whose
    RSS differs. The next run renders and rewrites every file (each carries the new fingerprint),
    the RSS files with the new library's output; the run after that rewrites nothing."""
    from digest2feed import pipeline
    from digest2feed.render import stamp

    out = tmp_path / "out"
    assert run_cli("update", SAMPLE, "-o", out).code == 0
    before = snapshot(out)
    real = pipeline.RENDERERS["rss"]
    monkeypatch.setitem(pipeline.RENDERERS, "rss", lambda d, e, s: real(d, e, s).replace(b"<rss", b"<rss ", 1))
    r = run_cli("update", SAMPLE, "-o", out, "-v")
    assert r.code == 0 and "files written: 0" in r.out  # the same library: nothing rendered again
    assert snapshot(out) == before
    monkeypatch.setattr(stamp, "LIBRARIES", ("feedgen 99.0", *stamp.LIBRARIES[1:]))
    r = run_cli("update", SAMPLE, "-o", out, "-v")
    assert r.code == 0 and f"files written: {len(before)}" in r.out
    after, times = snapshot(out), mtimes(out)
    assert sorted(rel for rel in after if b"<rss  " in after[rel]) == [
        "accepted/rss.xml", "certified/rss.xml", "rss.xml", "submissions/rss.xml"
    ]  # fmt: skip
    r = run_cli("update", SAMPLE, "-o", out, "-v")
    assert "files written: 0" in r.out and snapshot(out) == after and mtimes(out) == times
