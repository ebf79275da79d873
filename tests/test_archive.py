"""Retention: the window, RFC 5005 archive documents, and state read back from all of them."""

from __future__ import annotations

import random
import tempfile
from datetime import date
from pathlib import Path

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from conftest import mtimes, read_state, run_cli, snapshot
from digestgen import Item, digest_text, history, history_digests
from model_merge import model_state

ATOM = "{http://www.w3.org/2005/Atom}"
FH = "{http://purl.org/syndication/history/1.0}"


def write_all(folder: Path, texts) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in texts:
        (folder / name).write_text(text, encoding="utf-8")
        paths.append(folder / name)
    return paths


def links(path: Path) -> dict[str, str]:
    root = etree.parse(str(path)).getroot()
    return {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}


@pytest.fixture(scope="module")
def backfill(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("backfill")
    gens = history_digests(220, 12, random.Random(7))
    inputs = write_all(tmp / "in", [(g.name, g.text) for g in gens])
    out = tmp / "out"
    r = run_cli("update", *inputs, "-o", out, "--max-entries", "100", "--base-url", "https://x.example/f/", "-v")
    assert r.code == 0, r.err
    return gens, inputs, out


def test_backfill_loses_no_paper_and_no_rung(backfill):
    gens, _, out = backfill
    assert len(gens) >= 200
    expected = model_state(gens)
    files = sorted(out.glob("archive/*.xml"))
    assert len(files) > 40
    found: dict[str, str] = {}
    for path in [out / "atom.xml", *files]:
        feed = feedparser.parse(path.read_bytes())
        assert feed.bozo == 0, path
        for e in feed.entries:
            assert e.id not in found, f"{e.id} twice"
            found[e.id] = path.name
    url = "https://openreview.net/forum?id="
    want = {f"{url}{fid}#{rung.slug}" for fid, rec in expected.items() for rung, _ in rec.sightings}
    assert set(found) == want
    window = feedparser.parse((out / "atom.xml").read_bytes()).entries
    assert len(window) == 100
    # Every paper's newest rung is either in the window or archived; never both, never an older one in the window.
    tops = {f"https://openreview.net/forum?id={fid}#{rec.top.slug}" for fid, rec in expected.items()}
    assert {e.id for e in window} <= tops
    # Every fact, not only the ids: the state read back from the window and the archives is the model's.
    assert read_state(out) == expected


def test_archives_chain_both_ways_and_are_marked(backfill):
    _, _, out = backfill
    base = "https://x.example/f/"
    files = sorted(p.relative_to(out).as_posix() for p in out.glob("archive/*.xml"))
    # Back from the subscription feed to the oldest archive...
    seen, here = [], links(out / "atom.xml").get("prev-archive")
    while here:
        rel = here.removeprefix(base)
        seen.append(rel)
        here = links(out / rel).get("prev-archive")
    assert seen == files[::-1]
    # ...and forward again, each pointing at the subscription feed as current; the newest on to it.
    forward, here = [], base + files[0]
    while here != base + "atom.xml":
        rel = here.removeprefix(base)
        forward.append(rel)
        got = links(out / rel)
        assert got["current"] == base + "atom.xml" and got["self"] == base + rel
        assert etree.parse(str(out / rel)).getroot().find(f"{FH}archive") is not None
        here = got["next-archive"]
    assert forward == files
    assert "next-archive" not in links(out / "atom.xml")
    assert etree.parse(str(out / "atom.xml")).getroot().find(f"{FH}archive") is None


def test_rerun_and_regenerate_rewrite_nothing(backfill):
    _, inputs, out = backfill
    before, times = snapshot(out), mtimes(out)
    flags = ("-o", out, "--max-entries", "100", "--base-url", "https://x.example/f/")
    assert run_cli("update", *inputs[-3:], *flags).code == 0
    assert run_cli("update", *flags).code == 0
    assert snapshot(out) == before and mtimes(out) == times


def archived(out: Path) -> int:
    return sum(len(feedparser.parse(p.read_bytes()).entries) for p in out.glob("archive/*.xml"))


def test_window_size_changes_move_entries_to_the_archive_and_back(tmp_path):
    gens = history_digests(30, 10, random.Random(3))
    state = model_state(gens)
    papers, rungs = len(state), sum(len(rec.sightings) for rec in state.values())
    inputs = write_all(tmp_path / "in", [(g.name, g.text) for g in gens])
    out = tmp_path / "out"
    assert run_cli("update", *inputs, "-o", out, "--max-entries", "50").code == 0
    at50 = snapshot(out)
    assert archived(out) == rungs - 50
    assert run_cli("update", "-o", out, "--max-entries", "10").code == 0
    assert len(feedparser.parse((out / "atom.xml").read_bytes()).entries) == 10
    assert archived(out) == rungs - 10
    assert run_cli("update", "-o", out, "--max-entries", "100000").code == 0
    assert len(feedparser.parse((out / "atom.xml").read_bytes()).entries) == papers
    assert archived(out) == rungs - papers  # only the superseded rungs, as history
    assert run_cli("update", "-o", out, "--max-entries", "50").code == 0
    assert snapshot(out) == at50


def test_late_old_digest_goes_to_the_archive_without_touching_the_window(tmp_path):
    texts = history(40, 10, random.Random(5))
    inputs = write_all(tmp_path / "in", texts)
    out = tmp_path / "out"
    late = inputs.pop(3)
    assert run_cli("update", *inputs, "-o", out, "--max-entries", "20").code == 0
    window = (out / "atom.xml").read_bytes()
    r = run_cli("update", late, "-o", out, "--max-entries", "20", "-v")
    assert r.code == 0
    assert (out / "atom.xml").read_bytes() == window
    assert "files written: 0" not in r.out


def test_an_entry_is_archived_in_the_month_of_its_announcement_not_of_its_last_certification(tmp_path):
    """Constructed: X certified on 30 April, certified again on 14 May, so its certified entry is
    published in April and updated in May; a June submission pushes it past a window of one."""
    paper = Item("PaperX0001", "A paper certified twice", ("Ada Lovelace",), "Its abstract.")
    featured = Item(paper.forum_id, paper.title, paper.authors, certifications=("Featured Certification",))
    survey = Item(paper.forum_id, paper.title, paper.authors, certifications=("Survey Certification",))
    texts = [
        ("weekly-2023-04-02.txt", digest_text(date(2023, 4, 2), accepted=[paper])),
        ("weekly-2023-04-30.txt", digest_text(date(2023, 4, 30), certified=[featured])),
        ("weekly-2023-05-14.txt", digest_text(date(2023, 5, 14), certified=[survey])),
        ("weekly-2023-06-04.txt", digest_text(date(2023, 6, 4), submitted=[Item("PaperY0001", "Later", (), "Y.")])),
    ]
    out = tmp_path / "out"
    assert run_cli("update", *write_all(tmp_path / "in", texts), "-o", out, "--max-entries", "1").code == 0
    assert sorted(p.name for p in (out / "archive").iterdir()) == ["2023-04.xml"]
    got = {e.id: (e.published, e.updated) for e in feedparser.parse((out / "archive/2023-04.xml").read_bytes()).entries}
    forum = "https://openreview.net/forum?id=PaperX0001"
    assert got == {
        f"{forum}#accepted": ("2023-04-02T12:00:00+00:00", "2023-04-02T12:00:00+00:00"),
        f"{forum}#certified": ("2023-04-30T12:00:00+00:00", "2023-05-14T12:00:00+00:00"),
    }


def test_damaged_archive_is_refused_and_nothing_written(tmp_path):
    inputs = write_all(tmp_path / "in", history(20, 10, random.Random(1)))
    out = tmp_path / "out"
    assert run_cli("update", *inputs[:-1], "-o", out, "--max-entries", "10").code == 0
    victim = sorted(out.glob("archive/*.xml"))[1]
    victim.write_bytes(victim.read_bytes()[:-200])
    before, times = snapshot(out), mtimes(out)
    r = run_cli("update", inputs[-1], "-o", out, "--max-entries", "10")
    assert r.code == 1
    assert r.err.startswith(f"digest2feed: {victim}:") and r.err.count("\n") == 1
    assert snapshot(out) == before and mtimes(out) == times


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.lists(st.integers(1, 40), min_size=1, max_size=4))
def test_orders_groupings_and_window_changes_give_identical_trees(seed, windows):
    rnd = random.Random(seed)
    gens = history_digests(rnd.randint(3, 25), 8, rnd)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = write_all(Path(tmp) / "in", [(g.name, g.text) for g in gens])
        final = str(windows[-1])
        one, many = Path(tmp) / "one", Path(tmp) / "many"
        assert run_cli("update", *inputs, "-o", one, "--max-entries", final).code == 0
        rnd.shuffle(inputs)
        runs = 0
        while inputs:
            k = rnd.randint(1, len(inputs))
            group, inputs = inputs[:k], inputs[k:]
            window = str(windows[runs % len(windows)])
            assert run_cli("update", *group, "-o", many, "--max-entries", window).code == 0
            runs += 1
        assert run_cli("update", "-o", many, "--max-entries", final).code == 0
        assert snapshot(many) == snapshot(one)
        assert read_state(many) == model_state(gens)


