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
secret: one that may is refused, shown cut after the user name) and ends the folder. A
line is built from fixed words and, at most, the server's reply with every spelling of
the secret hidden (``credentials.hide``); an exception's own text is never shown.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import logging
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field

from digest2feed.imapurl import ImapUrl, UrlError, parse_url
from digest2feed.model import Problem
from digest2feed.settings import ImapOptions
from digest2feed.sources.checkpoint import Marks
from digest2feed.sources.credentials import CredentialError, Secret, hide, password, token
from digest2feed.sources.items import MAX_TEXT, Note

# imapclient logs warnings that quote a server's reply, which may echo a credential. With no handler
# of its own, Python's last-resort handler would print them on stderr; this one keeps them there.
logging.getLogger("imapclient").addHandler(logging.NullHandler())
# Every message found is still told by its content; the search only spares fetching the
# rest. Google Groups' own wrappers ("Digest for …", "Abridged summary of …") hold digests too.
SEARCH = ["OR", "SUBJECT", "TMLR digest", "OR", "SUBJECT", "Digest for", "SUBJECT", "Abridged summary of"]
BATCH_BYTES = 4 * 1024 * 1024  # bodies fetched per command, so memory holds a few messages at a time
BATCH_COUNT = 100
HEARD_CHARS = 4000  # of a server's reply, looked through for secrets; of those, at most SAID_CHARS are shown
SAID_CHARS = 200
_BYTES_REPR = re.compile(r"(?<!\w)b'(?:[^'\\\n]|\\.)*'" + r'|(?<!\w)b"(?:[^"\\\n]|\\.)*"')  # in imaplib's errors
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
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
        yield Note("error", Problem(e.name, e.why))
        return
    secrets: list[Secret] = []
    try:
        yield from _read(url, run, secrets)
    except _Failure as e:
        yield Note("error", Problem(url.shown, hide(str(e), secrets)))
    except Exception as e:  # anything else still ends as one line, from fixed words, never a traceback
        yield Note("error", Problem(url.shown, hide(_explain(e, url, run.options, secrets), secrets)))


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
        _login(client, url, opts, secret, secrets)
        yield from _fetch(client, url, run, secrets)
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


def _login(client, url: ImapUrl, opts: ImapOptions, secret: Secret, secrets: list[Secret]) -> None:
    """XOAUTH2; else AUTHENTICATE PLAIN (UTF-8, RFC 4616) when the server offers it, so any
    password logs in and none is ever quoted on the wire; else LOGIN, which carries only ASCII.
    A server quoting back what was sent (base64 blobs) is read by ``hide``, which decodes them."""
    from imapclient.exceptions import LoginError

    user, value = url.user, secret.reveal()
    try:
        if opts.auth == "xoauth2":
            client.oauth2_login(user, value)
        elif b"AUTH=PLAIN" in client.capabilities():
            if "\x00" in user + value:
                raise _Failure("the user name or password holds a NUL character, which no IMAP login can carry")
            client.plain_login(user, value)
        elif not _loginable(user) or not _loginable(value):
            raise _Failure(
                "the server offers no AUTHENTICATE PLAIN, and LOGIN carries only printable ASCII: the user name "
                "or password holds other characters (non-ASCII, a line break or a control character)"
            )
        else:
            client.login(user, value)
    except LoginError as e:
        said = _server_words(str(e), secrets)
        hint = login_hint(url.host)
        what = "XOAUTH2 token" if opts.auth == "xoauth2" else "password"
        line = f"authentication refused for {user} ({what}; the server said: {said})"
        raise _Failure(f"{line}; {hint}" if hint else line) from None


def _loginable(text: str) -> bool:
    """What LOGIN's quoted string can carry: printable ASCII (imaplib sends str as ASCII and would
    let a line break end the command early)."""
    return all(" " <= c <= "~" for c in text)


def login_hint(host: str) -> str | None:
    """What a big provider needs when it refuses a login, told by its host name."""
    host = host.lower().rstrip(".")
    return next((hint for hosts, hint in HINTS if any(host == h or host.endswith("." + h) for h in hosts)), None)


