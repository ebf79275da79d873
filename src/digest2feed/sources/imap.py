"""An IMAP folder as an input: the URL, and a read-only retriever that hands raw messages over.

``imaps://USER@HOST[:PORT]/FOLDER`` (implicit TLS, 993) or ``imap://…`` (STARTTLS, 143,
required: a server without it is refused before any credential is sent); USER and
FOLDER percent-encoded as in RFC 5092 (UTF-8). The client is IMAPClient: it verifies
certificates by default, speaks in UIDs, encodes folder names in modified UTF-7 and
has ``oauth2_login``. The folder is opened with EXAMINE and bodies fetched with
BODY.PEEK, so a run never sets ``\\Seen`` or changes anything.

What is fetched: the server searches for digests by Subject; for those, sizes and
Message-IDs come first, then bodies only of messages that are neither already merged
(the checkpoint, ``checkpoint.py``: UIDs under one UIDVALIDITY, valid only for the
state files it was written beside) nor met before in this run. Every message fetched
is still told by its content, as in a mailbox.

Every failure is one ``Note("error")`` line naming the URL (which never holds a
secret) and ends the folder; no exception text that could echo a credential is shown
unscrubbed.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field

from digest2feed.imapurl import ImapUrl, UrlError, parse_url, without_password
from digest2feed.model import Problem
from digest2feed.settings import ImapOptions
from digest2feed.sources.checkpoint import Marks
from digest2feed.sources.credentials import CredentialError, Secret, password, token
from digest2feed.sources.items import MAX_TEXT, Note

# Every message found is still told by its content; the search only spares fetching the
# rest. Google Groups' own wrappers ("Digest for …", "Abridged summary of …") hold digests too.
SEARCH = ["OR", "SUBJECT", "TMLR digest", "OR", "SUBJECT", "Digest for", "SUBJECT", "Abridged summary of"]
BATCH_BYTES = 4 * 1024 * 1024  # bodies fetched per command, so memory holds a few messages at a time
BATCH_COUNT = 100
HEADS_PER_COMMAND = 500
HINTS = (  # (host suffixes, what the big providers need when a login is refused)
    (("gmail.com", "googlemail.com"), 'Gmail needs an app password (2-step verification on), or auth = "xoauth2"'),
    (
        ("outlook.office365.com", "office365.com", "outlook.com", "hotmail.com", "live.com"),
        'Microsoft 365 and Outlook.com refuse passwords: set auth = "xoauth2" and token_command in [imap]',
    ),
)


@dataclass
class Run:
    """What one run's IMAP inputs share: the options, the checkpoint read before, and what was taken."""

    options: ImapOptions
    marks: Marks | None = None  # None: fetch everything and remember nothing (``parse``)
    taken: dict[str, tuple[int, set[int]]] = field(default_factory=dict)  # key → (UIDVALIDITY, UIDs)
    already: dict[str, int] = field(default_factory=dict)  # input → its messages skipped as in the state
    message_ids: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Fetched:
    """One raw message as the server holds it, and its label for messages."""

    source: str
    data: bytes


class _Failure(Exception):
    """Ends the folder with one line."""


def read_folder(text: str, run: Run) -> Iterator[Fetched | Note]:
    try:
        url = parse_url(text)
    except UrlError as e:
        yield Note("error", Problem(without_password(text), str(e).split(": ", 1)[1]))
        return
    secrets: list[Secret] = []
    try:
        yield from _read(url, run, secrets)
    except _Failure as e:
        yield Note("error", Problem(url.shown, _scrub(str(e), secrets)))
    except Exception as e:  # anything else still ends as one line, scrubbed, never a traceback
        yield Note("error", Problem(url.shown, _scrub(_explain(e, url, run.options), secrets)))


def _read(url: ImapUrl, run: Run, secrets: list[Secret]) -> Iterator[Fetched | Note]:
    opts = run.options
    try:
        secret = (
            token(url.user, url.host, opts.token_command, opts.seconds)
            if opts.auth == "xoauth2"
            else password(url.user, url.host, opts.password_command, opts.seconds)
        )
    except CredentialError as e:
        raise _Failure(str(e)) from None
    secrets.append(secret)
    client = _connect(url, opts)
    try:
        _login(client, url, opts, secret)
        yield from _fetch(client, url, run)
        client.logout()
    finally:
        _close(client)


