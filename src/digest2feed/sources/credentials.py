"""Where an IMAP password or XOAUTH2 token comes from: the one place a secret is resolved.

Sources, in order: the environment (``DIGEST2FEED_IMAP_PASSWORD`` / ``DIGEST2FEED_IMAP_TOKEN``),
then a command from the settings file (``password_command`` / ``token_command``, run by
the shell, its first output line read from a pipe, as mbsync's ``PassCmd``), then, for a
password only, ``~/.netrc``. Never the command line or the URL.

A secret is a ``Secret``: its ``repr`` and ``str`` never show the value, so it cannot
leak through a log line, an f-string or a traceback's arguments. ``reveal()`` is
called only where it is sent to the server. ``CredentialError`` messages are built
here from fixed words, never from a command's output or a library's exception text.
"""

from __future__ import annotations

import base64
import netrc
import os
import subprocess
from pathlib import Path

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
        """Every spelling of the value that could appear in text: as is, and inside an XOAUTH2 blob."""
        v = self._value
        return [v, base64.b64encode(v.encode()).decode(), *(_b64_pieces(v))] if v else []

    def __repr__(self) -> str:
        return "Secret(<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> tuple:
        raise TypeError("a Secret is not pickled")


def _b64_pieces(value: str) -> list[str]:
    """The base64 of the value at each of the three alignments it can have inside a longer blob."""
    out = []
    for pad in range(3):
        enc = base64.b64encode(b"\x00" * pad + value.encode()).decode()
        core = enc[(pad * 4 + 2) // 3 + 1 : -4] if len(enc) > 8 else ""
        if len(core) >= 8:
            out.append(core)
    return out


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

    Its output and its error output are read from pipes and never shown: a helper may
    print the secret in a message. The command learns which account is wanted from
    the environment, so one helper can serve several folders.
    """
    env = {**os.environ, "DIGEST2FEED_IMAP_USER": user, "DIGEST2FEED_IMAP_HOST": host}
    try:
        done = subprocess.run(
            command,
            shell=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise CredentialError(f"{name} gave no answer within {timeout:g} s") from None
    except OSError as e:
        raise CredentialError(f"{name} could not be started ({e.strerror})") from None
    if done.returncode != 0:
        raise CredentialError(f"{name} failed with exit status {done.returncode} (its output is not shown)")
    first = done.stdout.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        value = first.decode("utf-8")
    except UnicodeDecodeError:
        raise CredentialError(f"{name} printed a first line that is not UTF-8") from None
    if not value:
        raise CredentialError(f"{name} printed an empty first line")
    return Secret(value)


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
