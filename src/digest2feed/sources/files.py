"""Files, folders, mailboxes and standard input → texts with their origin, told by content.

Kinds: a web copy or plain digest text (UTF-8, or UTF-16/32 with a byte-order mark), a
web page saved from a browser, one RFC 5322 message (a Google Groups digest or abridged
wrapper yields each message inside it), an mbox file, a Maildir folder, a plain folder
(searched), and ``-`` for standard input. A mailbox of any size is read one message at a
time, each bounded before it is read (items.MAX_TEXT).
"""

from __future__ import annotations

import mailbox
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import BinaryIO

from digest2feed.model import Problem
from digest2feed.sources import saved, wrappers
from digest2feed.sources.items import MAX_TEXT, SNIFF, Item, Note, Text
from digest2feed.sources.mail import MessageError, decode, html_to_text, looks_like_message, read_message


def _special(mode: int) -> str | None:
    """What a path that is neither a file nor a folder is: reading a FIFO waits for a writer
    forever, and a device never ends (/dev/urandom)."""
    kinds = {"a FIFO": stat.S_ISFIFO, "a socket": stat.S_ISSOCK, "a device": stat.S_ISCHR, "a disk": stat.S_ISBLK}
    return next((what for what, test in kinds.items() if test(mode)), None)


def is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def folder(top: Path) -> Iterator[Item]:
    for root, dirs, names in os.walk(top):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for d in [d for d in dirs if is_maildir(here / d)]:
            dirs.remove(d)
            yield from maildir(here / d, False)
        for f in sorted(names):
            if not f.startswith("."):
                yield from file(here / f, explicit=False)


def _binary(head: bytes) -> bool:
    """Text with a stray NUL is still parsed (the parser drops it); mostly-NUL data is not text."""
    return head.count(b"\x00") > len(head) // 100


def _fail(source: str, why: str, explicit: bool) -> Note:
    return Note("error" if explicit else "skipped", Problem(source, why))


def file(path: Path, explicit: bool) -> Iterator[Item]:
    source = str(path)
    try:
        # O_NONBLOCK: opening a FIFO does not wait for a writer; the mode is checked on what was opened.
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
            st = os.fstat(f.fileno())
            if special := _special(st.st_mode):
                kind = "error" if explicit else "warning"
                yield Note(kind, Problem(source, f"is {special}, not a file; {'refused' if explicit else 'skipped'}"))
                return
            head = f.read(SNIFF)
            mbox = head.startswith(b"From ")  # the mailbox module reads it itself, message by message
            if not mbox and _binary(head) and not saved.bom_encoding(head):
                yield _fail(source, "is a binary file, not a digest", explicit)
                return
            if not mbox and st.st_size > MAX_TEXT:
                yield _fail(source, f"is {st.st_size} bytes, far too large for one digest", explicit)
                return
            data = b"" if mbox else head + f.read(MAX_TEXT + 1 - len(head))  # it may have grown since
    except OSError as e:
        yield Note("error", Problem(source, f"cannot read: {e.strerror}"))
        return
    if mbox:
        yield from _mbox(path, explicit)
    elif len(data) > MAX_TEXT:
        yield _fail(source, "is far too large for one digest", explicit)
    else:
        yield from _one(data, source, explicit)


def standard_input(stream: BinaryIO) -> Iterator[Item]:
    data = stream.read(MAX_TEXT + 1)
    if len(data) > MAX_TEXT:
        yield Note("error", Problem("<stdin>", "is far too large for one digest"))
    elif data.startswith(b"From "):  # procmail and friends hand over an mbox-style message
        with tempfile.NamedTemporaryFile(suffix=".mbox") as tmp:
            tmp.write(data)
            tmp.flush()
            for item in _mbox(Path(tmp.name), True):
                if isinstance(item, Text):
                    item = replace(item, source="<stdin>" + item.source[len(tmp.name) :])
                else:  # "<stdin> message 3", as the source of a Text says
                    where = "<stdin>" + item.problem.source.removeprefix(tmp.name)
                    item = Note(item.kind, Problem(where, item.problem.message, item.problem.line))
                yield item
    elif _binary(data[:SNIFF]) and not saved.bom_encoding(data):
        yield Note("error", Problem("<stdin>", "is binary data, not a digest"))
    else:
        # A mail filter hands over list traffic too: an e-mail that holds no digest is skipped, not an error.
        yield from _one(data, "<stdin>", True, mail_explicit=False)


