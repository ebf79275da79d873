"""An IMAP server of the tests' own on 127.0.0.1 that quotes back, in its error replies, every line
it was sent: the worst a careless or hostile server can do with a credential.

Implicit TLS with a certificate of the tests' throwaway CA (``dovecot.make_certs``), as the
client only talks TLS. How it answers is set per run in ``Script``: whether it offers
AUTHENTICATE PLAIN, whether it accepts the login (then it refuses the search instead, quoting
everything, the login included), NO or BAD, and whether it also quotes each line cut short.
Each line, newest first, is quoted as received, percent-encoded (upper- and lower-case hex), and, for the
answer to an AUTHENTICATE challenge, base64-decoded (a line break in it becomes a space, as a
server writing one reply line must). When a credential arrives it reads every process's
argv from /proc, so a test can check that no command line held the secret at that moment.
"""

from __future__ import annotations

import base64
import contextlib
import re
import socketserver
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote


@dataclass
class Script:
    plain: bool = True  # offers AUTH=PLAIN (else a password can only go by LOGIN)
    accept: bool = False  # the login succeeds, and the search is refused instead
    bad: bool = False  # refuse with BAD (imaplib shows a bytes repr) rather than NO
    cut: int | None = None  # also quote each line cut after this many characters


@dataclass
class Seen:
    lines: list[bytes] = field(default_factory=list)  # every line received, in order
    argvs: list[bytes] = field(default_factory=list)  # /proc/*/cmdline when each credential arrived


def _argvs() -> list[bytes]:
    out = []
    for p in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):  # a process that ended meanwhile
            out.append(p.read_bytes())
    return out


def _pct_lower(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), text)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def setup(self) -> None:
        self.request = self.server.context.wrap_socket(self.request, server_side=True)
        super().setup()

    def send(self, line: bytes) -> None:
        self.wfile.write(line + b"\r\n")
        self.wfile.flush()

    def echo(self, heard: list[bytes]) -> bytes:
        """Everything received so far, in every form this server quotes it."""
        cut = self.server.script.cut
        parts = []
        for line in reversed(heard):  # the newest first, as "you sent X; before that …"
            text = line.decode("utf-8", "replace")
            parts += [line, quote(text, safe="").encode(), _pct_lower(quote(text, safe="")).encode()]
            if cut:
                parts.append(line[:cut])
        return b" | ".join(parts)

    def refuse(self, tag: bytes, heard: list[bytes]) -> None:
        kind = b"BAD" if self.server.script.bad else b"NO"
        self.send(tag + b" " + kind + " you sent — ".encode() + self.echo(heard))  # not ASCII, as many servers' words

    def handle(self) -> None:
        script, seen = self.server.script, self.server.seen
        caps = b"IMAP4rev1 AUTH=XOAUTH2" + (b" AUTH=PLAIN" if script.plain else b"")
        self.send(b"* OK [CAPABILITY " + caps + b"] echo server ready")
        heard: list[bytes] = []
        while line := self.rfile.readline(1 << 20):
            line = line.rstrip(b"\r\n")
            seen.lines.append(line)
            heard.append(line)
            tag, _, rest = line.partition(b" ")
            verb = rest.split(b" ", 1)[0].upper()
            if verb == b"CAPABILITY":
                self.send(b"* CAPABILITY " + caps)
                self.send(tag + b" OK done")
            elif verb in (b"LOGIN", b"AUTHENTICATE"):
                if verb == b"AUTHENTICATE":
                    self.send(b"+ ")
                    answer = self.rfile.readline(1 << 20).rstrip(b"\r\n")
                    seen.lines.append(answer)
                    decoded = base64.b64decode(answer[: len(answer) // 4 * 4] or b"", validate=False)
                    heard += [answer, decoded.replace(b"\r", b" ").replace(b"\n", b" ")]
                seen.argvs += _argvs()
                if script.accept:
                    self.send(tag + b" OK logged in")
                else:
                    self.refuse(tag, heard)
            elif verb in (b"EXAMINE", b"SELECT"):
                self.send(b"* 1 EXISTS")
                self.send(b"* OK [UIDVALIDITY 7] ok")
                self.send(tag + b" OK [READ-ONLY] done")
            elif verb == b"LOGOUT":
                self.send(b"* BYE")
                self.send(tag + b" OK bye")
                return
            else:
                self.refuse(tag, heard)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.script = Script()
        self.seen = Seen()

    def handle_error(self, request, client_address) -> None:
        """A client hanging up mid-reply is no news; and the default would print into the run's captured stderr."""


class EchoServer:
    """One listening server; ``run(script)`` sets how the next connections are answered."""

    def __init__(self, cert: Path, key: Path) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._server = _Server(context)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def run(self, script: Script) -> Seen:
        self._server.script = script
        self._server.seen = Seen()
        return self._server.seen

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
