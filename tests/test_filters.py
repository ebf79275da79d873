"""The README's procmail and maildrop recipes, run by the real programs with the mail a list
subscriber really gets: every mail is delivered, the filter exits 0, the feed holds the digest.

The recipes are read from contrib/, which the README includes verbatim (checked here); the
test changes only the two paths in them (where digest2feed is installed, where the site is)
and, outside the recipe, where the mail is delivered.
"""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import os
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLE, need_tool
from groupsgen import Post, wrapper
from mailgen import digest_part, message, other_mail

WEB = SAMPLE.read_text(encoding="utf-8")
SUBJECT, BODY = digest_part(WEB)
README = (ROOT / "README.md").read_text(encoding="utf-8")
INSTALLED = "$HOME/digest2feed/.venv/bin/digest2feed"
SITE = "/srv/www/tmlr"
ANCHORED = "^Subject: *((Weekly|Daily) TMLR digest for|(Digest for|Abridged summary of) tmlr-announce)"
LOOSE = "^Subject:.*TMLR digest"  # the README's earlier pattern, which a reply or a forward also matches


def recipe(name: str) -> str:
    text = (ROOT / "contrib" / name).read_text(encoding="utf-8")
    assert f"\n{text}```" in README, f"README.md must include contrib/{name} verbatim in a code block"
    return text


def mails() -> list[EmailMessage]:
    """Constructed: what a subscriber of the group gets in a week, the digest among it."""
    digest = message(BODY, SUBJECT)
    reply = EmailMessage()
    reply["From"] = "A Member <member@example.org>"
    reply["Subject"] = "Re: " + SUBJECT
    reply["Message-ID"] = "<reply@example.org>"
    reply["In-Reply-To"] = digest["Message-ID"]
    reply.set_content("Is paper 3 out yet?\n\n" + "".join(f"> {line}\n" for line in BODY.split("\n")))
    forward = EmailMessage()
    forward["From"] = "me@example.org"
    forward["Subject"] = "Fwd: " + SUBJECT
    forward["Message-ID"] = "<forward@example.org>"
    forward.set_content(
        "Have a look.\n\n---------- Forwarded message ---------\nFrom: TMLR <tmlr-announce@googlegroups.com>\n"
        f"Date: Sun, Apr 30, 2023 at 2:00 AM\nSubject: {SUBJECT}\nTo: <tmlr-announce@googlegroups.com>\n\n{BODY}"
    )
    welcome = EmailMessage()
    welcome["From"] = "Google Groups <noreply@googlegroups.com>"
    welcome["Subject"] = "You have been added to TMLR Announcements"
    welcome["Message-ID"] = "<welcome@google.com>"
    welcome.set_content(
        "Hi, the owner of TMLR Announcements has added you to the group. You will receive the Weekly TMLR digest "
        "for every week as an e-mail.\n\nAbout this group: TMLR digests of new submissions and accepted papers.\n"
    )
    groups_digest = wrapper([Post(SUBJECT, BODY)], datetime(2023, 5, 1, tzinfo=UTC))
    return [digest, reply, forward, welcome, other_mail(1), groups_digest]


def digest2feed() -> str:
    script = Path(sys.executable).parent / "digest2feed"
    assert script.exists(), script
    return str(script)


def localised(text: str, site: Path, pattern: str) -> str:
    assert text.count(INSTALLED) == 1 and text.count(SITE) == 1 and text.count(ANCHORED) == 1
    return text.replace(INSTALLED, digest2feed()).replace(SITE, str(site)).replace(ANCHORED, pattern)


def check_outcome(tmp_path: Path, site: Path, sent: list[EmailMessage]) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir")
    delivered = [box.get_bytes(k) for k in box.iterkeys()]
    ids = sorted(email.message_from_bytes(m, policy=email.policy.default)["Message-ID"] for m in delivered)
    assert ids == sorted(m["Message-ID"] for m in sent)  # every mail delivered, once
    items = json.loads((site / "feed.json").read_bytes())["items"]
    expected = re.findall(r"^URL: https://openreview\.net/forum\?id=(\S+)$", BODY, re.M)
    assert len(expected) == 24
    assert sorted(i["id"].split("=")[1].split("#")[0] for i in items) == sorted(expected)
    for p in [site, *site.rglob("*")]:  # written under the filter's umask (procmail 077, maildrop 007)
        if not p.name.startswith("."):
            assert stat.S_IMODE(p.stat().st_mode) == (0o755 if p.is_dir() else 0o644), p


@pytest.mark.parametrize("pattern", [ANCHORED, LOOSE], ids=["readme-recipe", "loose-subject-pattern"])
def test_procmail_recipe(tmp_path, pattern):
    """The loose pattern pipes the reply and the forward in too: the run must still exit 0."""
    procmail = need_tool("procmail")
    site = tmp_path / "www" / "tmlr"
    rc = tmp_path / "procmailrc"
    rc.write_text(localised(recipe("procmailrc"), site, pattern))
    os.chmod(rc, 0o600)
    mailbox.Maildir(tmp_path / "Maildir")
    log = tmp_path / "procmail.log"
    sent = mails()
    for msg in sent:
        # DEFAULT and LOGFILE are the delivery set-up of this test, not part of the recipe.
        r = subprocess.run(
            [procmail, f"MAILDIR={tmp_path}", f"DEFAULT={tmp_path}/Maildir/", f"LOGFILE={log}", "VERBOSE=no", str(rc)],
            input=bytes(msg),
            capture_output=True,
            timeout=60,
        )
        assert (r.returncode, r.stderr) == (0, b""), msg["Subject"]
    text = log.read_text()
    assert "failure" not in text.lower() and "error" not in text.lower(), text
    assert text.count("Folder: ") == len(sent)
    check_outcome(tmp_path, site, sent)


@pytest.mark.parametrize("pattern", [ANCHORED, LOOSE], ids=["readme-recipe", "loose-subject-pattern"])
def test_maildrop_recipe(tmp_path, pattern):
    """maildrop makes a `cc "| cmd"` command's exit status its own: a failing run would fail the delivery."""
    maildrop = need_tool("maildrop")
    site = tmp_path / "www" / "tmlr"
    mailbox.Maildir(tmp_path / "Maildir")
    rc = tmp_path / "mailfilter"
    # The first line is this test's delivery set-up (maildrop takes DEFAULT from its filter file).
    rc.write_text(f'DEFAULT="{tmp_path}/Maildir"\n' + localised(recipe("mailfilter"), site, pattern))
    os.chmod(rc, 0o600)
    sent = mails()
    for msg in sent:
        r = subprocess.run([maildrop, str(rc)], input=bytes(msg), capture_output=True, timeout=60, cwd=tmp_path)
        assert (r.returncode, r.stdout, r.stderr) == (0, b"", b""), msg["Subject"]
    check_outcome(tmp_path, site, sent)
