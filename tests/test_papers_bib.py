"""papers.bib beside every feed: what it holds, that two BibTeX readers take it, keys unique, bytes stable."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import bibtexparser
import pytest
from pybtex.database import parse_string

from conftest import FIXTURES, SAMPLE, mtimes, run_cli, snapshot
from digestgen import Generated, Item
from test_own_feeds import GROUP_FAIRNESS
from test_zotero import configure

FOLDERS = ["accepted/", "submissions/", "certified/", "maps/", "featured/", "new/"]
SAMPLE_ACCEPTED = ["JkIH4MeOc3", "OarsigVib0", "B4J40x7NjA", "s9efQF3QW1", "qxrwt6F3sf", "Sb6p5mcefw", "Cj6pLclmwT"]


def read(path: Path) -> list[tuple[str, str]]:
    """(key, forum id) of each entry, newest first, as pybtex and bibtexparser both read them."""
    text = path.read_text(encoding="utf-8")
    with_pybtex = [(key, e.fields["url"].split("=")[1]) for key, e in parse_string(text, "bibtex").entries.items()]
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == [], [b.error for b in library.failed_blocks]  # a repeated key would be one
    with_bibtexparser = [(e.key, e["url"].split("=")[1]) for e in library.entries]
    assert with_pybtex == with_bibtexparser
    return with_pybtex


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """The sample and the certification fixture with a window of 2: most entries are in the archives."""
    tmp = tmp_path_factory.mktemp("bib")
    out = tmp / "out"
    r = run_cli("update", SAMPLE, FIXTURES / "certifications-2024-03-10.txt", "-o", out, "-c",
                configure(tmp, "max_entries = 2"))  # fmt: skip
    assert (r.code, r.err) == (0, "")
    return out


def test_each_feed_folder_holds_the_bibtex_of_its_accepted_papers_window_and_archives(small):
    got = {folder: [forum for _, forum in read(small / folder / "papers.bib")] for folder in FOLDERS}
    # Newest first: the two of 2024-03-10 (the certification above the acceptance), then the sample's in its order.
    every = ["AbCdEf1234", "Xy_Z-09876", *SAMPLE_ACCEPTED]
    assert not (small / "papers.bib").exists()  # the main feed's would be the accepted view's again
    assert got == {
        "accepted/": every,  # the view shows two entries; the other papers are in the archives
        "submissions/": [],  # none of the sample's submissions has been accepted
        "certified/": ["AbCdEf1234", "Xy_Z-09876"],
        "maps/": ["AbCdEf1234"],  # the three other papers that say "sparse" are submissions
        "featured/": ["AbCdEf1234"],
        "new/": [],
    }
    assert len(list((small / "accepted").glob("*.xml"))) == 2  # the view itself holds 2 of the 9


def test_the_entries_are_openreviews_and_the_file_is_the_same_bibtex_the_feeds_show(small):
    text = (small / "accepted" / "papers.bib").read_text(encoding="utf-8")
    assert f"\n{GROUP_FAIRNESS}\n\n" in text
    head, first = text.split("\n\n", 1)
    assert head == "@comment{digest2feed: the accepted and certified papers of this feed, newest first}"
    assert first.startswith("@article{\nlovelace2024sparse,\ntitle={Sparse Maps: A Study of Things},\n")
    assert "note={Featured Certification, Survey Certification}\n}\n" in first
    assert text.splitlines()[-1].startswith("@comment{digest2feed ") and text.endswith("}\n")


def accepted(day: date, *items: Item) -> Generated:
    return Generated(day, accepted=items)


def colliding() -> list[Generated]:
    """Three papers by Ada Lovelace in 2024 whose titles start with "Sparse": one OpenReview key."""
    d = [date(2024, 1, 7) + timedelta(weeks=w) for w in range(3)]
    return [accepted(d[i], Item(f"Sparse{i}000{i}", f"Sparse {word}", ("Ada Lovelace",), "A.")) for i, word in
            enumerate(("Firsts", "Seconds", "Thirds"))]  # fmt: skip


def test_papers_that_share_a_key_keep_it_unique_the_first_announced_keeps_it_bare(tmp_path):
    digests = colliding()
    for g in digests:
        (tmp_path / g.name).write_text(g.text, encoding="utf-8")
    out, once, late = tmp_path / "out", tmp_path / "once", tmp_path / "late"
    for n, g in enumerate(digests, 1):  # one digest a run: each run reuses the entries of the file before
        assert run_cli("update", tmp_path / g.name, "-o", out).code == 0
        keys = [k for k, _ in read(out / "accepted" / "papers.bib")]
        assert keys[-1] == "lovelace2024sparse" and len(set(keys)) == n, keys
    assert read(out / "accepted" / "papers.bib") == [
        ("lovelace2024sparse-Sparse20002", "Sparse20002"),
        ("lovelace2024sparse-Sparse10001", "Sparse10001"),
        ("lovelace2024sparse", "Sparse00000"),
    ]
    assert run_cli("update", *(tmp_path / g.name for g in digests), "-o", once).code == 0
    # The oldest paper learned last: it takes the bare key back, exactly as the run that read all at once.
    for name in (digests[2].name, digests[1].name, digests[0].name):
        assert run_cli("update", tmp_path / name, "-o", late).code == 0
    assert snapshot(out) == snapshot(once) == snapshot(late)
    # The feeds keep OpenReview's own BibTeX for each entry: the key a reader copies from OpenReview.
    assert b"lovelace2024sparse,\ntitle={Sparse Seconds}" in (out / "atom.xml").read_bytes()


def test_a_run_that_adds_nothing_leaves_every_papers_bib_alone(small, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(small, out)
    before, stamps = snapshot(out), mtimes(out)
    r = run_cli("update", SAMPLE, "-o", out, "-c", configure(tmp_path, "max_entries = 2"))
    assert (r.code, r.err) == (0, "")
    assert snapshot(out) == before and mtimes(out) == stamps


def test_a_papers_bib_of_the_users_own_is_never_overwritten(tmp_path):
    out = tmp_path / "out"
    (out / "accepted").mkdir(parents=True)
    mine = b"@article{mine,\ntitle={My own}\n}\n"
    (out / "accepted" / "papers.bib").write_bytes(mine)
    r = run_cli("update", SAMPLE, "-o", out)
    assert r.code == 1 and f"{out / 'accepted' / 'papers.bib'}: was not written by digest2feed" in r.err
    assert (out / "accepted" / "papers.bib").read_bytes() == mine and not (out / "atom.xml").exists()


def test_a_folder_of_the_version_before_gets_the_new_content_on_its_next_run(tmp_path):
    """tests/fixtures/upgrade-from-c4b2c13, written before issue 21: its next run, which reads one
    new paper only, renders every file again (the rendering version is in every fingerprint)."""
    fixture = FIXTURES / "upgrade-from-c4b2c13"
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    shutil.copytree(fixture / "out", out)
    old = snapshot(out)
    assert b"<title>Accepted: " in old["accepted/atom.xml"] and b"dc:source" not in old["accepted/atom.xml"]
    cfg = fixture / "digest2feed.toml"
    assert run_cli("update", fixture / "weekly-2023-06-04.txt", "-o", out, "-c", cfg).code == 0
    new = snapshot(out)
    assert b"<title>Accepted: " not in new["accepted/atom.xml"] and b"<dc:source>" in new["accepted/atom.xml"]
    assert {"accepted/papers.bib", "submissions/papers.bib", "dp/papers.bib"} <= set(new)
    changed = {rel for rel in old if new[rel] != old[rel]}
    assert {"atom.xml", "rss.xml", "feed.json", "accepted/atom.xml", "dp/rss.xml"} <= changed
    shutil.copytree(out, fresh)
    assert run_cli("update", "--regenerate", "-o", fresh, "-c", cfg).code == 0
    assert snapshot(fresh) == new
