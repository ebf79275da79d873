"""IMAP URLs (RFC 5092), as pure functions: settings check them, the IMAP source reads them.

``imaps://USER@HOST[:PORT]/FOLDER`` (implicit TLS, 993) or ``imap://…`` (STARTTLS, 143);
USER and FOLDER percent-encoded (UTF-8). A password in the URL is refused, and never
repeated in the error.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SCHEMES = {"imaps": 993, "imap": 143}
HIDDEN = "<hidden>"  # what stands where a secret was


def is_imap(name: str) -> bool:
    """An IMAP URL rather than a path: the one test every layer uses to tell them apart."""
    return name.lower().startswith(("imap://", "imaps://"))


class UrlError(ValueError):
    """A malformed IMAP URL: ``name`` is the URL as it may be shown (never with a password), ``why`` the reason."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name}: {why}")
        self.name, self.why = name, why


@dataclass(frozen=True)
class ImapUrl:
    scheme: str
    user: str
    host: str
    port: int
    folder: str
    shown: str  # the URL as the user wrote it (it holds no secret: one would be refused)

    @property
    def key(self) -> str:
        """Names the folder in the checkpoint without saying whose mailbox it is."""
        text = f"{self.host.lower()}\0{self.port}\0{self.user}\0{self.folder}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def parse_url(text: str) -> ImapUrl:
    """RFC 5092's imap URL, as far as an input needs: user, host, port and one folder.

    A URL that may hold ``user:password@`` is refused first, before anything else could
    repeat it, and shown cut after the user name (``url_without_password``)."""
    if (shown := url_without_password(text)) != text:
        raise UrlError(
            shown,
            "a password in the URL is refused; put it in DIGEST2FEED_IMAP_PASSWORD, password_command in [imap], "
            "or ~/.netrc",
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UrlError(text, "not an IMAP URL (a bad port or host)") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UrlError(text, "not an IMAP URL (imaps://USER@HOST/FOLDER or imap://…)")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise UrlError(text, "percent-encode '?' and '#' in a folder name (%3F, %23)")
    user, host = parts.username, parts.hostname
    if not user:
        raise UrlError(text, "names no user (imaps://USER@HOST/FOLDER; '@' in a user name is %40)")
    if ";" in user:
        raise UrlError(text, "';AUTH=' is not read from the URL; set auth in [imap]")
    if not host:
        raise UrlError(text, "names no host")
    path = parts.path[1:]
    if ";" in path:
        raise UrlError(text, "percent-encode ';' in a folder name (%3B)")
    try:
        folder = unquote(path, errors="strict") if path else ""
    except UnicodeDecodeError:
        raise UrlError(text, "the folder name is not UTF-8 once percent-decoded") from None
    if not folder.strip("/"):
        raise UrlError(text, "names no folder (…/INBOX for the inbox)")
    return ImapUrl(scheme, unquote(user), host, port or SCHEMES[scheme], folder, text)


_URL = re.compile(r"([a-z][a-z0-9+.-]*://)(.*)", re.I | re.S)
_HOST_PORT = re.compile(r"(\[[^\]]*\]|[^:\[\]@]*)(:[0-9]*)?")


def url_without_password(text: str) -> str:
    """A URL that may hold ``user:password@`` cut just after the user name, else as it is.

    A password may hold any character ('/', '@', '%', ':', spaces), so where it ends cannot be
    told and nothing after the user name is kept. It may follow the first ':' after ``//`` when
    an '@' comes later: before any '@' (``user:pw@``), or after one but where no host and port
    can stand (a user name written with a bare '@': ``me@x.org:pw@host``)."""
    m = _URL.match(text)
    if not m:
        return text
    head, rest = m.groups()
    colon = rest.find(":")
    if colon < 0 or "@" not in rest[colon:]:
        return text
    at = rest.find("@")
    if at < colon and _HOST_PORT.fullmatch(re.split(r"[/?#]", rest[at + 1 :], maxsplit=1)[0]):
        return text  # user@host:port/… or user@host/fold:er@…
    return f"{head}{rest[:colon]}:{HIDDEN}"
