"""The log file: one line per `update` run, for runs nobody watches (mail filters, cron, timers).

The line says what the run did or why it failed, in words a person greps for. It holds
input names, counts and the error lines the user would have seen on stderr: never a
secret, since no secret ever reaches those either.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

from digest2feed.imapurl import url_without_password

# A password in a URL's user part (imaps://me:secret@host/) is never written, wherever it appears:
# each URL is cut after its user name when a password may follow it (whatever the password holds).
URL_RE = re.compile(r"\b[a-z][a-z0-9+.-]*://\S*", re.I)
# Only the owner reads it: it names mail folders and paths; nobody else needs it.
LOG_MODE = 0o600


def success_line(inputs: list[str], read: int, skipped: int, added: int, promoted: int, written: int,
                 warnings: int, entries: int) -> str:  # fmt: skip
    return (
        f"update ok: {read} digests read, {skipped} skipped; papers {added} added, {promoted} promoted; "
        f"{written} files written; {entries} entries; {warnings} warnings; inputs: {_names(inputs)}"
    )


def failure_line(inputs: list[str], problems: list[str], what: str = "update") -> str:
    if what != "update":
        return f"{what} failed: {' | '.join(problems)}"
    return f"update failed: {' | '.join(problems)}; inputs: {_names(inputs)}"


def ping_line(text: str) -> str:
    """A hub ping's outcome (``digest2feed ping``'s summary, or one hub that failed)."""
    return f"ping: {text}"


def _names(inputs: list[str]) -> str:
    return " ".join(url_without_password(i) for i in inputs) if inputs else "(none: regenerated from the state)"


def append(path: Path, line: str, now: datetime | None = None) -> None:
    """Append ``line`` with a local time stamp (with its UTC offset). One write of one line,
    opened with O_APPEND, so lines of runs at the same moment never interleave."""
    stamp = (now or datetime.now().astimezone()).isoformat(timespec="seconds")
    line = URL_RE.sub(lambda m: url_without_password(m.group()), " ".join(line.split()))  # one line
    text = f"{stamp} {line}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, LOG_MODE)
    try:
        os.write(fd, text.encode("utf-8", "replace"))
    finally:
        os.close(fd)
