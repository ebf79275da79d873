"""WebSub: tell each hub which feeds changed, once they are in place; what failed is owed to the next run.

A run that changed a feed file sends its hubs the publish request for it (POST, form-encoded
``hub.mode=publish`` and the feed's self URL as ``hub.url``, which most hubs read, and as
``hub.topic``, which others, flask-websub's among them, read instead). A hub that refuses,
times out or cannot be reached costs a warning, never the run: the feeds are published. What
was not confirmed stays owed in ``DIR/.digest2feed.websub.json`` (a dot file beside the lock,
which the publishing recipes leave off the web), written before the first request, so that a
run killed mid-ping owes it too, and the next run (``update`` or ``ping``) sends it again.

Time is bounded as a whole: every hub is asked in a thread of its own, all under one deadline,
so a hub that stalls holds the run no longer than the bound, and never delays the other hubs.
"""

from __future__ import annotations

import http.client
import json
import os
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from digest2feed import __version__
from digest2feed.schema import TEMP_SUFFIX, WEBSUB
from digest2feed.store import read_own

NAME = WEBSUB
BOUND = 10.0  # seconds for all pings of a run, unless [imap] timeout says otherwise
VERSION = 1
USER_AGENT = f"digest2feed/{__version__} (WebSub publisher)"


@dataclass(frozen=True)
class Failure:
    hub: str
    why: str
    feeds: tuple[str, ...]  # paths relative to the output folder, still owed to this hub


@dataclass(frozen=True)
class Outcome:
    sent: int  # publish requests a hub confirmed
    failures: tuple[Failure, ...]
    unsaved: str | None = None  # why the memory of owed pings could not be written (the feeds stand)


def bound(timeout: float | None) -> float:
    """The whole ping phase's time: the ``[imap] timeout`` when one is set, else ``BOUND``."""
    return BOUND if timeout is None else timeout


def owed(folder: Path) -> dict[str, list[str]]:
    """The pings a run before this one could not deliver, by hub; nothing when none (or unreadable:
    the memory only ever adds pings, so losing it costs at most a missed push)."""
    raw = read_own(folder / NAME, 16 * 1024 * 1024)  # never through a link, never waiting on a FIFO
    try:
        data = json.loads(raw or b"")
        return {str(h): [str(f) for f in feeds] for h, feeds in data["owed"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def save(folder: Path, pending: dict[str, list[str]]) -> None:
    """Replace the memory atomically; with nothing owed, remove it."""
    path = folder / NAME
    pending = {h: sorted(set(f)) for h, f in sorted(pending.items()) if f}
    if not pending:
        path.unlink(missing_ok=True)
        return
    if owed(folder) == pending:
        return
    data = json.dumps({"version": VERSION, "owed": pending}, indent=1).encode() + b"\n"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{NAME}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def notify(
    folder: Path, hubs: Iterable[str], base_url: str | None, changed: Iterable[str], feeds: Iterable[str],
    seconds: float, send: bool = True,
) -> Outcome:  # fmt: skip
    """Ping every hub for the ``changed`` feeds and for those still owed to it, limited to the
    ``feeds`` the settings ask for now; remember what was not confirmed. The caller holds the
    run's lock. With ``send=False`` (``update --no-ping``) they are only remembered."""
    hubs, current = tuple(hubs), set(feeds)
    before = owed(folder)
    due = {h: sorted((set(before.get(h, ())) | set(changed)) & current) for h in hubs}
    due = {h: rels for h, rels in due.items() if rels}
    unsaved = _saved(folder, due)  # first: a run killed mid-ping still owes them
    if not send or not due or base_url is None:
        return Outcome(0, (), unsaved)
    confirmed, failures = publish_all(due, base_url, seconds)
    return Outcome(confirmed, failures, _saved(folder, {f.hub: list(f.feeds) for f in failures}) or unsaved)


def _saved(folder: Path, pending: dict[str, list[str]]) -> str | None:
    """``save``, with a failure (a full disk) said, not raised: the run's files are in place."""
    try:
        save(folder, pending)
    except OSError as e:
        return f"{folder / NAME}: cannot write: {e.strerror}"
    return None


def publish_all(due: dict[str, list[str]], base_url: str, seconds: float) -> tuple[int, tuple[Failure, ...]]:
    """Every hub in a thread of its own, all under one deadline; a hub not done by then has failed."""
    deadline = time.monotonic() + seconds
    done: dict[str, list[str]] = {h: [] for h in due}
    why: dict[str, str] = {}
    threads = [
        threading.Thread(target=_hub, args=(h, rels, base_url, deadline, seconds, done[h], why), daemon=True)
        for h, rels in due.items()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    failures = []
    for (hub, rels), t in zip(due.items(), threads, strict=True):
        ok = set(done[hub])  # a snapshot: a thread past the deadline may still append
        if t.is_alive() or len(ok) < len(rels):
            reason = why.get(hub) or f"no answer within {seconds:g} s"
            failures.append(Failure(hub, reason, tuple(r for r in rels if r not in ok)))
    return sum(len(v) for v in done.values()), tuple(failures)


def _hub(hub: str, rels: list[str], base_url: str, deadline: float, seconds: float, done: list[str],
         why: dict[str, str]) -> None:  # fmt: skip
    """One hub's pings, one feed after the other; the first failure ends them (the hub is down)."""
    for rel in rels:
        left = deadline - time.monotonic()
        problem = publish(hub, base_url + rel, left, seconds) if left > 0 else f"no answer within {seconds:g} s"
        if problem:
            why[hub] = problem
            return
        done.append(rel)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A publish request is answered, not redirected: urllib would resend a POST as a GET."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def publish(hub: str, topic: str, timeout: float, seconds: float) -> str | None:
    """One publish request; None when the hub accepted it (2xx), else why not, in a few words."""
    body = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": topic, "hub.topic": topic}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT}
    request = urllib.request.Request(hub, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65536)
            status = response.status
    except urllib.error.HTTPError as e:
        return f"refused: HTTP {e.code} {e.reason}".rstrip()
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            return f"no answer within {seconds:g} s"
        return f"cannot reach it: {getattr(e.reason, 'strerror', None) or e.reason}"
    except TimeoutError:
        return f"no answer within {seconds:g} s"
    except (OSError, ValueError, http.client.HTTPException) as e:  # dropped, or a malformed answer
        return f"cannot reach it: {e.__class__.__name__}: {e}".rstrip(": ")
    return None if 200 <= status < 300 else f"refused: HTTP {status}"
