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


def is_imap(name: str) -> bool:
    """An IMAP URL rather than a path: the one test every layer uses to tell them apart."""
    return name.lower().startswith(("imap://", "imaps://"))


class UrlError(ValueError):
    """A malformed IMAP URL; the message never repeats a password found in it."""


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
    """RFC 5092's imap URL, as far as an input needs: user, host, port and one folder."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UrlError(f"{without_password(text)}: not an IMAP URL (a bad port or host)") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UrlError(f"{text}: not an IMAP URL (imaps://USER@HOST/FOLDER or imap://…)")
    if parts.password is not None:
        raise UrlError(
            f"{without_password(text)}: a password in the URL is refused; put it in "
            "DIGEST2FEED_IMAP_PASSWORD, password_command in [imap], or ~/.netrc"
        )
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise UrlError(f"{text}: percent-encode '?' and '#' in a folder name (%3F, %23)")
    user, host = parts.username, parts.hostname
    if not user:
        raise UrlError(f"{text}: names no user (imaps://USER@HOST/FOLDER; '@' in a user name is %40)")
    if ";" in user:
        raise UrlError(f"{text}: ';AUTH=' is not read from the URL; set auth in [imap]")
    if not host:
        raise UrlError(f"{text}: names no host")
    path = parts.path[1:]
    if ";" in path:
        raise UrlError(f"{text}: percent-encode ';' in a folder name (%3B)")
    folder = unquote(path, errors="strict") if path else ""
    if not folder.strip("/"):
        raise UrlError(f"{text}: names no folder (…/INBOX for the inbox)")
    return ImapUrl(scheme, unquote(user), host, port or SCHEMES[scheme], folder, text)


def without_password(text: str) -> str:
    return re.sub(r"^([a-zA-Z]+://[^:/@]*):[^@/]*@", r"\1@", text)
