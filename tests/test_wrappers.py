"""Google Groups "Digest for …" and "Abridged summary of …" e-mails: one wrapper, several digests.

The wrapper e-mails are constructed (tests/groupsgen.py), not captured: see its docstring.
"""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
from datetime import UTC, date, datetime, timedelta

from conftest import SAMPLE, run_cli, snapshot
from digest2feed.sources.wrappers import ABRIDGED_HINT
from digestgen import Item, digest_text
from groupsgen import Post, wrapper
from mailgen import digest_part, message

SUBJECT, BODY = digest_part(SAMPLE.read_text(encoding="utf-8"))
DAYS = [date(2025, 11, 3) + timedelta(days=i) for i in range(5)]


def body_of(day: date, forum_id: str) -> str:
    """A daily digest as its e-mail body holds it: the title line is the Subject, not in the body."""
    text = digest_text(
        day, submitted=[Item(forum_id, f"Paper of {day:%A}", abstract="We study $x < 1$.")], kind="Daily"
    )
    return text.split("\n", 2)[2]


def daily_wrapper() -> bytes:
    posts = [Post(f"Daily TMLR digest for {d:%b} {d.day:02d}, {d.year}", body_of(d, f"Day{d.day:02d}xxxx"),
                  when=f"{d:%b} {d.day:02d} 12:00AM") for d in DAYS]  # fmt: skip
    # A topic that is not a digest, in a topic of its own and as a second message in a digest's topic.
    posts.insert(2, Post("Is the digest late this week?", "It came a day late for me.\n", "A Member <m@example.org>"))
    posts.insert(4, Post(posts[3].topic, "Thanks!\n", "A Member <m@example.org>"))
    return bytes(wrapper(posts, datetime(2025, 11, 8, 0, 5, tzinfo=UTC)))


def test_a_digest_wrapper_gives_each_digest_with_its_own_date(tmp_path):
    eml = tmp_path / "digest.eml"
    eml.write_bytes(daily_wrapper())
    subject = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)["Subject"]
    assert subject == "Digest for tmlr-announce-weekly@googlegroups.com - 7 updates in 6 topics"
    r = run_cli("parse", eml, "--json")
    assert (r.code, r.err) == (0, "")
    got = [(d["source"], d["date"], d["kind"], [p["id"] for p in d["papers"]]) for d in json.loads(r.out)["digests"]]
    assert got == [
        (f"{eml} part 1", "2025-11-03", "daily", ["Day03xxxx"]),
        (f"{eml} part 2", "2025-11-04", "daily", ["Day04xxxx"]),
        (f"{eml} part 4", "2025-11-05", "daily", ["Day05xxxx"]),  # part 3 is the member's question
        (f"{eml} part 6", "2025-11-06", "daily", ["Day06xxxx"]),  # part 5 the reply in that topic
        (f"{eml} part 7", "2025-11-07", "daily", ["Day07xxxx"]),
    ]
    out = tmp_path / "out"
    r = run_cli("update", eml, "-o", out, "-v")
    assert (r.code, r.err) == (0, "")
    assert "inputs read: 5 digests (2 other messages or files skipped, 0 duplicates)" in r.out
    items = json.loads((out / "feed.json").read_bytes())["items"]
    published = {i["id"].split("=")[1].split("#")[0]: i["date_published"][:10] for i in items}
    assert published == {f"Day{d.day:02d}xxxx": f"{d:%Y-%m-%d}" for d in DAYS}  # five dates, never one for all


def test_the_same_wrapper_twice_is_read_once(tmp_path):
    box = mailbox.mbox(tmp_path / "inbox")
    box.add(daily_wrapper())
    box.add(daily_wrapper())
    box.flush()
    r = run_cli("update", tmp_path / "inbox", "-o", tmp_path / "out", "-v")
    assert (r.code, r.err) == (0, "")
    assert "inputs read: 5 digests (2 other messages or files skipped, 7 duplicates)" in r.out  # all 7 parts
    (tmp_path / "once.eml").write_bytes(daily_wrapper())
    assert run_cli("update", tmp_path / "once.eml", "-o", tmp_path / "once").code == 0
    assert snapshot(tmp_path / "out") == snapshot(tmp_path / "once")


def test_an_abridged_summary_warns_about_what_it_cut_and_how_to_get_it_all(tmp_path):
    lines = BODY.split("\n")
    second = lines.index("Title: On the Statistical Complexity of Estimation and Testing under Privacy Constraints")
    cut = "\n".join(lines[: second + 4]) + "\nThe challenge of producing accurate statistics while respecting\n"
    may = "Accepted pa\n"  # the next week's digest, cut before its first section ends
    posts = [Post(SUBJECT, cut), Post("Weekly TMLR digest for May 07, 2023", may, when="May 07 12:00AM")]
    eml = tmp_path / "abridged.eml"
    eml.write_bytes(bytes(wrapper(posts, datetime(2023, 5, 8, tzinfo=UTC), abridged=True)))
    out = tmp_path / "out"
    r = run_cli("update", eml, "-o", out, "-v")
    assert r.code == 0
    assert r.err.splitlines() == [
        f"digest2feed: warning: {eml} part 1:{second + 1}: entry 'On the Statistical Complexity of Estimation and "
        f"Testing unde' is cut off (no URL); skipped; {ABRIDGED_HINT}",
        f"digest2feed: warning: {eml} part 2: no TMLR digest sections found; {ABRIDGED_HINT}",
    ]
    assert 'set your Google Groups subscription to "All email"' in ABRIDGED_HINT
    assert "papers: 1 added" in r.out
    (item,) = json.loads((out / "feed.json").read_bytes())["items"]
    assert item["id"].startswith("https://openreview.net/forum?id=JkIH4MeOc3")
    assert item["date_published"].startswith("2023-04-30")
    assert run_cli("update", eml, "-o", out, "-q").err == ""


def test_a_digest_e_mail_that_quotes_the_banner_is_no_wrapper(tmp_path):
    """Only a message that opens with the ruled banner is split; a digest mentioning it is one digest."""
    eml = tmp_path / "one.eml"
    eml.write_bytes(bytes(message("Today's Topic Summary\n\n" + BODY, SUBJECT)))
    r = run_cli("parse", eml, "--json")
    assert (r.code, r.err) == (0, "")
    (d,) = json.loads(r.out)["digests"]
    assert (d["source"], len(d["papers"])) == (str(eml), 24)


def test_a_wrapper_in_an_unknown_layout_is_read_whole_not_dropped(tmp_path):
    """Constructed: the banner without the message markers (a layout Google may use one day)."""
    body = "Today's topic summary\n\nGroup: https://groups.google.com/g/tmlr-announce-weekly/topics\n\n" + BODY
    eml = tmp_path / "new-layout.eml"
    eml.write_bytes(bytes(message(body, "Digest for tmlr-announce-weekly@googlegroups.com - 1 update in 1 topic")))
    r = run_cli("parse", eml, "--json")
    assert (r.code, r.err) == (0, "")
    (d,) = json.loads(r.out)["digests"]
    assert (d["source"], len(d["papers"])) == (str(eml), 24)
