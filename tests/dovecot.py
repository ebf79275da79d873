"""A real Dovecot IMAP server on 127.0.0.1 for the IMAP tests and the benchmark, and its helpers.

Everything lives in one temporary folder: configuration, a throwaway CA and server
certificate (made with openssl), a passwd-file, the mail, the log. Nothing in /etc,
no system service. Facts this relies on (see NOTES.md, Dovecot): the mail processes
refuse uid 0, so they run as the system user ``mail``, which must be able to enter
the folder (pytest's tmp_path is 0700: the folder is a mkdtemp under /tmp, 0755);
Dovecot's output goes to a file (with a pipe its start-up hangs); ``ssl = no`` also
drops the implicit-TLS listener, so the server without STARTTLS is a second instance.
The auth penalty (after one failed login from an address, every later login from it is
delayed by 2-15 s) would slow every later test; the auth process runs as ``dovecot``, so
a mode-0 ``anvil-auth-penalty`` socket it cannot open switches the penalty off.

An XOAUTH2 token is checked by Dovecot's ``oauth2`` passdb against a small
token-introspection HTTP server on loopback, started and stopped with the server.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote

USER = "reader@example.org"  # needs percent-encoding in a URL
PASSWORD = "correct horse battery staple"  # holds spaces
TOKEN = "ya29.good-token-for-tests"  # the one token the introspection server accepts
# A second account whose password LOGIN cannot carry: non-ASCII, and quotes, a backslash, '/', '%', '@'
# (Dovecot's passwd-file takes any byte but ':' and a line break; its user names stay ASCII by default).
WIDE_USER = "wide@example.org"
WIDE_PASSWORD = 'Grüße "aus" K\\öln/50%@€ — пароль'

CONF = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = d2f-test-{name}
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = yes
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
auth_verbose = yes
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:~/Maildir:LAYOUT=fs
mail_uid = mail
mail_gid = mail
first_valid_uid = 1
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={root}/mail/%u
}}
service imap-login {{
{listeners}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""

OAUTH2 = """\
introspection_mode = post
introspection_url = http://127.0.0.1:{port}/introspect
username_attribute = username
active_attribute = active
active_value = true
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certs(folder: Path, openssl: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate it signs, for 127.0.0.1 and localhost: (ca, cert, key)."""
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ext = folder / "san.ext"
    ext.write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")

    def run(*args: str | Path) -> None:
        subprocess.run([openssl, *map(str, args)], check=True, capture_output=True)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")  # fast to make, unlike RSA
    run("req", "-x509", *ec, "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/CN=digest2feed test CA")  # fmt: skip
    run("req", *ec, "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
        "-extfile", ext)  # fmt: skip
    return ca, cert, key


class _Introspection(BaseHTTPRequestHandler):
    """RFC 7662 token introspection: the one good token is active and names USER."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", 0))
        form = parse_qs(self.rfile.read(length).decode())
        token = form.get("token", [""])[0]
        self.server.tokens_seen.append(token)  # type: ignore[attr-defined]
        body = {"active": True, "username": USER} if token == TOKEN else {"active": False}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Dovecot:
    """One running server. ``imaps_port`` is implicit TLS; ``imap_port`` plain (STARTTLS when ``starttls``)."""

    root: Path
    imap_port: int
    imaps_port: int | None
    ca: Path
    proc: subprocess.Popen
    http: ThreadingHTTPServer
    tokens_seen: list[str] = field(default_factory=list)

    @property
    def log(self) -> str:
        return (self.root / "dovecot.log").read_text(errors="replace")

    def stop(self) -> None:
        """Stop exactly what start() started: the master (its children exit with it) and the HTTP server."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.http.shutdown()
        self.http.server_close()
        shutil.rmtree(self.root, ignore_errors=True)


def start(dovecot: str, openssl: str, *, starttls: bool = True, name: str = "main") -> Dovecot:
    root = Path(tempfile.mkdtemp(prefix="d2f-dovecot-", dir="/tmp"))
    root.chmod(0o755)  # the mail processes run as `mail` and must enter it
    (root / "mail").mkdir()
    shutil.chown(root / "mail", "mail", "mail")
    ca, cert, key = make_certs(root, openssl)
    (root / "passwd").write_text(
        f"{USER}:{{PLAIN}}{PASSWORD}::::::\n{WIDE_USER}:{{PLAIN}}{WIDE_PASSWORD}::::::\n", encoding="utf-8"
    )
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Introspection)
    tokens: list[str] = []
    http.tokens_seen = tokens  # type: ignore[attr-defined]
    threading.Thread(target=http.serve_forever, daemon=True).start()
    (root / "oauth2.conf.ext").write_text(OAUTH2.format(port=http.server_address[1]))
    imap_port = free_port()
    imaps_port = free_port() if starttls else None
    if starttls:
        ssl_conf = f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"
        listeners = (
            f"  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap_port}\n  }}\n"
            f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps_port}\n    ssl = yes\n  }}"
        )
    else:
        ssl_conf = "ssl = no"
        listeners = f"  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap_port}\n  }}\n" \
                    "  inet_listener imaps {\n    port = 0\n  }"  # fmt: skip
    conf = root / "dovecot.conf"
    conf.write_text(CONF.format(root=root, name=f"{name}-{root.name}", ssl=ssl_conf, listeners=listeners))
    with open(root / "dovecot.out", "wb") as log:  # a file, never a pipe: with a pipe start-up hangs
        proc = subprocess.Popen([dovecot, "-F", "-c", str(conf)], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    server = Dovecot(root, imap_port, imaps_port, ca, proc, http, tokens)
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", imap_port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            out = (root / "dovecot.out").read_text(errors="replace") + server.log
            server.stop()
            raise RuntimeError(f"dovecot did not start:\n{out}")
        time.sleep(0.05)
    return server


def client(server: Dovecot, user: str = USER, password: str = PASSWORD):
    """An IMAPClient logged in over implicit TLS, for putting messages on the server."""
    from imapclient import IMAPClient

    ctx = ssl.create_default_context(cafile=str(server.ca))
    c = IMAPClient("127.0.0.1", port=server.imaps_port, ssl=True, ssl_context=ctx, timeout=30)
    c.plain_login(user, password)  # UTF-8, so the second account's password goes too
    return c


def append(server: Dovecot, folder: str, messages: list[bytes], user: str = USER, password: str = PASSWORD) -> None:
    """Put messages in a folder (created if missing) with IMAP APPEND, as delivery would."""
    with client(server, user, password) as c:
        if not c.folder_exists(folder):
            c.create_folder(folder)
        for data in messages:
            c.append(folder, data)


def url_for(scheme: str, user: str, host: str, port: int, folder: str) -> str:
    """The URL of a folder, percent-encoded as RFC 5092 asks (the inverse of ``parse_url``)."""
    return f"{scheme}://{quote(user, safe='')}@{host}:{port}/{quote(folder, safe='/')}"
