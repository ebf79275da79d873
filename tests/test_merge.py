"""Merge rules: the status ladder, dates, ids, no demotion, order independence, idempotence."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import feedparser
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import merge, mtimes, read_state, run_cli, snapshot
from digest2feed.digest import parse_digest
from digest2feed.model import FORUM_URL, Rung
from digestgen import Generated, Item, digest_text
from model_merge import model_state, tied_candidates

P_SUB = Item("PaperAAAA1", "An Early Title", abstract="The submitted abstract.")
Q_SUB = Item("PaperBBBB2", "Another Submission", abstract="Second abstract with $x < y$.")
P_ACC = Item("PaperAAAA1", "The Final Title", ("Ada Lovelace", "Alan Turing"), "The camera-ready abstract.")
P_CERT = Item(
    "PaperAAAA1", "The Final Title", ("Ada Lovelace", "Alan Turing"), certifications=("Featured Certification",)
)
LADDER = {
    "d1.txt": digest_text(date(2023, 1, 8), submitted=[P_SUB, Q_SUB]),
    "d2.txt": digest_text(date(2023, 3, 5), accepted=[P_ACC]),
    "d3.txt": digest_text(date(2023, 5, 7), certified=[P_CERT]),
}


def write(folder: Path, texts: dict[str, str]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in texts.items():
        paths[name] = folder / name
        paths[name].write_text(text, encoding="utf-8")
    return paths


def entries(path: Path) -> list[tuple[str, str, str]]:
    feed = feedparser.parse(path.read_bytes())
    assert feed.bozo == 0
    return [(e.id, e.title, e.published) for e in feed.entries]


def test_the_ladder_one_entry_per_step_new_id_per_rung(tmp_path):
    inputs, out = write(tmp_path / "in", LADDER), tmp_path / "out"
    p = "https://openreview.net/forum?id=PaperAAAA1"
    q = ("https://openreview.net/forum?id=PaperBBBB2#submitted", "Another Submission", "2023-01-08T11:59:59+00:00")

    assert run_cli("update", inputs["d1.txt"], "-o", out).code == 0
    assert entries(out / "atom.xml") == [(p + "#submitted", "An Early Title", "2023-01-08T12:00:00+00:00"), q]

    assert run_cli("update", inputs["d2.txt"], "-o", out).code == 0
    assert entries(out / "atom.xml") == [(p + "#accepted", "Accepted: The Final Title", "2023-03-05T12:00:00+00:00"), q]
    # The replaced entry is history now: in the archive of its month, never deleted.
    assert entries(out / "archive" / "2023-01.xml") == [
        (p + "#submitted", "An Early Title", "2023-01-08T12:00:00+00:00")
    ]

    assert run_cli("update", inputs["d3.txt"], "-o", out).code == 0
    certified = (p + "#certified", "Certified (Featured): The Final Title", "2023-05-07T12:00:00+00:00")
    assert entries(out / "atom.xml") == [certified, q]
    assert entries(out / "archive" / "2023-03.xml") == [
        (p + "#accepted", "Accepted: The Final Title", "2023-03-05T12:00:00+00:00")
    ]
    # The accepted entry, now history, is as it was: no certification in it, not updated by it.
    (accepted,) = feedparser.parse((out / "archive" / "2023-03.xml").read_bytes()).entries
    assert (accepted.updated, [t.term for t in accepted.tags]) == ("2023-03-05T12:00:00+00:00", ["Accepted"])
    assert "Certif" not in accepted.content[0].value
    cert = feedparser.parse((out / "atom.xml").read_bytes()).entries[0]
    # The certification entry carries no abstract of its own: the accepted one is shown.
    assert "The camera-ready abstract." in cert.content[0].value
    assert "New submission 2023-01-08 · Accepted 2023-03-05 · Certified 2023-05-07" in cert.content[0].value
    forward = snapshot(out)

    # The same digests in reverse order, one run each: the same bytes in every file.
    back = tmp_path / "back"
    for name in ("d3.txt", "d2.txt", "d1.txt"):
        assert run_cli("update", inputs[name], "-o", back).code == 0
        # Status never goes down: the certified entry stays on top whatever comes late.
        assert entries(back / "atom.xml")[0][0] == p + "#certified"
    assert snapshot(back) == forward

    # All at once, in any order on the command line: the same bytes again.
    once = tmp_path / "once"
    assert run_cli("update", inputs["d2.txt"], inputs["d3.txt"], inputs["d1.txt"], "-o", once).code == 0
    assert snapshot(once) == forward


def test_repeat_in_a_later_digest_changes_nothing(tmp_path):
    """A weekly digest repeats what the daily already said: no date moves, no byte changes."""
    daily = digest_text(date(2023, 3, 2), accepted=[P_ACC], kind="Daily")
    weekly = digest_text(date(2023, 3, 5), accepted=[Item("Other00001", "Other", ("X Y",), "Z."), P_ACC])
    inputs, out = write(tmp_path / "in", {"daily.txt": daily, "weekly.txt": weekly}), tmp_path / "out"
    assert run_cli("update", inputs["daily.txt"], inputs["weekly.txt"], "-o", out).code == 0
    got = dict((i, pub) for i, _, pub in entries(out / "atom.xml"))
    assert got["https://openreview.net/forum?id=PaperAAAA1#accepted"] == "2023-03-02T12:00:00+00:00"
    before, times = snapshot(out), mtimes(out)
    assert run_cli("update", inputs["weekly.txt"], "-o", out).code == 0
    assert snapshot(out) == before and mtimes(out) == times


def test_second_certification_later_updates_the_entry_in_place(tmp_path):
    later = Item(
        "PaperAAAA1", "The Final Title", ("Ada Lovelace", "Alan Turing"), certifications=("Expert Certification",)
    )
    texts = {**LADDER, "d4.txt": digest_text(date(2023, 9, 3), certified=[later])}
    inputs, out = write(tmp_path / "in", texts), tmp_path / "out"
    assert run_cli("update", *inputs.values(), "-o", out).code == 0
    e = feedparser.parse((out / "atom.xml").read_bytes()).entries[0]
    assert e.id == "https://openreview.net/forum?id=PaperAAAA1#certified"  # same rung, same id
    assert (e.published, e.updated) == ("2023-05-07T12:00:00+00:00", "2023-09-03T12:00:00+00:00")
    # Certifications in the order they came (by date), not by name.
    assert [t.term for t in e.tags] == ["Accepted", "Featured Certification", "Expert Certification"]


def test_verbose_summary_counts_each_paper_once_by_what_happened_to_it(tmp_path):
    """Added (new paper), promoted (climbed a rung), changed (same rung, new facts), unchanged."""
    r_sub = Item("PaperCCCC3", "Third", abstract="Third abstract.")
    texts = {
        "before.txt": digest_text(date(2023, 1, 8), submitted=[P_SUB, Q_SUB, r_sub]),
        "week.txt": digest_text(
            date(2023, 3, 5),
            accepted=[P_ACC, Item("PaperBBBB2", "Another Submission", ("Wei ZHANG",), "Accepted abstract.")],
            submitted=[Item("PaperDDDD4", "Brand New", abstract="New."), r_sub],
        ),
        "late.txt": digest_text(date(2022, 12, 4), submitted=[Item("PaperCCCC3", "Third", abstract="Older."), Q_SUB]),
    }
    inputs, out = write(tmp_path / "in", texts), tmp_path / "out"
    assert run_cli("update", inputs["before.txt"], "-o", out).code == 0
    r = run_cli("update", inputs["week.txt"], "-o", out, "-v")
    assert r.code == 0
    # P and Q climbed, D is new, C was only repeated (its submission date stays Jan 8).
    assert "papers: 1 added, 2 promoted, 0 changed, 1 unchanged" in r.out
    r = run_cli("update", inputs["late.txt"], "-o", out, "-v")
    assert r.code == 0
    # An older digest moves the submissions of C and Q back to Dec 4: the same top rung, new facts.
    assert "papers: 0 added, 0 promoted, 2 changed, 0 unchanged" in r.out


@pytest.mark.parametrize(
    ("loser", "winner"),
    [
        (("Title B", "B."), ("Title A", "A.")),  # a corrected title
        (("Title A", "B."), ("Title A", "A.")),  # a corrected abstract only
        (("Title A", "A."), ("Title A", "")),  # one copy lost its abstract: a missing one counts as empty
    ],
)
def test_a_tie_on_date_and_position_is_broken_by_content_not_by_arrival(tmp_path, loser, winner):
    """A corrected re-send the same day: same paper, rung, date and position, other content.

    SPEC §4 says only "ties broken by content"; the model (and so this test) takes the
    smallest (title, authors, abstract). What matters is that arrival order cannot decide.
    """
    day, authors = date(2023, 3, 2), ("Ada Lovelace",)
    first = Generated(day, "Daily", accepted=(Item("PaperAAAA1", loser[0], authors, loser[1]),))
    again = Generated(day, "Weekly", accepted=(Item("PaperAAAA1", winner[0], authors, winner[1]),))
    for order in ([first, again], [again, first]):
        state = merge({}, [parse_digest(g.text, g.name) for g in order])
        assert state["PaperAAAA1"].rungs[Rung.ACCEPTED].title == winner[0]
        assert state["PaperAAAA1"].rungs[Rung.ACCEPTED].abstract == (winner[1] or None)
    inputs = write(tmp_path / "in", {"first.txt": first.text, "again.txt": again.text})
    for name, order in (("ab", ["first.txt", "again.txt"]), ("ba", ["again.txt", "first.txt"])):
        for n in order:
            assert run_cli("update", inputs[n], "-o", tmp_path / name).code == 0
        want = (f"{FORUM_URL}PaperAAAA1#accepted", f"Accepted: {winner[0]}", "2023-03-02T12:00:00+00:00")
        assert entries(tmp_path / name / "atom.xml") == [want]
    assert snapshot(tmp_path / "ab") == snapshot(tmp_path / "ba")


# --- properties: the merge against an independent model (tests/model_merge.py) ----------

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0"))  # scales every count below (300 is the default)
IDS = [f"Forum{n:05d}" for n in range(5)]
# Three days, one of them a week earlier: same-day digests collide often, and an old one can come late.
DAYS = [date(2023, 1, 2), date(2023, 1, 9), date(2023, 1, 10)]
TITLES = ["Title A", "Title B: Revised", "title a"]
AUTHORS = [("Ada Lovelace", "Wei ZHANG"), ("Ada Lovelace",), ("Wei ZHANG", "Ada Lovelace")]
# "" is an entry whose abstract is missing: in a tie it meets a sighting that has one.
ABSTRACTS = ["Abstract one.", "Abstract two with $x < y$.", "Abstract one.\n\nA second paragraph.", ""]
CERTS = ["Featured Certification", "Survey Certification", "Reproducibility Certification"]
SECTION_NAMES = ("certified", "accepted", "submitted")


def examples(n: int):
    count = max(n * EXAMPLES // 300, 1) if EXAMPLES else n
    return settings(max_examples=count, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def items(draw, forum: str, section: str) -> Item:
    certs = tuple(draw(st.lists(st.sampled_from(CERTS), min_size=1, max_size=2, unique=True)))
    return Item(
        forum,
        draw(st.sampled_from(TITLES)),
        draw(st.sampled_from(AUTHORS)) if section != "submitted" else (),
        draw(st.sampled_from(ABSTRACTS)) if section != "certified" else "",
        certs if section == "certified" else (),
    )


@st.composite
def fresh_digests(draw) -> Generated:
    sections = {}
    for section in SECTION_NAMES:
        forums = draw(st.lists(st.sampled_from(IDS), max_size=3, unique=True))
        sections[section] = tuple(draw(items(f, section)) for f in forums)
    if not any(sections.values()):
        sections["submitted"] = (draw(items(draw(st.sampled_from(IDS)), "submitted")),)
    return Generated(draw(st.sampled_from(DAYS)), draw(st.sampled_from(["Daily", "Weekly"])), **sections)


@st.composite
def resent(draw, base: Generated) -> Generated:
    """The same day's digest again — corrected, or the weekly repeating the daily: every entry
    keeps its place (a tie on date and position) unless a section is reordered, and any
    entry's title, authors or abstract may differ."""
    sections = {}
    for section in SECTION_NAMES:
        kept = list(getattr(base, section))
        for i, it in enumerate(kept):
            if draw(st.booleans()):
                new = draw(items(it.forum_id, section))
                kept[i] = replace(it, **{f: getattr(new, f) for f in draw(st.sampled_from(EDITS))})
        sections[section] = tuple(draw(st.permutations(kept)) if draw(st.booleans()) else kept)
    return Generated(base.day, draw(st.sampled_from(["Daily", "Weekly"])), **sections)


