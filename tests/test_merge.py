"""Merge rules: the status ladder, dates, ids, no demotion, order independence, idempotence."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import feedparser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import mtimes, run_cli, snapshot
from digest2feed.digest import parse_digest
from digest2feed.merge import merge
from digestgen import Item, digest_text

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
    run_cli("update", inputs["daily.txt"], inputs["weekly.txt"], "-o", out)
    got = dict((i, pub) for i, _, pub in entries(out / "atom.xml"))
    assert got["https://openreview.net/forum?id=PaperAAAA1#accepted"] == "2023-03-02T12:00:00+00:00"
    before, times = snapshot(out), mtimes(out)
    run_cli("update", inputs["weekly.txt"], "-o", out)
    assert snapshot(out) == before and mtimes(out) == times


def test_second_certification_later_updates_the_entry_in_place(tmp_path):
    later = Item(
        "PaperAAAA1", "The Final Title", ("Ada Lovelace", "Alan Turing"), certifications=("Outstanding Certification",)
    )
    texts = {**LADDER, "d4.txt": digest_text(date(2023, 9, 3), certified=[later])}
    inputs, out = write(tmp_path / "in", texts), tmp_path / "out"
    run_cli("update", *inputs.values(), "-o", out)
    e = feedparser.parse((out / "atom.xml").read_bytes()).entries[0]
    assert e.id == "https://openreview.net/forum?id=PaperAAAA1#certified"  # same rung, same id
    assert (e.published, e.updated) == ("2023-05-07T12:00:00+00:00", "2023-09-03T12:00:00+00:00")
    assert [t.term for t in e.tags] == ["Accepted", "Featured Certification", "Outstanding Certification"]


# --- properties -------------------------------------------------------------

IDS = [f"Forum{n:05d}" for n in range(8)]
CERTS = ["Featured Certification", "Survey Certification", "Reproducibility Certification"]


@st.composite
def digests(draw) -> dict[str, str]:
    """A few digests about a small pool of papers, so that rungs collide and climb."""
    texts = {}
    for n in range(draw(st.integers(1, 5))):
        day = date(2023, draw(st.integers(1, 12)), draw(st.integers(1, 28)))
        sections: dict[str, list[Item]] = {"certified": [], "accepted": [], "submitted": []}
        for forum in draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=5, unique=True)):
            rung = draw(st.sampled_from(list(sections)))
            title = draw(st.sampled_from(["Title A", "Title B: Revised"]))
            authors = ("Ada Lovelace", "Wei ZHANG") if rung != "submitted" else ()
            certs = (
                tuple(draw(st.lists(st.sampled_from(CERTS), min_size=1, max_size=2, unique=True)))
                if rung == "certified"
                else ()
            )
            sections[rung].append(Item(forum, title, authors, f"Abstract of {forum}, version {n % 2}.", certs))
        texts[f"digest-{n}.txt"] = digest_text(day, **sections)
    return texts


@settings(max_examples=200, deadline=None)
@given(digests(), st.randoms(use_true_random=False))
def test_merge_is_order_independent(texts, rnd):
    parsed = [parse_digest(t, name) for name, t in texts.items()]
    whole = merge({}, parsed)
    shuffled = parsed[:]
    rnd.shuffle(shuffled)
    state = {}
    for d in shuffled:
        state = merge(state, [d])
    assert state == whole
    assert merge(whole, parsed) == whole  # idempotent: merging again adds nothing


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(digests(), st.randoms(use_true_random=False), st.integers(1, 6))
def test_any_order_and_grouping_gives_the_same_bytes(texts, rnd, max_entries):
    with tempfile.TemporaryDirectory() as tmp:
        inputs = write(Path(tmp) / "in", texts)
        one, many = Path(tmp) / "one", Path(tmp) / "many"
        assert run_cli("update", *sorted(inputs.values()), "-o", one, "--max-entries", str(max_entries)).code == 0
        names = list(inputs.values())
        rnd.shuffle(names)
        while names:
            k = rnd.randint(1, len(names))
            group, names = names[:k], names[k:]
            assert run_cli("update", *group, "-o", many, "--max-entries", str(max_entries)).code == 0
        assert snapshot(many) == snapshot(one)
        times = mtimes(many)
        assert run_cli("update", *inputs.values(), "-o", many, "--max-entries", str(max_entries)).code == 0
        assert mtimes(many) == times  # a rerun rewrites nothing
