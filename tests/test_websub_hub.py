"""WebSub end to end against a real hub: flask-websub's (PyPI), on 127.0.0.1.

The hub runs in a process of its own (tests/flask_websub_hub.py); the site is served by a
file server of the test's own and read by a subscriber of the test's own, which subscribes
as WebSub 5.1 says and confirms only the subscriptions it asked for (5.3). `digest2feed
update` runs as the installed command, as cron would run it.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import feedparser
import pytest

from conftest import FIXTURES, SAMPLE, console_script
from hubs import FileServer, FlaskWebSubHub, Subscriber, signature_ok, wait_until

pytest.importorskip("flask_websub", reason="flask-websub is a test dependency (pip install -e '.[test]')")

SECRET = "a-secret-of-the-subscriber"


def update(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [console_script(), "update", *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def world(tmp_path: Path):
    """The hub, the web host serving the output folder, the subscriber: started here, stopped here."""
    (tmp_path / "hub").mkdir()
    site = tmp_path / "site"
    started: list = []
    try:
        hub = FlaskWebSubHub(tmp_path / "hub")
        started.append(hub)
        files = FileServer(site, hub=hub.url)
        started.append(files)
        sub = Subscriber()
        started.append(sub)
        cfg = tmp_path / "digest2feed.toml"
        lines = {"output": str(site), "base_url": files.url, "hub": hub.url, "log_file": str(tmp_path / "run.log")}
        cfg.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in lines.items()))
        yield hub, files, sub, site, cfg
    finally:
        for server in reversed(started):
            server.stop()
    assert hub.proc.poll() is not None, "the hub process was not stopped"


def test_a_new_digest_is_delivered_signed_and_a_no_op_run_delivers_nothing(world):
    hub, files, sub, site, cfg = world
    base = files.url
    first = update(SAMPLE, FIXTURES / "certifications-2024-03-10.txt", "-c", cfg)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    # The first run changed every feed: each was pinged (the hub read hub.topic) and fetched by the hub.
    feeds = sorted(
        p.relative_to(site).as_posix() for p in site.rglob("*") if p.name in ("atom.xml", "rss.xml", "feed.json")
    )
    feeds = [f for f in feeds if not f.startswith("archive/")]
    assert len(feeds) == 12
    assert sorted(hub.requests("publish")) == sorted(base + f for f in feeds)
    assert sorted(files.fetched) == sorted("/" + f for f in feeds)

    main = sub.subscribe(hub.url, base + "atom.xml", "/main", secret=SECRET)
    view = sub.subscribe(hub.url, base + "accepted/atom.xml", "/accepted")
    quiet = sub.subscribe(hub.url, base + "certified/atom.xml", "/certified")
    for s, topic in ((main, "atom.xml"), (view, "accepted/atom.xml"), (quiet, "certified/atom.xml")):
        (asked,) = s.verifications
        assert asked["hub.mode"] == "subscribe" and asked["hub.topic"] == base + topic
        assert int(asked["hub.lease_seconds"]) > 0 and asked["hub.challenge"]
    assert sub.deliveries == []

    # A daily digest with an accepted paper: the main feed and the accepted view change, not certified/.
    before = {f: (site / f).read_bytes() for f in feeds}
    second = update(FIXTURES / "daily-2025-11-06.txt", "-c", cfg)
    assert second.returncode == 0, second.stderr
    assert "ping" not in second.stderr
    assert wait_until(lambda: sub.received("/main") and sub.received("/accepted"), 15)
    (delivered,) = sub.received("/main")
    assert delivered.body == (site / "atom.xml").read_bytes()
    assert signature_ok(delivered, SECRET)
    assert not signature_ok(delivered, SECRET + "x")
    assert delivered.headers["X-Hub-Signature"].startswith("sha512=")
    ids = [e.id for e in feedparser.parse(delivered.body).entries]
    assert "https://openreview.net/forum?id=DailyAcc01#accepted" in ids
    (pushed,) = sub.received("/accepted")
    assert pushed.body == (site / "accepted" / "atom.xml").read_bytes()
    assert "X-Hub-Signature" not in pushed.headers  # no secret, no signature
    assert "https://openreview.net/forum?id=DailyAcc01#accepted" in [
        e.id for e in feedparser.parse(pushed.body).entries
    ]
    assert sub.received("/certified") == []
    # Pinged: exactly the feed files whose bytes changed (9 of 12: certified/ did not).
    changed = sorted(f for f in feeds if (site / f).read_bytes() != before[f])
    assert len(changed) == 9 and not any(f.startswith("certified/") for f in changed)
    assert sorted(hub.requests("publish")[12:]) == [base + f for f in changed]

    # The same digest again changes nothing: no ping, so no delivery.
    asked_before, delivered_before = len(hub.requests("publish")), len(sub.deliveries)
    third = update(FIXTURES / "daily-2025-11-06.txt", "-c", cfg)
    assert third.returncode == 0, third.stderr
    time.sleep(1.0)
    assert len(hub.requests("publish")) == asked_before
    assert len(sub.deliveries) == delivered_before
    assert not (site / ".digest2feed.websub.json").exists()
