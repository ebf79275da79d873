"""WebSub publishing: the hub setting, hub links in every feed, and the pings after a run.

The hubs here are servers of the tests' own on 127.0.0.1 (tests/hubs.py) that record, refuse
or stall; test_websub_hub.py runs the real flask-websub hub end to end.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import time
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from conftest import FIXTURES, ROOT, SAMPLE, console_script, mtimes, run_cli, snapshot
from digest2feed import websub
from hubs import RecordingHub, StalledHub

BASE = "https://example.org/tmlr/"
ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = [
    f"{d}{n}" for d in ("", "accepted/", "submissions/", "certified/") for n in ("atom.xml", "rss.xml", "feed.json")
]
MEMORY = ".digest2feed.websub.json"


@pytest.fixture
def hub():
    h = RecordingHub()
    yield h
    h.stop()


def settings(tmp_path: Path, hub: str | list[str] | None, **more: object) -> Path:
    values: dict = {"base_url": BASE, "log_file": str(tmp_path / "run.log"), **more}
    if hub is not None:
        values["hub"] = hub
    lines = []
    for k, v in values.items():
        if isinstance(v, dict):
            continue
        lines.append(f"{k} = {json.dumps(v)}")
    for k, v in values.items():
        if isinstance(v, dict):
            lines += [f"[{k}]", *(f"{kk} = {json.dumps(vv)}" for kk, vv in v.items())]
    path = tmp_path / "digest2feed.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def log_lines(tmp_path: Path) -> list[str]:
    return [line.split(" ", 1)[1] for line in (tmp_path / "run.log").read_text().splitlines()]


# --- the setting ---------------------------------------------------------------------------


def test_hub_is_one_url_or_several_and_the_flag_wins(tmp_path, out, hub):
    other = RecordingHub()
    try:
        cfg = settings(tmp_path, hub.url)
        assert run_cli("update", SAMPLE, "-o", out, "-c", cfg).code == 0
        assert len(hub.topics()) == 12
        cfg = settings(tmp_path, [hub.url, other.url])
        assert run_cli("update", "--regenerate", "-o", out, "-c", cfg).code == 0
        assert len(hub.topics()) == 24 and len(other.topics()) == 12  # the links changed: every feed again
        # --hub (repeatable) replaces the file's list.
        r = run_cli("update", "--regenerate", "-o", out, "-c", cfg, "--hub", other.url)
        assert (r.code, r.err) == (0, "")
        assert len(hub.topics()) == 24 and len(other.topics()) == 24
        links = etree.parse(str(out / "atom.xml")).getroot().findall(f"{ATOM}link[@rel='hub']")
        assert [link.get("href") for link in links] == [other.url]
    finally:
        other.stop()


def test_a_hub_without_base_url_is_a_settings_error(tmp_path, out):
    cfg = tmp_path / "d.toml"
    cfg.write_text(f'hub = "https://hub.example/"\nlog_file = "{tmp_path / "run.log"}"\n')
    r = run_cli("update", SAMPLE, "-o", out, "-c", cfg)
    assert r.code == 1
    assert r.err == (
        f"digest2feed: {cfg}: hub needs base_url (the address the hubs fetch the feeds from; set it or --base-url)\n"
    )
    assert not out.exists()
    assert log_lines(tmp_path)[0].startswith(f"update failed: {cfg}: hub needs base_url")
    # The flag's own: wrong usage (exit 2); with --base-url it is fine.
    r = run_cli("update", SAMPLE, "-o", out, "--hub", "https://hub.example/")
    assert r.code == 2 and r.err.startswith("digest2feed: --hub: hub needs base_url")
    assert not out.exists()


@pytest.mark.parametrize(
    "value, says",
    [
        ('"hub.example"', "hub must be an http:// or https:// URL, or a list of them (got 'hub.example')"),
        ("[]", "hub must be an http:// or https:// URL, or a list of them (got [])"),
        ('["https://a.example/", 3]', "hub must be an http:// or https:// URL, or a list of them"),
        ('"https://me:hunter2@hub.example/"', "hub must not hold a user or password (warnings name each hub)"),
    ],
)
def test_bad_hub_values_say_why(tmp_path, out, value, says):
    cfg = tmp_path / "d.toml"
    cfg.write_text(f'base_url = "{BASE}"\nhub = {value}\n')
    r = run_cli("update", SAMPLE, "-o", out, "-c", cfg)
    assert r.code == 1
    assert r.err.startswith(f"digest2feed: {cfg}: {says}")
    assert "hunter2" not in r.err
    r = run_cli("update", SAMPLE, "-o", out, "--base-url", BASE, "--hub", "ftp://hub.example/")
    assert r.code == 2 and "--hub: hub must be an http:// or https:// URL" in r.err


# --- the links -------------------------------------------------------------------------------


def test_every_feed_names_its_hubs_beside_its_self_link(tmp_path, out, hub):
    hubs = [hub.url, hub.url + "second"]
    cfg = settings(tmp_path, hubs, max_entries=5)  # max_entries: archives too
    assert run_cli("update", SAMPLE, FIXTURES / "certifications-2024-03-10.txt", "-o", out, "-c", cfg).code == 0
    for rel in FEEDS:
        data = (out / rel).read_bytes()
        if rel.endswith(".json"):
            doc = json.loads(data)
            assert doc["feed_url"] == BASE + rel
            assert doc["hubs"] == [{"type": "WebSub", "url": h} for h in hubs]
            continue
        root = etree.fromstring(data)
        links = root.findall(f"{ATOM}link") if rel.endswith("atom.xml") else root.find("channel").findall(f"{ATOM}link")
        assert [(x.get("rel"), x.get("href")) for x in links if x.get("rel") in ("self", "hub")] == [
            ("self", BASE + rel),
            ("hub", hubs[0]),
            ("hub", hubs[1]),
        ]
        parsed = feedparser.parse(data)
        assert not parsed.bozo
        assert [x.href for x in parsed.feed.links if x.rel == "hub"] == hubs
        assert len(parsed.entries) == (5 if not rel.startswith("certified/") else 2)
    # Archives are not subscribed to, and the page and the OPML are not feeds: no hub there.
    others = [p for p in out.rglob("*") if p.is_file() and p.relative_to(out).as_posix() not in FEEDS]
    assert any(p.parent.name == "archive" for p in others)
    for p in others:
        assert b'rel="hub"' not in p.read_bytes() and hubs[0].encode() not in p.read_bytes(), p


def test_hub_links_come_and_go_with_the_setting_and_a_no_op_run_stays_byte_identical(tmp_path, out, hub):
    other = RecordingHub()
    try:
        plain = tmp_path / "plain.toml"
        plain.write_text(f'base_url = "{BASE}"\n')
        assert run_cli("update", SAMPLE, "-o", out, "-c", plain).code == 0
        without = snapshot(out)
        times = mtimes(out)
        # A hub set: exactly the twelve feed files are rewritten (the page, OPML and state of
        # the other files untouched), and each is pinged.
        cfg = settings(tmp_path, hub.url)
        r = run_cli("update", SAMPLE, "-o", out, "-c", cfg, "-v")
        assert r.code == 0 and "files written: 12\nhub pings: 12 sent, 0 owed to the next run\n" in r.out
        now = mtimes(out)
        assert sorted(p for p in now if now[p] != times.get(p) and not p.startswith(".")) == sorted(FEEDS)
        assert sorted(hub.topics()) == sorted(BASE + f for f in FEEDS)
        with_hub = snapshot(out)
        # No-op runs: same bytes, same mtimes, no ping (also the spliced path: a digest already merged).
        times = mtimes(out)
        for args in ([SAMPLE], ["--regenerate"]):
            assert run_cli("update", *args, "-o", out, "-c", cfg).code == 0
            assert snapshot(out) == with_hub and mtimes(out) == times
        assert len(hub.topics()) == 12
        # Another hub: rewritten again, pinged at the new hub only.
        cfg = settings(tmp_path, other.url)
        assert run_cli("update", SAMPLE, "-o", out, "-c", cfg).code == 0
        assert len(hub.topics()) == 12 and len(other.topics()) == 12
        assert all(other.url.encode() in (out / f).read_bytes() and hub.url.encode() not in (out / f).read_bytes()
                   for f in FEEDS)  # fmt: skip
        # The hub taken out: the very bytes of before, and a fresh run's.
        assert run_cli("update", SAMPLE, "-o", out, "-c", plain).code == 0
        assert snapshot(out) == without
        fresh = tmp_path / "fresh"
        assert run_cli("update", SAMPLE, "-o", fresh, "-c", plain).code == 0
        assert snapshot(fresh) == without
        assert len(other.topics()) == 12
    finally:
        other.stop()


def test_a_new_digest_into_feeds_with_hubs_is_spliced_to_the_bytes_of_a_regeneration(tmp_path, out, hub):
    cfg = settings(tmp_path, [hub.url, "https://pubsubhubbub.example/"])
    assert run_cli("update", SAMPLE, "-o", out, "-c", cfg, "--no-ping").code == 0
    assert run_cli("update", FIXTURES / "daily-2025-11-06.txt", "-o", out, "-c", cfg, "--no-ping").code == 0
    spliced = snapshot(out)
    assert run_cli("update", "--regenerate", "-o", out, "-c", cfg, "--no-ping").code == 0
    assert snapshot(out) == spliced
    assert hub.topics() == []


# --- the pings -------------------------------------------------------------------------------


def test_each_changed_feed_is_pinged_once_as_a_form_and_nothing_else(tmp_path, out, hub):
    cfg = settings(tmp_path, hub.url + "hub")
    assert run_cli("update", SAMPLE, FIXTURES / "certifications-2024-03-10.txt", "-o", out, "-c", cfg).code == 0
    assert len(hub.pings) == 12
    for p in hub.pings:
        assert p.path == "/hub"
        assert p.content_type == "application/x-www-form-urlencoded"
        assert sorted(p.form) == ["hub.mode", "hub.topic", "hub.url"]
        assert p.form["hub.mode"] == ["publish"] and p.form["hub.url"] == p.form["hub.topic"]
    before = {f: (out / f).read_bytes() for f in FEEDS}
    assert run_cli("update", FIXTURES / "daily-2025-11-06.txt", "-o", out, "-c", cfg).code == 0
    changed = sorted(f for f in FEEDS if (out / f).read_bytes() != before[f])
    assert len(changed) == 9  # certified/ holds nothing of the daily digest
    assert sorted(hub.topics()[12:]) == [BASE + f for f in changed]
    assert not (out / MEMORY).exists()


def test_a_refusing_hub_is_one_warning_exit_0_a_log_line_and_is_pinged_again_next_run(tmp_path, out, hub):
    hub.status = 500
    cfg = settings(tmp_path, hub.url)
    r = run_cli("update", SAMPLE, "-o", out, "-c", cfg)
    assert r.code == 0
    line = (
        f"{hub.url}: hub ping failed for 12 feeds (refused: HTTP 500 Internal Server Error); the next run pings again"
    )
    assert r.err == f"digest2feed: warning: {line}\n"
    assert len(hub.pings) == 1  # the first refusal ends that hub's pings for this run
    assert (out / "atom.xml").is_file()
    logged = log_lines(tmp_path)
    assert logged[0].startswith("update ok: 1 digests read") and "; 1 warnings;" in logged[0]
    assert logged[1] == f"ping: {line}"
    assert json.loads((out / MEMORY).read_text())["owed"] == {hub.url: sorted(FEEDS)}
    # The next run has nothing new, but owes the pings: the hub, answering again, gets all twelve.
    hub.status = 204
    files = snapshot(out)
    r = run_cli("update", SAMPLE, "-o", out, "-c", cfg)
    assert (r.code, r.err) == (0, "")
    assert sorted(hub.topics()[1:]) == sorted(BASE + f for f in FEEDS)
    assert not (out / MEMORY).exists()
    assert snapshot(out) == files
    # And then nothing is owed any more.
    assert run_cli("update", SAMPLE, "-o", out, "-c", cfg).code == 0
    assert len(hub.pings) == 13


def test_an_unreachable_hub_and_quiet(tmp_path, out):
    dead = RecordingHub()
    url = dead.url
    dead.stop()  # the port is closed now
    cfg = settings(tmp_path, url)
    r = run_cli("update", SAMPLE, "-o", out, "-c", cfg)
    assert r.code == 0
    assert r.err == (
        f"digest2feed: warning: {url}: hub ping failed for 12 feeds (cannot reach it: Connection refused);"
        " the next run pings again\n"
    )
    r = run_cli("update", SAMPLE, "-o", out, "-c", cfg, "-q")
    assert (r.code, r.err) == (0, "")  # -q: no warnings; the log still has it
    assert log_lines(tmp_path)[-1].startswith(f"ping: {url}: hub ping failed for 12 feeds")


def test_a_stalled_hub_holds_the_run_no_longer_than_the_default_bound(tmp_path, out):
    stalled = StalledHub()
    try:
        cfg = settings(tmp_path, stalled.url)
        start = time.monotonic()
        proc = subprocess.run(
            [console_script(), "update", SAMPLE, "-o", out, "-c", cfg], capture_output=True, text=True, timeout=60
        )
        took = time.monotonic() - start
    finally:
        stalled.stop()
    assert proc.returncode == 0
    assert proc.stderr == (
        f"digest2feed: warning: {stalled.url}: hub ping failed for 12 feeds (no answer within 10 s);"
        " the next run pings again\n"
    )
    assert len(stalled.accepted) == 1
    assert 10 <= took < 13, took  # 10 s for the pings, the rest is the run itself
    assert json.loads((out / MEMORY).read_text())["owed"] == {stalled.url: sorted(FEEDS)}


def test_imap_timeout_bounds_the_pings_and_a_stalled_hub_does_not_delay_another(tmp_path, out, hub):
    stalled = StalledHub()
    try:
        cfg = settings(tmp_path, [stalled.url, hub.url], imap={"timeout": 1.5})
        start = time.monotonic()
        r = run_cli("update", SAMPLE, "-o", out, "-c", cfg, "-v")
        took = time.monotonic() - start
    finally:
        stalled.stop()
    assert r.code == 0 and took < 3.5, took
    assert r.err == (
        f"digest2feed: warning: {stalled.url}: hub ping failed for 12 feeds (no answer within 1.5 s);"
        " the next run pings again\n"
    )
    assert "hub pings: 12 sent, 12 owed to the next run" in r.out
    assert len(hub.topics()) == 12
    assert json.loads((out / MEMORY).read_text())["owed"] == {stalled.url: sorted(FEEDS)}


def test_no_ping_leaves_the_pings_for_the_ping_command(tmp_path, out, hub):
    cfg = settings(tmp_path, hub.url)
    r = run_cli("update", SAMPLE, "-o", out, "-c", cfg, "--no-ping")
    assert (r.code, r.err) == (0, "")
    assert hub.pings == []
    assert json.loads((out / MEMORY).read_text())["owed"] == {hub.url: sorted(FEEDS)}
    # ... the files are published here ..., then:
    r = run_cli("ping", "-o", out, "-c", cfg, "-v")
    assert (r.code, r.err, r.out) == (0, "", "hub pings: 12 sent, 0 owed to the next run\n")
    assert sorted(hub.topics()) == sorted(BASE + f for f in FEEDS)
    assert not (out / MEMORY).exists()
    assert log_lines(tmp_path)[-1] == "ping: hub pings: 12 sent, 0 owed to the next run"
    r = run_cli("ping", "-o", out, "-c", cfg)
    assert (r.code, r.err) == (0, "") and len(hub.pings) == 12  # nothing owed, nothing sent
    # Without a hub, or without feeds, ping is refused.
    r = run_cli("ping", "-o", out, "--base-url", BASE)
    assert r.code == 1 and "no hub to ping" in r.err
    r = run_cli("ping", "-o", tmp_path / "none", "-c", cfg)
    assert r.code == 1 and "no feeds here" in r.err
    assert not (tmp_path / "none").exists()


def test_pings_owed_to_a_hub_no_longer_set_are_dropped(tmp_path, out, hub):
    hub.status = 503
    assert run_cli("update", SAMPLE, "-o", out, "-c", settings(tmp_path, hub.url)).code == 0
    assert (out / MEMORY).exists()
    plain = tmp_path / "plain.toml"
    plain.write_text(f'base_url = "{BASE}"\n')
    assert run_cli("update", SAMPLE, "-o", out, "-c", plain).code == 0
    assert not (out / MEMORY).exists()
    assert len(hub.pings) == 1


def test_the_memory_is_a_dot_file_the_recipes_and_make_clean_leave_off_the_web():
    assert websub.NAME == MEMORY
    assert fnmatch.fnmatch(MEMORY, ".*")  # the nginx block's `location ~ /\.`, `--exclude '.*'`
    assert fnmatch.fnmatch(MEMORY, ".digest2feed*")  # the README's rm -f output/.digest2feed*
    assert "-name '.digest2feed.*'" in (ROOT / "Makefile").read_text()
    assert fnmatch.fnmatch(MEMORY, ".digest2feed.*")


def test_a_run_killed_while_it_pings_still_owes_every_ping(tmp_path, out):
    stalled = StalledHub()
    try:
        cfg = settings(tmp_path, stalled.url)
        proc = subprocess.Popen([console_script(), "update", SAMPLE, "-o", out, "-c", cfg])
        try:
            deadline = time.monotonic() + 20
            while not stalled.accepted and time.monotonic() < deadline:
                time.sleep(0.02)
            assert stalled.accepted, "the run never pinged"
        finally:
            proc.kill()
            proc.wait()
    finally:
        stalled.stop()
    assert json.loads((out / MEMORY).read_text())["owed"] == {stalled.url: sorted(FEEDS)}
    assert (out / "atom.xml").is_file()
