"""One RFC 5322 message → its digest text and dating headers, by the standard library's email package."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from html.parser import HTMLParser

from dateutil import parser as dateparser

HEADER_LINE = re.compile(rb"[!-9;-~]+:[ \t]")
MAIL_HEADERS = {
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"received",
    b"mime-version",
    b"return-path",
    b"delivered-to",
    b"content-type",
    b"x-original-to",
    b"reply-to",
}
# Google Groups appends this to every message; it is not part of the digest.
FOOTER_RE = re.compile(r"^-- ?\n(?:.*\n){0,2}.*You received this message because you are subscribed", re.M)
MAX_DEPTH = 16  # MIME nesting: a digest is two deep, a Google Groups wrapper three
MAX_PARTS = 1_000  # MIME parts in one message: a digest has two, a Google Groups wrapper a few dozen
MAX_HEADER_BYTES = 64 * 1024  # one header block: a Google Groups message's is about 8 KB
MAX_HEADER_LINES = 50_000  # lines anywhere that look like a header (a digest's own fields do: 4 an entry)
HEADER_LINE_RE = re.compile(rb"^[!-9;-~]+:", re.M)
SINGLE_BYTE = re.compile(r"(us-)?ascii|iso-8859-\d+|latin-?\d|windows-125\d|cp125\d", re.I)


@dataclass(frozen=True)
class Mail:
    text: str | None  # None when the message has no usable text part
    subject: str | None
    sent: datetime | None
    message_id: str | None


def looks_like_message(head: bytes) -> bool:
    """True when ``head`` opens with a header block that names at least one mail header."""
    names = []
    for line in head.split(b"\n")[:60]:
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            continue
        if not HEADER_LINE.match(line + b" "):
            return False
        names.append(line.split(b":", 1)[0].lower())
    return bool(MAIL_HEADERS.intersection(names))


class MessageError(ValueError):
    """A message that cannot be read as mail; the text is the line the user sees."""


def read_message(data: bytes | EmailMessage) -> Mail:
    try:
        msg = data if isinstance(data, EmailMessage) else _parsed(data)
        if _depth(msg) > MAX_DEPTH:
            raise MessageError(f"has MIME parts nested more than {MAX_DEPTH} deep; skipped")
        _check_headers(msg)
        return Mail(_body(msg), _header(msg, "subject"), _sent(msg), _header(msg, "message-id"))
    except MessageError:
        raise
    except RecursionError:  # the email package recurses into nested parts
        raise MessageError(f"has MIME parts nested more than {MAX_DEPTH} deep; skipped") from None
    except (LookupError, TypeError, AttributeError, ValueError) as e:  # one message, never the mailbox
        raise MessageError(f"is damaged mail ({type(e).__name__}); skipped") from None


def _parsed(data: bytes) -> EmailMessage:
    """The message, parsed only if the email package's memory for it stays small: its parser keeps
    every part and header line as objects (a flat list of 2.4 million empty parts took 6.6 GB),
    and its header parser is quadratic in RFC 2047 words (16 MiB of them took all of memory)."""
    end = min((i for i in (data.find(b"\n\n"), data.find(b"\r\n\r\n")) if i >= 0), default=len(data))
    if end > MAX_HEADER_BYTES:
        raise MessageError(f"has a header block over {MAX_HEADER_BYTES:,} bytes; skipped")
    for n, _ in enumerate(HEADER_LINE_RE.finditer(data), 1):
        if n > MAX_HEADER_LINES:
            raise MessageError(f"has more than {MAX_HEADER_LINES:,} header lines; skipped")
    parts = 0

    def part(policy: email.policy.Policy = email.policy.default) -> EmailMessage:
        nonlocal parts
        parts += 1
        if parts > MAX_PARTS:
            raise MessageError(f"has more than {MAX_PARTS:,} MIME parts; skipped")
        return EmailMessage(policy=policy)

    msg = email.message_from_bytes(data, _class=part, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _check_headers(msg: EmailMessage) -> None:
    """Each part's headers, as raw text (not parsed yet), no larger than the top block's may be."""
    todo = [msg]
    while todo:
        part = todo.pop()
        if sum(len(k) + len(v) for k, v in part.raw_items()) > MAX_HEADER_BYTES:
            raise MessageError(f"has a header block over {MAX_HEADER_BYTES:,} bytes; skipped")
        if part.is_multipart():
            todo += part.get_payload()


def _depth(msg: EmailMessage) -> int:
    """How deep its parts nest, counted without recursion, stopping past MAX_DEPTH."""
    deepest, todo = 0, [(msg, 1)]
    while todo and deepest <= MAX_DEPTH:
        part, depth = todo.pop()
        deepest = max(deepest, depth)
        if part.is_multipart():
            todo += [(sub, depth + 1) for sub in part.get_payload()]
    return deepest


def _header(msg: EmailMessage, name: str) -> str | None:
    try:
        value = msg.get(name)
    except (ValueError, IndexError, TypeError):  # a malformed header should not sink the message
        return None
    return str(value).strip() if value is not None else None


def _sent(msg: EmailMessage) -> datetime | None:
    raw = _header(msg, "date")
    if not raw:
        return None
    try:
        at = dateparser.parse(raw, fuzzy=True)
    except (ValueError, OverflowError):
        return None
    return at if at.tzinfo else None


def _body(msg: EmailMessage) -> str | None:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return None
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return None
    text = decode(payload, part.get_content_charset())
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    elif str(part.get_param("format", "")).lower() == "flowed":
        text = unflow(text, delsp=str(part.get_param("delsp", "")).lower() == "yes")
    footer = FOOTER_RE.search(text)
    return (text[: footer.start()] if footer else text) or None


def decode(data: bytes, declared: str | None) -> str:
    """Decode with the declared charset, trusting UTF-8 first where a single-byte one is declared.

    Valid UTF-8 with non-ASCII bytes is almost never Latin-1 text by accident, and
    mailers often declare a single-byte charset for UTF-8 text; the reverse fails loudly.
    """
    order = ["utf-8", declared] if not declared or SINGLE_BYTE.fullmatch(declared) else [declared, "utf-8"]
    for charset in order:
        if not charset:
            continue
        try:
            return data.decode(charset)
        except UnicodeDecodeError as e:
            if charset == "utf-8" and e.start >= len(data) - 3:  # a cut-off file ends mid-character
                return data[: e.start].decode("utf-8")
        except (LookupError, ValueError):  # unknown charset, or a name no codec can hold ("\x00tf-8")
            continue
    return data.decode("cp1252", errors="replace")


def unflow(text: str, delsp: bool = False) -> str:
    """RFC 3676 format=flowed: join the lines a mailer wrapped (they end in a space),
    keep the author's own line breaks, undo space-stuffing."""
    out: list[str] = []
    carry = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(" "):
            line = line[1:]  # space-stuffed
        if line.endswith(" ") and line != "-- ":
            carry += line[:-1] if delsp else line
            continue
        out.append(carry + line)
        carry = ""
    if carry:
        out.append(carry)
    return "\n".join(out)


class _Text(HTMLParser):
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "table", "blockquote"}
    VOID = {"br", "hr", "img", "meta", "link", "input", "wbr", "area", "base", "col", "embed", "source", "track"}
    # A page (a saved Google Groups page, say) may show plain text through CSS rather than <pre>.
    PRE_STYLE = re.compile(r"white-space\s*:\s*(pre|pre-wrap|pre-line|break-spaces)\b", re.I)

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.pre = 0
        self.open: list[tuple[str, bool]] = []  # open elements, and whether each keeps line breaks

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag not in self.VOID:
            keeps = tag == "pre" or any(k == "style" and v and self.PRE_STYLE.search(v) for k, v in attrs)
            self.open.append((tag, keeps))
            self.pre += keeps
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif any(t == tag for t, _ in self.open):  # close it, and whatever was left open inside it
            while self.open:
                t, keeps = self.open.pop()
                self.pre -= keeps
                if t == tag:
                    break
        if tag in self.BLOCK and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data if self.pre else re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(markup: str) -> str:
    """Text of an HTML-only message, one line per block, as a reader would see it."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return "\n".join(lines)