def _context(opts: ImapOptions) -> ssl.SSLContext:
    """Verified TLS: the system's store, or only ``ca_file``. Nothing turns verification off."""
    try:
        return ssl.create_default_context(cafile=opts.ca_file)
    except (OSError, ssl.SSLError) as e:
        why = getattr(e, "strerror", None) or "not a PEM certificate file"
        raise _Failure(f"ca_file {opts.ca_file} in [imap] cannot be used ({why})") from None


def _connect(url: ImapUrl, opts: ImapOptions):
    from imapclient import IMAPClient

    context = _context(opts)
    if url.scheme == "imaps":
        return IMAPClient(url.host, url.port, ssl=True, ssl_context=context, timeout=opts.seconds)
    client = IMAPClient(url.host, url.port, ssl=False, timeout=opts.seconds)
    try:
        if not client.has_capability("STARTTLS"):
            raise _Failure(
                "the server does not offer STARTTLS; refused before sending any credential "
                "(use imaps:// if it has an implicit-TLS port)"
            )
        client.starttls(context)
    except BaseException:
        _close(client)
        raise
    return client


def _login(client, url: ImapUrl, opts: ImapOptions, secret: Secret) -> None:
    from imapclient.exceptions import LoginError

    try:
        if opts.auth == "xoauth2":
            client.oauth2_login(url.user, secret.reveal())
        else:
            client.login(url.user, secret.reveal())
    except LoginError as e:
        said = _server_words(str(e))
        hint = login_hint(url.host)
        what = "XOAUTH2 token" if opts.auth == "xoauth2" else "password"
        line = f"authentication refused for {url.user} ({what}; the server said: {said})"
        raise _Failure(f"{line}; {hint}" if hint else line) from None


def login_hint(host: str) -> str | None:
    """What a big provider needs when it refuses a login, told by its host name."""
    host = host.lower().rstrip(".")
    return next((hint for hosts, hint in HINTS if any(host == h or host.endswith("." + h) for h in hosts)), None)


def _server_words(text: str) -> str:
    """The server's reason, one short line (imaplib wraps it in a bytes repr)."""
    m = re.search(r"b'(.*)'", text) or re.search(r'b"(.*)"', text)
    said = (m.group(1) if m else text).replace("\\r", " ").replace("\\n", " ")
    return " ".join(said.split())[:200] or "no reason given"


