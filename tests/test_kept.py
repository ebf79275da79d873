"""What a run keeps of a file's last version: the same bytes as a file rendered whole, never a stale piece.

Every subscription feed (not the state files), papers.bib and search-index.js list their pieces'
entry hashes; a run keeps, from a file's last version, the piece (a feed's entry, a BibTeX entry,
a search line) of each entry whose hash is unchanged, and renders the others (render/pieces.py).
Every fixture here is constructed.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from conftest import run_cli, snapshot
from digestgen import Generated, Item

KEEPING = {  # a file that keeps pieces → where its list of them starts
    "accepted/papers.bib": b"@comment{digest2feed-pieces ",
    "search-index.js": b"// digest2feed-pieces ",
    "accepted/atom.xml": b"<!-- digest2feed-pieces ",
    "rss.xml": b"<!-- digest2feed-pieces ",
    "accepted/feed.json": b'"pieces": "',
}


def weeks(tmp_path: Path) -> list[Path]:
    """Four weeks: two papers submitted, then each accepted; a corrected resend of the third week
    (same day, a changed title, which sorts first: a tie on time is broken by content)."""
    day = [date(2024, 3, 3) + timedelta(weeks=w) for w in range(3)]
    a = Item("PaperAaaa1", "Zeta Models of Things", ("Ada Lovelace",), "About zeta.")
    b = Item("PaperBbbb2", "Omega Graphs", ("Alan Turing", "Grace Hopper"), "About omega.")
    corrected = Item(b.forum_id, "Alpha Graphs", b.authors, b.abstract)
    digests = [
        Generated(day[0], submitted=(a, b)),
        Generated(day[1], accepted=(a,)),
        Generated(day[2], accepted=(b,)),
        Generated(day[2], accepted=(corrected,)),
    ]
    paths = []
    for i, g in enumerate(digests):
        path = tmp_path / f"{i}-{g.name}"
        path.write_text(g.text, encoding="utf-8")
        paths.append(path)
    return paths


def test_a_corrected_title_reaches_every_whole_history_file_as_a_run_over_everything_gives_it(tmp_path):
    inputs = weeks(tmp_path)
    one_by_one, at_once = tmp_path / "one", tmp_path / "once"
    for path in inputs:  # each run keeps what the file before it holds
        assert run_cli("update", path, "-o", one_by_one).code == 0
    assert run_cli("update", *inputs, "-o", at_once).code == 0
    got = snapshot(one_by_one)
    assert got == snapshot(at_once)
    bib = got["accepted/papers.bib"].decode()
    assert "title={Alpha Graphs}" in bib and "Omega" not in bib
    assert bib.index("turing2024alpha,") < bib.index("lovelace2024zeta,")  # newest first
    search = got["search-index.js"].decode()
    assert '"Alpha Graphs"' in search and "Omega" not in search


def damaged_hashes(path: Path, marker: bytes) -> None:
    """Drop the first entry hash (the newest paper's) from the list the file keeps, its fingerprint
    left as it was: paired in order, every other hash would name its neighbour's piece."""
    data = path.read_bytes()
    start = data.rindex(marker) + len(marker)
    style, first, rest = data[start:].split(b" ", 2)
    path.write_bytes(data[:start] + style + b" " + rest)


def test_a_list_of_hashes_that_does_not_match_the_pieces_keeps_nothing(tmp_path):
    inputs = weeks(tmp_path)
    out, once = tmp_path / "out", tmp_path / "once"
    assert run_cli("update", *inputs[:3], "-o", out).code == 0  # both papers accepted: two pieces each
    for rel, marker in KEEPING.items():
        damaged_hashes(out / rel, marker)
    assert run_cli("update", inputs[3], "-o", out).code == 0
    assert run_cli("update", *inputs, "-o", once).code == 0
    assert snapshot(out) == snapshot(once)


def test_each_piece_is_listed_with_its_entry_hash_in_file_order(tmp_path):
    inputs = weeks(tmp_path)
    out = tmp_path / "out"
    assert run_cli("update", *inputs, "-o", out).code == 0
    atom = (out / "atom.xml").read_text(encoding="utf-8")
    # The state file's own list: the hashes of its entries, newest first (b's acceptance, a's).
    state = re.search(r"<!-- digest2feed-entries ([0-9a-f ]+) -->", atom)[1].split()
    ids = re.findall(r"<id>https://openreview.net/forum\?id=(\w+)#(\w+)</id>", atom)
    hashes = dict(zip(ids, state, strict=True))
    bib = (out / "accepted" / "papers.bib").read_text(encoding="utf-8").splitlines()
    listed = bib[-2].removeprefix("@comment{digest2feed-pieces ").removesuffix("}").split()
    assert listed[1:] == [hashes[("PaperBbbb2", "accepted")], hashes[("PaperAaaa1", "accepted")]]
    assert len(listed[0]) == 16  # the style: the rendering version and the libraries' versions
    search = (out / "search-index.js").read_text(encoding="utf-8").splitlines()
    assert search[-2].split()[3:] == listed[1:]  # "// digest2feed-pieces STYLE h1 h2"
    assert search[-2].split()[2] != listed[0]  # each format its own style
    view = (out / "accepted" / "atom.xml").read_text(encoding="utf-8")
    assert re.search(r"<!-- digest2feed-pieces \w+ (\w+) (\w+) -->\n", view).groups() == tuple(listed[1:])
    main = (out / "rss.xml").read_text(encoding="utf-8")  # the main feed's RSS: both papers' accepted entries
    assert re.search(r"<!-- digest2feed-pieces \w+ (\w+) (\w+) -->\n", main).groups() == tuple(listed[1:])
    assert "digest2feed-pieces" not in atom  # a state file is always rendered whole


def test_a_changed_style_keeps_no_piece_of_the_files_it_changes(tmp_path):
    """The main feed's RSS with the status in its titles, then without, and the math as TeX, then
    MathML: each run gives the bytes of a run that read every digest under its own settings."""
    inputs = weeks(tmp_path)
    (tmp_path / "a.toml").write_text('math = "tex"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('status_in_title = false\nmath = "mathml"\n', encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli("update", *inputs[:2], "-o", out, "-c", tmp_path / "a.toml").code == 0
    assert run_cli("update", *inputs[2:], "-o", out, "-c", tmp_path / "b.toml").code == 0
    fresh = tmp_path / "fresh"
    assert run_cli("update", *inputs, "-o", fresh, "-c", tmp_path / "b.toml").code == 0
    assert snapshot(out) == snapshot(fresh)
    assert b"<title>Accepted: " not in snapshot(out)["rss.xml"]
