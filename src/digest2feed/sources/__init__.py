"""Where texts come from: files, folders, mailboxes, standard input and IMAP folders.

Retrievers (``files``, ``imap``) yield Text (to parse) and Note (an error, a warning
or a skipped item) in one stream; how bytes become text (``mail``, ``saved``,
``wrappers``) is shared by all of them. Credentials and the IMAP checkpoint live
here too: nothing else touches them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from digest2feed.imapurl import is_imap
from digest2feed.model import Problem
from digest2feed.settings import ImapOptions
from digest2feed.sources import files
from digest2feed.sources.imap import Fetched, Run, read_folder
from digest2feed.sources.items import SNIFF, Item, Note, Text

__all__ = ["Item", "Note", "Run", "Text", "read_inputs"]


def read_inputs(names: list[str], stdin: BinaryIO, imap: Run | None = None) -> Iterator[Item]:
    for name in names:
        if name == "-":
            yield from files.standard_input(stdin)
            continue
        if is_imap(name):
            yield from _imap(name, imap)
            continue
        path = Path(name)
        if path.is_dir():
            yield from (files.maildir(path, True) if files.is_maildir(path) else files.folder(path))
        elif path.exists():
            yield from files.file(path, explicit=True)
        else:
            yield Note("error", Problem(name, "no such file or folder"))


def _imap(url: str, run: Run | None) -> Iterator[Item]:
    """An IMAP folder: imap.py fetches the messages, each is read here as a mailbox's is."""
    for got in read_folder(url, run or Run(ImapOptions())):
        if not isinstance(got, Fetched):
            yield got
        elif files.looks_like_message(got.data[:SNIFF]):
            yield from files.message(got.data, got.source, explicit=False)
        else:
            yield Note("warning", Problem(got.source, "is damaged (no mail headers); skipped"))
