"""A folder written by the version before the new shape (issue 20) is upgraded by one run.

tests/fixtures/upgrade-from-236a72d was written by commit 236a72d (captured, not
hand-made; its README says how): its files still carry the marks that version wrote
for byte splicing and the scan (the BLOCKS and HINT comments, JSON Feed's "blocks").
"""

from __future__ import annotations

import shutil

from conftest import FIXTURES, SAMPLE, mtimes, run_cli, snapshot

FIXTURE = FIXTURES / "upgrade-from-236a72d"
CERTS = FIXTURES / "certifications-2024-03-10.txt"
DAILY = FIXTURES / "daily-2025-11-06.txt"
OLD_MARKS = (b"digest2feed-blocks", b"digest2feed-shown", b'"blocks"')


def test_a_folder_written_by_the_version_before_is_upgraded_by_one_run_and_the_next_rewrites_nothing(tmp_path):
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    shutil.copytree(FIXTURE / "out", out)
    cfg = FIXTURE / "digest2feed.toml"
    old = snapshot(out)
    assert any(mark in data for data in old.values() for mark in OLD_MARKS)
    assert run_cli("update", DAILY, "-o", out, "-c", cfg).code == 0
    assert run_cli("update", SAMPLE, CERTS, DAILY, "-o", fresh, "-c", cfg).code == 0
    assert snapshot(out) == snapshot(fresh)
    assert not [rel for rel, data in snapshot(out).items() for mark in OLD_MARKS if mark in data]
    times = mtimes(out)
    again = run_cli("update", DAILY, "-o", out, "-c", cfg, "-v")
    assert again.code == 0 and "files written: 0" in again.out
    assert mtimes(out) == times
