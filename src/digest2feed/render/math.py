"""TeX in titles and abstracts → HTML with typeset MathML, losing no character.

A text is split into prose and math spans (``$…$``, ``\\(…\\)``, ``$$…$$``, ``\\[…\\]``).
Each math span becomes MathML Core with the span itself, delimiters included, in
``<annotation encoding="application/x-tex">``; a span the converter refuses, or whose
output is not well-formed or holds anything outside the allowed MathML, stays as the
escaped TeX in ``<code>``. Prose is escaped; ``\\emph{…}``/``\\textit{…}`` become
``<em>``, ``\\textbf{…}`` ``<strong>``, and ``\\%`` ``\\&`` ``\\_`` ``\\$`` their characters.

So the page's text, each ``<math>`` replaced by its annotation, is the source text
with exactly those text-mode macros undone (see README, "Mathematics").

Pure: the converter (math-core, see README for why) is called on one span at a time
and its results are cached; nothing here touches the outside world.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape

from lxml import etree

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
CODE = '<code class="tex">{}</code>'

# A backslash with the character after it, or a dollar run, are the only places a span can
# start or end (_Tokens). Taking "\x" as one token is what makes "\$" a dollar and "\\" a line break.
_OPEN = {"\\(": ("\\)", False), "\\[": ("\\]", True), "$$": ("$$", True)}
_COMMENT = re.compile(r"\\[\s\S]|%")

# Prose: the text-mode macros that become markup or characters; everything else is text.
_PROSE = re.compile(r"\\\\|\\[%&_$]|\\(?:emph|textit|textbf)\{|[{}]|[^\\{}]+|\\")
_ESCAPE = re.compile(r"\\([\\%&_$])")
_TAG = {"\\emph{": "em", "\\textit{": "em", "\\textbf{": "strong"}

# MathML Core (https://www.w3.org/TR/mathml-core/) less maction and annotation-xml,
# which can carry other markup; math-core puts HTML i/b/em inside mtext for \textit etc.
_ELEMENTS = frozenset(
    "math semantics annotation merror mfrac mi mmultiscripts mn mo mover mpadded mphantom mprescripts "
    "mroot mrow ms mspace msqrt mstyle msub msubsup msup mtable mtd mtext mtr munder munderover".split()
)
_IN_MTEXT = frozenset({"i", "b", "em"})
_GLOBAL = frozenset({"dir", "displaystyle", "scriptlevel", "mathvariant"})
_ATTRIBUTES = {
    "math": {"display"},
    "annotation": {"encoding"},
    "mfrac": {"linethickness"},
    "mo": {"form", "fence", "separator", "lspace", "rspace", "stretchy", "symmetric", "maxsize", "minsize",
           "largeop", "movablelimits"},
    "mover": {"accent"},
    "munder": {"accentunder"},
    "munderover": {"accent", "accentunder"},
    "mpadded": {"width", "height", "depth", "lspace", "voffset"},
    "mspace": {"width", "height", "depth"},
    "mtd": {"columnspan", "rowspan"},
}  # fmt: skip
_VALUE = re.compile(r"[-\w.# ]*")
# The only named entities math-core writes that XML does not know.
_ENTITIES = {"&ApplyFunction;": "\u2061", "&InvisibleTimes;": "\u2062"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def html(text: str, br: bool = False) -> str:
    """``text`` as HTML: prose escaped, each math span typeset (or kept as ``<code>``).

    ``br`` turns the line breaks of prose into ``<br>``, as the feeds' content has them.
    """
    if "$" not in text and "\\" not in text:
        return _text(text, br)
    out: list[str] = []
    for span, body, display in split(text):
        out.append(_prose(span, br) if body is None else typeset(span, body, display))
    return "".join(out)


def split(text: str) -> list[tuple[str, str | None, bool]]:
    """``(span, body, display)`` pieces that join to ``text``; ``body`` is None for prose.

    An inline ``$`` opens math only before a non-space and closes it only after a
    non-space and not before a digit (Pandoc's rule), so "5$ or $10" stays text.
    A span never starts without its closing delimiter: an unmatched one is text.
    """
    pieces: list[tuple[str, str | None, bool]] = []
    prose = pos = 0
    failed: dict[str, int] = {}  # closer → a start from which it was not found (nor will be later)
    tokens = _Tokens(text)
    closing = _Tokens(text)  # shared by the closers' searches while their starts only grow
    while (start := tokens.next(pos)) >= 0:
        tok = tokens.at(start)
        after = start + len(tok)
        if tok == "$":
            if after >= len(text) or text[after].isspace():
                pos = after
                continue
            closer, display = "$", False
        elif tok in _OPEN:
            closer, display = _OPEN[tok]
        else:  # any other escaped character is prose
            pos = after
            continue
        if after < closing.pos:  # a retry behind an earlier search: its findings do not hold here
            closing = _Tokens(text)
        end = -1 if failed.get(closer, len(text) + 1) <= after else _close(closing, after, closer)
        if end < 0:
            failed[closer] = min(failed.get(closer, after), after)
            pos = start + 1  # "$$" unmatched: its second "$" may still open inline math
            continue
        body = text[after : end - len(closer)]
        if not body.strip():
            pos = start + 1
            continue
        if start > prose:
            pieces.append((text[prose:start], None, False))
        pieces.append((text[start:end], body, display))
        prose = pos = end
    if prose < len(text):
        pieces.append((text[prose:], None, False))
    return pieces


class _Tokens:
    """Where the next backslash pair or dollar run starts, by ``str.find`` (a regex search
    over every character cost more than the rest of the page); ``pos`` must only grow."""

    __slots__ = ("text", "dollar", "slash", "pos")

    def __init__(self, text: str) -> None:
        self.text, self.dollar, self.slash = text, -2, -2  # -2: not looked for yet; -1: none left
        self.pos = 0  # the last start asked for

    def next(self, pos: int) -> int:
        self.pos = pos
        if -1 != self.dollar < pos:
            self.dollar = self.text.find("$", pos)
        if -1 != self.slash < pos:
            self.slash = self.text.find("\\", pos)
        if self.dollar < 0 or self.slash < 0:
            return max(self.dollar, self.slash)
        return min(self.dollar, self.slash)

    def at(self, i: int) -> str:
        """The token at ``i``: a backslash with the character after it, "$$" or "$"."""
        text = self.text
        if text[i] == "\\":
            return text[i : i + 2]
        return "$$" if text.startswith("$$", i) else "$"


def _close(tokens: _Tokens, pos: int, closer: str) -> int:
    """The end of the first ``closer`` token at or after ``pos``, or -1.

    ``tokens`` is shared by the calls of one ``split`` while their ``pos`` only grows: a fresh
    scanner per span searched to the end of the text again for a delimiter it lacks, which
    made a 10 MB abstract of a million spans quadratic (118 s)."""
    text = tokens.text
    while (i := tokens.next(pos)) >= 0:
        tok = tokens.at(i)
        if closer == "$":
            if tok[0] == "$" and not text[i - 1].isspace() and (i + 1 >= len(text) or not text[i + 1].isdigit()):
                return i + 1
        elif tok == closer:
            return i + len(tok)
        pos = i + len(tok)
    return -1


@lru_cache(maxsize=16384)  # abstracts repeat their notation, and the page shows each entry in one place
def typeset(span: str, body: str, display: bool) -> str:
    """One math span as MathML with its TeX as annotation, or as ``<code>`` when that fails."""
    mathml = _convert(body, display)
    if mathml is None:
        return CODE.format(escape(span))
    block = ' display="block"' if display else ""
    return (
        f'<math xmlns="{MATHML_NS}"{block}><semantics>{mathml}'
        f'<annotation encoding="application/x-tex">{escape(span)}</annotation></semantics></math>'
    )


def _convert(body: str, display: bool) -> str | None:
    """The converter's MathML for ``body``, checked and re-serialised, or None."""
    if any(m.group() == "%" for m in _COMMENT.finditer(body)):
        return None  # TeX reads "%" as a comment: the converter would drop the rest of the span
    try:
        out = _converter().convert_with_local_state(body, displaystyle=display)
    except Exception:  # LatexError, and whatever else a converter bug raises: fall back
        return None
    return checked(out)


def checked(out: str) -> str | None:
    """A converter's ``<math>`` re-serialised from its parse, or None if it is not well-formed
    or holds anything outside the allowed MathML (also used to compare converters in bench/)."""
    for name, char in _ENTITIES.items():
        out = out.replace(name, char)
    try:
        root = etree.fromstring(out, _PARSER)
    except etree.XMLSyntaxError:
        return None
    if root.tag != "math" or (root.text or "").strip() or not _allowed(root):
        return None
    # ASCII, with character references: one astral letter (\mathcal's 𝒪) would otherwise make
    # Python hold the whole page four bytes a character, and render it twice as slowly.
    children = [etree.tostring(c, with_tail=False).decode("ascii") for c in root]
    if len(children) == 1:
        return children[0]
    return "<mrow>" + "".join(children) + "</mrow>"


def _allowed(root: etree._Element) -> bool:
    """Only MathML Core elements and their own presentation attributes, nothing else."""
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str) or (el.tail or "").strip():
            return False  # comments, processing instructions, stray text between elements
        if tag in _IN_MTEXT:
            parent = el.getparent()
            if parent is None or parent.tag not in ("mtext", *_IN_MTEXT) or el.attrib:
                return False
            continue
        if tag not in _ELEMENTS:
            return False
        allowed = _ATTRIBUTES.get(tag, ())
        for name, value in el.attrib.items():
            if (name not in _GLOBAL and name not in allowed) or not _VALUE.fullmatch(value):
                return False
    return True


