"""Files people save by hand: text with a byte-order mark, and web pages saved from a browser.

Told by content, never by file name: a BOM names its own encoding (UTF-8, UTF-16 or
UTF-32, either byte order), and a page is text that opens with HTML markup.
"""

from __future__ import annotations

import codecs
import re
from html import unescape

# UTF-32 first: its little-endian mark begins with UTF-16's.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Chrome's "Web page, complete" opens with `<!-- saved from url=... -->`; pages may open with
# a DOCTYPE, <html>, <head> or, cut down by hand, <meta> or <body>.
PAGE_RE = re.compile(r"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|meta|body)\b", re.I | re.S)
TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)


def bom_encoding(head: bytes) -> str | None:
    """The encoding a byte-order mark at the start of ``head`` names, if there is one."""
    return next((name for bom, name in BOMS if head.startswith(bom)), None)


def decode_bom(data: bytes) -> str:
    """Text that starts with a BOM, without it; undecodable sequences become U+FFFD (dropped later)."""
    name = bom_encoding(data)
    assert name is not None
    bom = next(b for b, n in BOMS if n == name)
    return data[len(bom) :].decode(name, errors="replace")


def is_page(text: str) -> bool:
    return PAGE_RE.match(text[:4096]) is not None


def page_title(markup: str) -> str | None:
    """The page's <title>: a saved Google Groups page names the digest there ("Weekly TMLR
    digest for Apr 30, 2023 - Google Groups"), however far down the page the message is."""
    m = TITLE_RE.search(markup[:65536])
    return " ".join(unescape(m.group(1)).split()) or None if m else None