EDITS = [("title",), ("authors",), ("abstract",), ("certifications",), ("title", "authors", "abstract")]


@st.composite
def digest_sets(draw, most: int = 5) -> list[Generated]:
    out = [draw(fresh_digests())]
    for _ in range(draw(st.integers(0, most - 1))):
        again = draw(st.integers(0, 2)) > 0  # two in three: a re-send of a digest already drawn
        out.append(draw(resent(draw(st.sampled_from(out)))) if again else draw(fresh_digests()))
    if tied_candidates(out):
        event("a (paper, rung) tied on time with different content")
    return out


def groups(rnd, seq: list) -> list[list]:
    """``seq`` shuffled and cut into consecutive groups of random sizes."""
    seq = list(seq)
    rnd.shuffle(seq)
    out = []
    while seq:
        k = rnd.randint(1, len(seq))
        out.append(seq[:k])
        seq = seq[k:]
    return out


@examples(300)
@given(digest_sets(), st.randoms(use_true_random=False))
def test_merge_in_any_order_and_grouping_equals_the_model(gens, rnd):
    want = model_state(gens)
    parsed = [parse_digest(g.text, g.name) for g in gens]
    assert merge({}, parsed) == want
    state: dict = {}
    for group in groups(rnd, parsed):
        state = merge(state, group)
    assert state == want
    assert merge(want, parsed) == want  # idempotent: merging again adds nothing
    # Status never goes down: every rung any digest announced is still there.
    for g in gens:
        for section, rung in zip(SECTION_NAMES, (Rung.CERTIFIED, Rung.ACCEPTED, Rung.SUBMITTED), strict=True):
            for it in getattr(g, section):
                assert rung in state[it.forum_id].rungs


