"""Where an IMAP password or XOAUTH2 token comes from: the one place a secret is resolved.

Sources, in order: the environment (``DIGEST2FEED_IMAP_PASSWORD`` / ``DIGEST2FEED_IMAP_TOKEN``),
then a command from the settings file (``password_command`` / ``token_command``, run by
the shell, its first output line read from a pipe, as mbsync's ``PassCmd``), then, for a
password only, ``~/.netrc``. Never the command line or the URL.

A secret is a ``Secret``: its ``repr`` and ``str`` never show the value, so it cannot
leak through a log line, an f-string or a traceback's arguments. ``reveal()`` is
called only where it is sent to the server. ``CredentialError`` messages are built
here from fixed words, never from a command's output or a library's exception text.

``hide`` is the scrubber every line with server text passes through: it knows each
spelling of a secret (``Secret.forms``) and replaces the whole word holding one.
``url_without_password`` cuts a URL that may hold ``user:password@`` after the user name.
"""

from __future__ import annotations

import base64
import contextlib
import netrc
import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from digest2feed.imapurl import HIDDEN

MAX_OUTPUT = 64 * 1024  # of a password or token command: its first line is the secret

PASSWORD_ENV = "DIGEST2FEED_IMAP_PASSWORD"
TOKEN_ENV = "DIGEST2FEED_IMAP_TOKEN"