def _fetch(client, url: ImapUrl, run: Run) -> Iterator[Fetched | Note]:
    from imapclient.exceptions import IMAPClientError

    try:
        status = client.select_folder(url.folder, readonly=True)  # EXAMINE
    except IMAPClientError:
        raise _Failure(_not_found(client, url.folder)) from None
    uidvalidity = int(status[b"UIDVALIDITY"])
    exists = int(status.get(b"EXISTS", 0))
    found = sorted(client.search(SEARCH)) if exists else []
    label = f"{url.shown} message UID"
    others = sorted(set(client.search("ALL")) - set(found)) if exists else []
    for uid in others:  # counted like a mailbox's other messages, without fetching a byte of them
        yield Note("skipped", Problem(f"{label} {uid}", "is not a TMLR digest (by its Subject); not fetched"))
    done = run.marks.done(url.key, uidvalidity) if run.marks else set()
    todo = [uid for uid in found if uid not in done]
    heads: dict = {}
    for i in range(0, len(todo), HEADS_PER_COMMAND):  # IMAPClient lists every UID: keep command lines short
        heads |= client.fetch(todo[i : i + HEADS_PER_COMMAND], ["RFC822.SIZE", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    wanted: list[tuple[int, int]] = []
    duplicates: list[int] = []
    for uid in todo:
        head = heads.get(uid)
        if head is None:  # expunged by another client meanwhile
            continue
        size = int(head[b"RFC822.SIZE"])
        if size > MAX_TEXT:  # one message, never the folder; not fetched again by later runs
            yield Note(
                "warning",
                Problem(f"{label} {uid}", f"is {size} bytes, over the {MAX_TEXT}-byte limit for one message; skipped"),
            )
            duplicates.append(uid)
            continue
        mid = _message_id(head.get(b"BODY[HEADER.FIELDS (MESSAGE-ID)]", b""))
        if mid and mid in run.message_ids:
            duplicates.append(uid)
            continue
        if mid:
            run.message_ids.add(mid)
        wanted.append((uid, size))
    fetched: list[int] = []
    for batch in _batches(wanted):
        bodies = client.fetch(batch, ["BODY.PEEK[]"])
        for uid in batch:
            data = bodies.get(uid, {}).get(b"BODY[]")
            if data is None:
                yield Note("warning", Problem(f"{label} {uid}", "vanished from the folder during the run; skipped"))
                continue
            fetched.append(uid)
            yield Fetched(f"{label} {uid}", bytes(data))
    if run.marks is not None:  # the same folder named twice: both readings count
        before = run.taken.get(url.key, (uidvalidity, set()))
        earlier = before[1] if before[0] == uidvalidity else set()
        run.taken[url.key] = (uidvalidity, earlier | set(fetched) | set(duplicates))
    merged = len(found) - len(todo)
    run.already[url.shown] = merged
    yield Note(
        "info",
        Problem(
            url.shown,
            f"{exists} messages looked at, {len(fetched)} fetched, {exists - len(fetched)} skipped "
            f"({exists - len(found)} not digests by Subject, {merged} already merged, "
            f"{len(duplicates)} duplicates)",
        ),
    )


def _message_id(header: bytes) -> str | None:
    m = re.search(rb"<[^<>\s]+>", header)
    return m.group().decode("ascii", "replace") if m else None


def _batches(wanted: list[tuple[int, int]]) -> Iterator[list[int]]:
    batch: list[int] = []
    size = 0
    for uid, n in wanted:
        if batch and (size + n > BATCH_BYTES or len(batch) >= BATCH_COUNT):
            yield batch
            batch, size = [], 0
        batch.append(uid)
        size += n
    if batch:
        yield batch


def _not_found(client, folder: str) -> str:
    try:
        names = [name for flags, _, name in client.list_folders() if b"\\Noselect" not in flags]
    except Exception:
        names = []
    close = difflib.get_close_matches(folder, names, n=3, cutoff=0.0)
    have = ", ".join(repr(n) for n in close) if close else "no folder at all"
    return f"folder {folder!r} not found (or not selectable); the closest the server has: {have}"


def _explain(e: Exception, url: ImapUrl, opts: ImapOptions) -> str:
    """One line for whatever went wrong talking to the server, built from fixed words."""
    import imaplib

    from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

    where = f"{url.host}:{url.port}"
    if isinstance(e, ssl.SSLCertVerificationError):
        return (
            f"the certificate of {where} is not trusted ({e.verify_message}); for a server with its own "
            "CA, set ca_file in [imap] to that CA's PEM file"
        )
    if isinstance(e, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return f"{where} closed the connection in the middle of the run; nothing was written"
    if isinstance(e, ssl.SSLError):
        return f"TLS with {where} failed ({e.reason or 'handshake error'})"
    if isinstance(e, socket.gaierror):
        return f"unknown host {url.host} (the name does not resolve)"
    if isinstance(e, TimeoutError | socket.timeout):
        return f"{where} gave no answer within {opts.seconds:g} s (timeout in [imap])"
    if isinstance(e, ConnectionRefusedError):
        return f"connection to {where} refused (is it the IMAP port?)"
    if isinstance(e, IMAPClientAbortError | imaplib.IMAP4.abort | ConnectionError | EOFError):
        return f"{where} closed the connection in the middle of the run; nothing was written"
    if isinstance(e, OSError):
        return f"cannot talk to {where} ({e.strerror or type(e).__name__})"
    if isinstance(e, IMAPClientError | imaplib.IMAP4.error):
        return f"the server refused a command ({_server_words(str(e))})"
    return f"unexpected failure ({type(e).__name__}: {e})"


def _scrub(line: str, secrets: list[Secret]) -> str:
    for s in secrets:
        for form in s.forms():
            line = line.replace(form, "<hidden>")
    return line


def _close(client) -> None:
    with contextlib.suppress(Exception):
        client.shutdown()