@pytest.mark.parametrize("victim", ["atom.xml", "archive/2022-01.xml"])
def test_a_state_file_without_its_list_of_entry_hashes_is_read_whole_and_the_run_ends_as_a_fresh_one(
    tmp_path, victim
):
    """A hand-trimmed file, or one from a version that wrote no list: its entries have no stored
    hash, so the run must derive every entry from the facts rather than trust any."""
    inputs = write_all(tmp_path / "in", history(8, 6, random.Random(4)))
    flags = ("--max-entries", "10")
    fresh, out = tmp_path / "fresh", tmp_path / "out"
    assert run_cli("update", *inputs, "-o", fresh, *flags).code == 0
    assert run_cli("update", *inputs[:-1], "-o", out, *flags).code == 0
    path = out / victim
    data = path.read_bytes()
    start = data.index(b"<!-- digest2feed-entries ")
    path.write_bytes(data[:start] + data[data.index(b"-->\n", start) + 4 :])
    r = run_cli("update", inputs[-1], "-o", out, *flags)
    assert (r.code, r.err) == (0, "")
    assert read_state(out) == read_state(fresh)
    got, want = snapshot(out), snapshot(fresh)
    if victim != "atom.xml":  # an archive the run does not change keeps its bytes (its fingerprint holds)
        assert got.pop(victim) == path.read_bytes()
        want.pop(victim)
    assert got == want