class Secret:
    """A credential whose value is shown by nothing but ``reveal()``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def forms(self) -> list[str]:
        """Every spelling of the value that a line of text could hold, longest first: as is,
        IMAP-quoted (a LOGIN command; a literal carries the value as is), escaped as Python shows
        bytes and strings (imaplib's errors quote replies that way), percent-encoded (either case
        of hex, space as %20 or +), and base64 (whole, and at each alignment inside a longer blob
        such as XOAUTH2's)."""
        v = self._value
        if not v:
            return []
        quoted = v.replace("\\", "\\\\").replace('"', '\\"')
        spellings = {v, quoted}
        for s in (v, quoted):
            spellings |= _escaped(s)
            for enc in (quote(s, safe=""), quote_plus(s, safe="")):
                spellings |= {enc, _PCT.sub(lambda m: m.group().lower(), enc)}
        raw = v.encode("utf-8", "surrogateescape")
        spellings |= {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode(), *_b64_pieces(raw)}
        return sorted(spellings, key=len, reverse=True)

    def __repr__(self) -> str:
        return "Secret(<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> tuple:
        raise TypeError("a Secret is not pickled")


def _b64_pieces(raw: bytes) -> list[str]:
    """The base64 of the value at each of the three alignments it can have inside a longer blob."""
    out = []
    for pad in range(3):
        enc = base64.b64encode(b"\x00" * pad + raw).decode()
        core = enc[(pad * 4 + 2) // 3 + 1 : -4] if len(enc) > 8 else ""
        if len(core) >= 8:
            out.append(core)
    return out


def _escaped(s: str) -> set[str]:
    """The value inside Python's repr of it as bytes and as a string, with either quote character
    around it (a repr escapes ' only when the text also holds ")."""
    as_bytes = repr(b'"' + s.encode("utf-8", "surrogateescape") + b"'")[3:-3]
    as_str = repr('"' + s + "'")[2:-3]
    return {as_bytes, as_bytes.replace("\\'", "'"), as_str, as_str.replace("\\'", "'")}


FRAGMENT = 6  # a word sharing this many characters in a row with a spelling of a secret is hidden
_PCT = re.compile(r"%[0-9A-F]{2}")
_WORD = re.compile(r"\S+")
_GAPS = re.compile(r"[\s\x00-\x1f\x7f]+")
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}")


def hide(text: str, secrets: Iterable[Secret], heard: bool = False) -> str:
    """``text`` with every word holding a secret, in any of its spellings, replaced whole by
    ``<hidden>``: never a few characters either side of it. A spelling that spans spaces
    hides the words it touches. ``heard`` is for text from outside (a server's reply), which
    may hold a secret cut short or encoded in a way no list foresees: there a word is also
    hidden when it shares ``FRAGMENT`` characters in a row with a spelling (spaces included),
    or when its percent- or base64-decoding holds the secret or a piece of it that long."""
    known = [_Known(s) for s in secrets if s.reveal()]
    cut: list[tuple[int, int]] = []
    for k in known:
        for form in k.forms:
            at = text.find(form)
            while at >= 0:
                cut.append((at, at + len(form)))
                at = text.find(form, at + 1)
        if k.spaced:  # its spaces and line breaks written otherwise (a reply is one line)
            cut += [m.span() for m in k.spaced.finditer(text)]
        if heard:
            cut += [(i, i + FRAGMENT) for i in range(len(text) - FRAGMENT + 1) if text[i : i + FRAGMENT] in k.pieces]
    for m in _WORD.finditer(text):
        touched = any(a < m.end() and m.start() < b for a, b in cut)
        if touched or (heard and any(k.carried_by(m.group()) for k in known)):
            cut.append(m.span())
    out, end = [], 0
    for a, b in sorted(cut):
        if a > end or not out:
            out += [text[end:a], HIDDEN]
        end = max(end, b)
    return "".join(out) + text[end:]


class _Known:
    """A secret's spellings, and the pieces of them a word may not share, worked out once per text."""

    def __init__(self, secret: Secret) -> None:
        self.value = secret.reveal()
        self.raw = self.value.encode("utf-8", "surrogateescape")
        self.forms = secret.forms()
        self.pieces = {f[i : i + FRAGMENT] for f in self.forms for i in range(len(f) - FRAGMENT + 1)}
        self.raw_pieces = {self.raw[i : i + FRAGMENT] for i in range(len(self.raw) - FRAGMENT + 1)}
        parts = [re.escape(p) for p in _GAPS.split(self.value) if p]
        self.spaced = re.compile(_GAPS.pattern.replace("+", "*").join(parts)) if len(parts) > 1 else None

    def carried_by(self, word: str) -> bool:
        """Whether a word, once percent- or base64-decoded, holds the secret or a long piece of a spelling."""
        texts = {word, unquote(word, errors="replace"), unquote_plus(word, errors="replace")}
        if any(self.value in t or _shares(t, self.pieces) for t in texts - {word}):
            return True
        return any(self._in_base64(run) for t in texts for run in _B64_RUN.findall(t))

    def _in_base64(self, run: str) -> bool:
        run = run.replace("-", "+").replace("_", "/")
        for start in range(4):  # the run may begin anywhere in a 4-character group
            part = run[start:]
            with contextlib.suppress(ValueError):
                decoded = base64.b64decode(part[: len(part) // 4 * 4])
                if self.raw in decoded or _shares(decoded, self.raw_pieces):
                    return True
        return False


def _shares(text: str | bytes, pieces: set) -> bool:
    return any(text[i : i + FRAGMENT] in pieces for i in range(len(text) - FRAGMENT + 1))


# a URL's scheme and the rest; a host and an optional numeric port ([v6] or a name)
class CredentialError(Exception):
    """No usable secret; the message names where it looked and holds no secret."""


def password(user: str, host: str, command: str | None, timeout: float) -> Secret:
    if value := os.environ.get(PASSWORD_ENV):
        return Secret(value)
    if command:
        return _run(command, "password_command", user, host, timeout)
    found = _netrc(user, host)
    if found is not None:
        return found
    raise CredentialError(
        f"no password for {user} on {host}: set {PASSWORD_ENV}, password_command in [imap], "
        f"or a line 'machine {host} login {user} password ...' in ~/.netrc"
    )


def token(user: str, host: str, command: str | None, timeout: float) -> Secret:
    if value := os.environ.get(TOKEN_ENV):
        return Secret(value)
    if command:
        return _run(command, "token_command", user, host, timeout)
    raise CredentialError(
        f"no XOAUTH2 token for {user} on {host}: set {TOKEN_ENV} or token_command in [imap] "
        "(your own token helper; digest2feed runs no consent flow)"
    )


def _run(command: str, name: str, user: str, host: str, timeout: float) -> Secret:
    """Run the user's command through the shell; the first line it prints is the secret.

    Its output is read from a pipe and never shown, its error output dropped: a helper may
    print the secret in a message. The command learns which account is wanted from
    the environment, so one helper can serve several folders.
    """
    env = {**os.environ, "DIGEST2FEED_IMAP_USER": user, "DIGEST2FEED_IMAP_HOST": host}
    stdout = _output(command, name, env, timeout)
    first = stdout.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        value = first.decode("utf-8")
    except UnicodeDecodeError:
        raise CredentialError(f"{name} printed a first line that is not UTF-8") from None
    if not value:
        raise CredentialError(f"{name} printed an empty first line")
    return Secret(value)


def _output(command: str, name: str, env: dict[str, str], timeout: float) -> bytes:
    """What the command prints, no more than MAX_OUTPUT bytes of it, within ``timeout``; it and
    everything it started are killed past either (a helper that never stops printing)."""
    try:
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env, start_new_session=True)  # fmt: skip
    except OSError as e:
        raise CredentialError(f"{name} could not be started ({e.strerror})") from None
    assert proc.stdout is not None
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(proc.stdout.read(MAX_OUTPUT + 1)), daemon=True)
    reader.start()
    reader.join(timeout)
    try:
        if reader.is_alive():
            raise CredentialError(f"{name} gave no answer within {timeout:g} s")
        if len(got[0]) > MAX_OUTPUT:
            raise CredentialError(f"{name} printed more than {MAX_OUTPUT:,} bytes (its output is not shown)")
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise CredentialError(f"{name} gave no answer within {timeout:g} s") from None
    finally:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    if code != 0:
        raise CredentialError(f"{name} failed with exit status {code} (its output is not shown)")
    return got[0]


def _netrc(user: str, host: str) -> Secret | None:
    path = Path(os.path.expanduser("~")) / ".netrc"
    if not path.exists():
        return None
    try:
        entries = netrc.netrc(str(path) if not _default(path) else None)
    except netrc.NetrcParseError as e:
        # e.msg can quote the token it choked on, which may be a password: never show it.
        why = "permissions too open (chmod 600 it)" if "access too permissive" in e.msg else "cannot parse it"
        raise CredentialError(f"~/.netrc: {why}" + (f" (line {e.lineno})" if e.lineno else "")) from None
    except OSError as e:
        raise CredentialError(f"~/.netrc: cannot read it ({e.strerror})") from None
    found = entries.authenticators(host)
    if not found or found[0] != user or not found[2]:
        return None
    return Secret(found[2])


def _default(path: Path) -> bool:
    """netrc checks a file's owner and mode only when it opens the default one itself."""
    return path == Path(os.path.expanduser("~")) / ".netrc"