@lru_cache(maxsize=1)
def _converter():
    from math_core import LatexToMathML  # imported on first use: `parse` and `--help` do not need it

    return LatexToMathML(fancy_error=False)


def _text(s: str, br: bool) -> str:
    s = escape(s)
    return s.replace("\n", "<br>\n") if br else s


def _unescape(m: re.Match[str]) -> str:
    return m.group(0) if m.group(1) == "\\" else m.group(1)


def _prose(s: str, br: bool) -> str:
    """Prose: escaped, with the text-mode macros undone where their argument is plain text.

    A macro's argument may hold text without ``{ } $ \\``, the character escapes and other
    such macros; anything else leaves the macro as the author typed it.
    """
    if "\\" not in s:
        return _text(s, br)
    if "\\emph{" not in s and "\\textit{" not in s and "\\textbf{" not in s:  # the common case, 5× faster
        return _text(_ESCAPE.sub(_unescape, s), br)
    # Frames of open macros: (tag, opening token, parts); the bottom one is the text. Frames
    # below ``clean`` have met something that is not plain text: they close as typed.
    stack: list[tuple[str, str, list[str]]] = [("", "", [])]
    clean = 1
    for tok in _PROSE.findall(s):
        if tok in _TAG:
            stack.append((_TAG[tok], tok, []))
        elif tok == "}" and len(stack) > 1:
            tag, opening, parts = stack.pop()
            inner = "".join(parts)
            if len(stack) >= clean:
                stack[-1][2].append(f"<{tag}>{inner}</{tag}>")
            else:
                stack[-1][2].append(_text(opening, br) + inner + "}")
                clean = len(stack)  # enclosing frames stay as typed; those opened next start clean
        elif len(tok) == 2 and tok[0] == "\\" and tok[1] in "%&_$":
            stack[-1][2].append(escape(tok[1]))
        else:
            stack[-1][2].append(_text(tok, br))
            if tok in ("{", "}", "\\", "\\\\") or "$" in tok:
                clean = len(stack)
    while len(stack) > 1:  # macros never closed: as typed
        _, opening, parts = stack.pop()
        stack[-1][2].append(_text(opening, br) + "".join(parts))
    return "".join(stack[0][2])
