"""The W3C Feed Validation Service on every feed file, run locally from its public source.

Opt-in: FEEDVALIDATOR=<a checkout of w3c/feedvalidator>/src (it needs html5lib and rdflib in
this interpreter: `.venv/bin/pip install html5lib rdflib`). Each file is validated as if served
at its self link, as NOTES.md says (pasted input always warns that the two differ), with the
online service's filter ("AA").
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, SAMPLE, run_cli
from test_zotero import configure, history


def messages(path: Path) -> list[str]:
    sys.path.insert(0, os.environ["FEEDVALIDATOR"])
    import feedvalidator
    from feedvalidator import compatibility
    from feedvalidator.formatter.text_plain import Formatter

    data = path.read_bytes()
    m = re.search(rb'<(?:atom:)?link href="([^"]+)" rel="self"', data)
    try:
        found = feedvalidator.validateString(data, firstOccurrenceOnly=1, base=m[1].decode() if m else "")
        events = found["loggedEvents"]
    except feedvalidator.logging.ValidationFailure as e:
        events = [e.event]
    return list(Formatter(compatibility.AA(events)))


@pytest.mark.long_run("FEEDVALIDATOR")
def test_every_feed_of_the_sample_and_of_a_history_validates_without_error_or_warning(tmp_path):
    sample, hist = tmp_path / "sample", tmp_path / "history"
    cfg = configure(tmp_path)
    assert run_cli("update", SAMPLE, FIXTURES / "certifications-2024-03-10.txt", "-o", sample, "-c", cfg).code == 0
    digests, _ = history()
    for g in digests:
        (tmp_path / g.name).write_text(g.text, encoding="utf-8")
        assert run_cli("update", tmp_path / g.name, "-o", hist, "-c", configure(tmp_path, "max_entries = 3")).code == 0
    files = sorted(p for out in (sample, hist) for p in out.rglob("*") if p.suffix in (".xml", ".opml"))
    assert len(files) == 2 * (7 * 2 + 1 + 1)  # twice: Atom and RSS of 7 feeds, one archive month, feeds.opml
    found = {str(p.relative_to(tmp_path)): messages(p) for p in files}
    assert found == {name: [] for name in found}