def _one(data: bytes, source: str, explicit: bool, mail_explicit: bool | None = None) -> Iterator[Item]:
    """One message, saved page or digest text, already known to be neither binary nor an mbox."""
    if saved.bom_encoding(data):  # UTF-16/32 (Notepad's "Unicode") or UTF-8 with a BOM: read as UTF-8
        data = saved.decode_bom(data).encode("utf-8", "surrogatepass")
    if not data.strip():
        yield _fail(source, "is empty", explicit)
    elif looks_like_message(data[:SNIFF]):
        yield from message(data, source, explicit if mail_explicit is None else mail_explicit)
    else:
        text = decode(data, None)
        if saved.is_page(text):  # read as the HTML part of an e-mail is
            yield Text(source, html_to_text(text), saved.page_title(text), explicit=explicit)
        else:
            yield Text(source, text, explicit=explicit)


def message(data: bytes, source: str, explicit: bool) -> Iterator[Item]:
    try:
        mail = read_message(data)
    except MessageError as e:
        yield Note("error" if explicit else "warning", Problem(source, str(e)))
        return
    if mail.text is None or not mail.text.strip():
        yield _fail(source, "e-mail has no text part (or an empty one)", explicit)
        return
    parts = wrappers.split(mail.text)
    if parts is None:
        yield Text(source, mail.text, mail.subject, mail.sent, mail.message_id, explicit)
        return
    hint = wrappers.ABRIDGED_HINT if wrappers.is_abridged(mail.subject) else None
    for n, part in enumerate(parts, 1):
        # Dated by its own topic, never by the wrapper's Date: five daily digests keep five dates.
        message_id = f"{mail.message_id}#{n}" if mail.message_id else None
        yield Text(f"{source} part {n}", part.body, part.topic, None, message_id, False, hint)


def _messages(label: str, readers: list[Callable[[], bytes]]) -> Iterator[Item]:
    """Each message in turn, read by its reader (bounded); one that is too large, damaged or not
    a file is named and skipped, never the rest."""
    for n, read in enumerate(readers, 1):
        source = f"{label} message {n}"
        try:
            data = read()
        except _Special as e:
            yield Note("warning", Problem(source, f"is {e}, not a file; skipped"))
            continue
        except (OSError, KeyError, ValueError) as e:
            yield Note("warning", Problem(source, f"is unreadable ({e}); skipped"))
            continue
        if len(data) > MAX_TEXT:
            yield Note("warning", Problem(source, f"is over {MAX_TEXT} bytes, far too large for one digest; skipped"))
        elif not looks_like_message(data[:SNIFF]):
            yield Note("warning", Problem(source, "is damaged (no mail headers); skipped"))
        else:
            yield from message(data, source, explicit=False)


class _Special(OSError):
    """A Maildir entry that is no file (a FIFO would hold the run): ``str()`` says what it is."""


def _bounded(path: Path) -> bytes:
    """A Maildir message's bytes, no more than one message may hold, never waiting on a FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    mode = os.fstat(fd).st_mode
    if what := _special(mode):
        os.close(fd)
        raise _Special(what)
    with open(fd, "rb") as f:
        return f.read(MAX_TEXT + 1)


def _mbox(path: Path, explicit: bool) -> Iterator[Item]:
    try:
        if _has_long_line(path):  # the mailbox module reads a line whole, however long
            yield _fail(str(path), f"has a line over {MAX_TEXT} bytes: not a mailbox of digests", explicit)
            return
        box = mailbox.mbox(path, create=False)
        keys = list(box.keys())
    except (OSError, mailbox.Error) as e:
        yield Note("error" if explicit else "skipped", Problem(str(path), f"cannot read mbox: {e}"))
        return
    yield from _messages(str(path), [partial(_from_mbox, box, key) for key in keys])


def _from_mbox(box: mailbox.mbox, key: str) -> bytes:
    with box.get_file(key) as f:  # read no more than one message may hold
        return f.read(MAX_TEXT + 1)


def _has_long_line(path: Path, chunk: int = 1 << 20) -> bool:
    """Whether a line is longer than MAX_TEXT. A line inside one chunk is shorter than a chunk,
    so only the bytes since the last line break are counted."""
    run = 0
    with path.open("rb") as f:
        while block := f.read(chunk):
            end = block.rfind(b"\n")
            if end == -1:
                run += len(block)
            elif run + block.find(b"\n") > MAX_TEXT:
                return True
            else:
                run = len(block) - end - 1
            if run > MAX_TEXT:
                return True
    return False


def maildir(path: Path, explicit: bool) -> Iterator[Item]:
    """Every message in new/ and cur/, in the order of their unique names (the part before
    ':'), as the mailbox module orders its keys; each opened as ``_bounded`` opens it."""
    try:
        found = sorted((name.split(":")[0], path / sub / name) for sub in ("new", "cur")
                       for name in os.listdir(path / sub) if not name.startswith("."))  # fmt: skip
    except OSError as e:
        yield Note("error" if explicit else "skipped", Problem(str(path), f"cannot read Maildir: {e.strerror}"))
        return
    yield from _messages(str(path), [partial(_bounded, file) for _, file in found])