def test_the_strategies_generate_ties_that_differ_in_content():
    """The property above is only as good as its inputs: most examples must hold a tie."""
    found = []

    # The same 200 examples every run: a count over random ones fell below a quarter once in
    # a few hundred runs (48 of 200). A loaded machine is no failure either.
    @settings(max_examples=200, database=None, deadline=None, derandomize=True)
    @given(digest_sets())
    def count(gens):
        found.append(bool(tied_candidates(gens)))

    count()
    assert sum(found) >= len(found) // 4, f"{sum(found)} of {len(found)} examples hold a tie"


@examples(20)
@given(digest_sets(most=4), st.randoms(use_true_random=False), st.integers(1, 6))
def test_any_order_and_grouping_of_update_runs_gives_the_same_bytes_and_the_model_state(gens, rnd, max_entries):
    with tempfile.TemporaryDirectory() as tmp:
        texts = {f"{n}-{g.name}": g.text for n, g in enumerate(gens)}
        inputs = write(Path(tmp) / "in", texts)
        flags = ("--max-entries", str(max_entries))
        one, many = Path(tmp) / "one", Path(tmp) / "many"
        assert run_cli("update", *sorted(inputs.values()), "-o", one, *flags).code == 0
        for group in groups(rnd, list(inputs.values())):
            r = run_cli("update", *group, "-o", many, *flags)
            assert (r.code, r.err) == (0, ""), r.err
        assert snapshot(many) == snapshot(one)
        assert read_state(many) == model_state(gens)  # the real reader, over atom.xml and the archives
        times = mtimes(many)
        assert run_cli("update", *inputs.values(), "-o", many, *flags).code == 0
        assert mtimes(many) == times  # a rerun rewrites nothing