def _server_words(text: str, secrets: list[Secret]) -> str:
    """The server's reason, one short line with no part of a secret in it. imaplib shows a reply
    as a bytes repr: it is read back to the bytes first, so the secret is looked for as the
    server wrote it. Hidden before it is cut, and cut only between words."""
    found = _BYTES_REPR.findall(text)
    said = " ".join(_unrepr(r) for r in found) if found else text
    if len(said) > HEARD_CHARS:
        said = said[:HEARD_CHARS].rsplit(None, 1)[0]  # the word the cut went through is dropped
    said = " ".join(_CONTROL.sub(" ", hide(said, secrets, heard=True)).split())
    if len(said) > SAID_CHARS:
        head = said[: SAID_CHARS + 1]
        said = (head.rsplit(" ", 1)[0] if " " in head else head[:SAID_CHARS]) + " …"
    return said or "no reason given"


def _unrepr(literal: str) -> str:
    try:
        return ast.literal_eval(literal).decode("utf-8", "replace")
    except (ValueError, SyntaxError):
        return literal[2:-1]


def _fetch(client, url: ImapUrl, run: Run, secrets: list[Secret]) -> Iterator[Fetched | Note]:
    from imapclient.exceptions import IMAPClientError

    try:
        status = client.select_folder(url.folder, readonly=True)  # EXAMINE
    except IMAPClientError:
        raise _Failure(_not_found(client, url.folder, secrets)) from None
    uidvalidity = int(status[b"UIDVALIDITY"])
    exists = int(status.get(b"EXISTS", 0))
    found = sorted(client.search(SEARCH)) if exists else []
    label = f"{url.shown} message UID"
    others = sorted(set(client.search("ALL")) - set(found)) if exists else []
    for uid in others:  # counted like a mailbox's other messages, without fetching a byte of them
        yield Note("skipped", Problem(f"{label} {uid}", "is not a TMLR digest (by its Subject); not fetched"))
    done = run.marks.done(url.key, uidvalidity) if run.marks else set()
    todo = [uid for uid in found if uid not in done]
    wanted, duplicates, refused = _wanted(client, todo, run)
    for uid, size in refused:  # one message, never the folder; not fetched again by later runs
        why = f"is {size} bytes, over the {MAX_TEXT}-byte limit for one message; skipped"
        yield Note("warning", Problem(f"{label} {uid}", why))
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
        run.taken[url.key] = (uidvalidity, earlier | set(fetched) | set(duplicates) | {uid for uid, _ in refused})
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


def _wanted(client, todo: list[int], run: Run) -> tuple[list[tuple[int, int]], list[int], list[tuple[int, int]]]:
    """Of the digests not merged yet: (UID, size) of those to fetch, the UIDs met before in this
    run (by Message-ID), and (UID, size) of those over the per-message limit."""
    heads: dict = {}
    for i in range(0, len(todo), HEADS_PER_COMMAND):  # IMAPClient lists every UID: keep command lines short
        heads |= client.fetch(todo[i : i + HEADS_PER_COMMAND], ["RFC822.SIZE", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    wanted: list[tuple[int, int]] = []
    duplicates: list[int] = []
    refused: list[tuple[int, int]] = []
    for uid in todo:
        head = heads.get(uid)
        if head is None:  # expunged by another client meanwhile
            continue
        size = int(head[b"RFC822.SIZE"])
        mid = _message_id(head.get(b"BODY[HEADER.FIELDS (MESSAGE-ID)]", b""))
        if size > MAX_TEXT:
            refused.append((uid, size))
        elif mid and mid in run.message_ids:
            duplicates.append(uid)
        else:
            run.message_ids.update([mid] if mid else [])
            wanted.append((uid, size))
    return wanted, duplicates, refused


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


def _not_found(client, folder: str, secrets: list[Secret]) -> str:
    try:
        names = [name for flags, _, name in client.list_folders() if b"\\Noselect" not in flags]
    except Exception:
        names = []
    close = difflib.get_close_matches(folder, [str(n) for n in names], n=3, cutoff=0.0)
    have = ", ".join(repr(hide(n, secrets, heard=True)) for n in close) if close else "no folder at all"
    return f"folder {folder!r} not found (or not selectable); the closest the server has: {have}"


def _explain(e: Exception, url: ImapUrl, opts: ImapOptions, secrets: list[Secret]) -> str:
    """One line for whatever went wrong talking to the server, built from fixed words: an
    exception's own text is never shown (a UnicodeEncodeError names a character of the
    password and its position), only the server's reply, with the secret hidden."""
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
        return f"the server refused a command ({_server_words(str(e), secrets)})"
    return f"unexpected failure ({type(e).__name__}; its message is not shown, as it could quote a credential)"


def _close(client) -> None:
    with contextlib.suppress(Exception):
        client.shutdown()
