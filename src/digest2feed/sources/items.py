"""What every retriever yields: a text to parse, or a note (an error, a warning, a skip)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from digest2feed.model import Problem

SNIFF = 64 * 1024
MAX_TEXT = 16 * 1024 * 1024  # bytes of one input or message: a digest e-mail is ~100 KB, a saved page a few MB


@dataclass(frozen=True)
class Text:
    source: str
    text: str
    subject: str | None = None
    sent: datetime | None = None
    message_id: str | None = None
    explicit: bool = True  # named by the user: not being a digest is an error, not a skip
    hint: str | None = None  # added to its cut-off warnings (an abridged summary cuts every message)


@dataclass(frozen=True)
class Note:
    kind: Literal["error", "warning", "skipped", "info"]  # info: what an IMAP folder held (-v)
    problem: Problem


Item = Text | Note
