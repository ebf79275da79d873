"""The systemd user service and timer in contrib/systemd, as the README gives them."""

from __future__ import annotations

import json
import mailbox
import os
import re
import shlex
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from conftest import ROOT, SAMPLE, need_tool
from mailgen import digest_part, message

UNITS = ROOT / "contrib" / "systemd"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def user_home(tmp_path: Path) -> dict[str, str]:
    """A home as the README sets it up: digest2feed installed in ~/digest2feed/.venv."""
    home = tmp_path / "home"
    (home / "digest2feed" / ".venv" / "bin").mkdir(parents=True)
    (home / "digest2feed" / ".venv" / "bin" / "digest2feed").symlink_to(Path(sys.executable).parent / "digest2feed")
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    return {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(run)}


def verify(env: dict[str, str], *units: Path) -> subprocess.CompletedProcess:
    tool = need_tool("systemd-analyze", "systemd")
    return subprocess.run([tool, "--user", "verify", *map(str, units)], env=env, capture_output=True, text=True)


def test_readme_holds_the_units_verbatim():
    for unit in ("digest2feed.service", "digest2feed.timer"):
        assert f"\n{(UNITS / unit).read_text()}```" in README, unit


def test_units_verify(tmp_path):
    env = user_home(tmp_path)
    r = verify(env, UNITS / "digest2feed.service", UNITS / "digest2feed.timer")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    # The check can fail: a typo in the calendar, or digest2feed not installed where the unit says.
    bad = tmp_path / "units"
    bad.mkdir()
    (bad / "digest2feed.service").write_text((UNITS / "digest2feed.service").read_text())
    (bad / "digest2feed.timer").write_text((UNITS / "digest2feed.timer").read_text().replace("Mon *", "Mnn *"))
    r = verify(env, bad / "digest2feed.timer")
    assert r.returncode != 0 and "Failed to parse calendar specification" in r.stderr
    (Path(env["HOME"]) / "digest2feed" / ".venv" / "bin" / "digest2feed").unlink()
    r = verify(env, UNITS / "digest2feed.service")
    assert r.returncode != 0 and "is not executable" in r.stderr


def test_timer_fires_weekly():
    tool = need_tool("systemd-analyze", "systemd")
    spec = re.search(r"^OnCalendar=(.*)$", (UNITS / "digest2feed.timer").read_text(), re.M).group(1)
    r = subprocess.run([tool, "calendar", "--iterations=3", spec], capture_output=True, text=True, env={"TZ": "UTC"})
    assert r.returncode == 0, r.stderr
    times = [
        datetime.strptime(m, "%a %Y-%m-%d %H:%M:%S")
        for m in re.findall(r"(\w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", r.stdout)
    ]
    assert len(times) == 3 and all(t.strftime("%a %H:%M") == "Mon 06:17" for t in times)
    assert [(b - a).days for a, b in zip(times, times[1:], strict=False)] == [7, 7]


def test_the_service_command_runs(tmp_path):
    """ExecStart, with %h the test's home and the site in a temp folder, over a Maildir holding the digest."""
    env = user_home(tmp_path)
    home = Path(env["HOME"])
    subject, body = digest_part(SAMPLE.read_text(encoding="utf-8"))
    (home / "Maildir").mkdir()
    mailbox.Maildir(home / "Maildir" / ".TMLR").add(message(body, subject))
    unit = (UNITS / "digest2feed.service").read_text()
    site = tmp_path / "www" / "tmlr"
    command = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1).replace("%h", str(home))
    command = command.replace("/srv/www/tmlr", str(site))
    workdir = re.search(r"^WorkingDirectory=(.*)$", unit, re.M).group(1).replace("%h", str(home))
    r = subprocess.run(shlex.split(command), cwd=workdir, env=env, capture_output=True, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert len(json.loads((site / "feed.json").read_bytes())["items"]) == 24
