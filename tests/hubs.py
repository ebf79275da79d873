"""Servers on 127.0.0.1 for the WebSub tests: hubs that record, refuse or stall, a static file
server standing in for the web host, a subscriber of our own, and the real flask-websub hub.

Each is started by a test and stopped by it: ``stop()`` ends exactly what ``start`` made
(its own threads and sockets; for the real hub, the one process it started).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import Request, urlopen

HERE = Path(__file__).resolve().parent


@dataclass
class Ping:
    path: str
    content_type: str
    form: dict[str, list[str]]


class _Server:
    """A threaded HTTP server in a thread of its own."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.http.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/"

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join(5)


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _HubHandler(_Quiet):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        hub: RecordingHub = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with hub.lock:
            hub.pings.append(Ping(self.path, self.headers.get("Content-Type", ""), parse_qs(body.decode())))
        self.send_response(hub.status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class RecordingHub(_Server):
    """Answers every publish request with ``status`` and records it."""

    def __init__(self, status: int = 202) -> None:
        self.status, self.lock, self.pings = status, threading.Lock(), []
        super().__init__(_HubHandler)

    def topics(self) -> list[str]:
        with self.lock:
            return [t for p in self.pings for t in p.form.get("hub.url", [])]


class StalledHub:
    """Accepts connections and reads what it is sent, but never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hub"
        self.accepted: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


class FileServer(_Server):
    """The web host: serves ``root``; with ``hub`` set, each file with the ``Link`` header
    naming the hub and the file's own address, as WebSub's discovery describes (flask-websub's
    hub insists on it when it fetches a topic; nginx would need ``add_header Link``)."""

    def __init__(self, root: Path, hub: str | None = None) -> None:
        self.root, self.hub, self.fetched = root, hub, []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=str(server.root), **kwargs)  # type: ignore[arg-type]

            def end_headers(self) -> None:
                if server.hub:
                    self.send_header("Link", f'<{server.hub}>; rel="hub", <{server.url}{self.path[1:]}>; rel="self"')
                super().end_headers()

            def do_GET(self) -> None:  # noqa: N802
                server.fetched.append(self.path)
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(Handler)


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Subscription:
    topic: str
    secret: str | None
    confirmed: threading.Event = field(default_factory=threading.Event)
    verifications: list[dict[str, str]] = field(default_factory=list)


class _SubscriberHandler(_Quiet):
    def do_GET(self) -> None:  # noqa: N802 (the hub verifies our intent, WebSub 5.3)
        sub: Subscriber = self.server.owner  # type: ignore[attr-defined]
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        wanted = sub.subscriptions.get(urlsplit(self.path).path)
        if wanted is None or query.get("hub.topic") != wanted.topic or query.get("hub.mode") != "subscribe":
            self.send_response(404)  # not a subscription we asked for: refuse to confirm it
            self.end_headers()
            return
        wanted.verifications.append(query)
        challenge = query["hub.challenge"].encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(challenge)))
        self.end_headers()
        self.wfile.write(challenge)
        wanted.confirmed.set()

    def do_POST(self) -> None:  # noqa: N802 (a content distribution, WebSub 7)
        sub: Subscriber = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with sub.lock:
            sub.deliveries.append(Delivery(urlsplit(self.path).path, dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()


class Subscriber(_Server):
    """A WebSub subscriber: one callback path per topic; confirms only what it asked for."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, Subscription] = {}
        self.deliveries: list[Delivery] = []
        self.lock = threading.Lock()
        super().__init__(_SubscriberHandler)

    def subscribe(self, hub: str, topic: str, callback_path: str, secret: str | None = None) -> Subscription:
        """Ask ``hub`` for ``topic`` (WebSub 5.1) and return once the hub verified our intent."""
        sub = self.subscriptions[callback_path] = Subscription(topic, secret)
        form = {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": self.url + callback_path[1:]}
        if secret:
            form["hub.secret"] = secret
        with urlopen(Request(hub, data=urlencode(form).encode(), method="POST"), timeout=20) as r:
            assert r.status == 202, r.status
        assert sub.confirmed.wait(20), "the hub never verified the subscription"
        return sub

    def received(self, path: str) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if d.path == path]


def signature_ok(delivery: Delivery, secret: str) -> bool:
    """X-Hub-Signature: ``method=hex`` HMAC of the body with the subscription's secret (WebSub 8)."""
    method, _, given = delivery.headers.get("X-Hub-Signature", "").partition("=")
    if method not in ("sha1", "sha256", "sha384", "sha512"):
        return False
    return hmac.compare_digest(hmac.new(secret.encode(), delivery.body, getattr(hashlib, method)).hexdigest(), given)


def wait_until(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class FlaskWebSubHub:
    """flask-websub's hub (PyPI), in a process of its own (tests/flask_websub_hub.py)."""

    def __init__(self, folder: Path) -> None:
        self.log_path = folder / "hub.log"
        port_file = folder / "hub.port"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(HERE / "flask_websub_hub.py"), str(folder / "hub.sqlite"), str(port_file)],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        if not wait_until(lambda: port_file.exists() and port_file.read_text().endswith("\n"), 30):
            self.stop()
            raise RuntimeError(f"flask-websub's hub did not start:\n{self.log}")
        self.url = f"http://127.0.0.1:{int(port_file.read_text())}/hub"

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def requests(self, mode: str) -> list[str]:
        """The topics of the requests with this hub.mode that the hub received, in order."""
        prefix = f"hub request: {mode} "
        return [line[len(prefix) :] for line in self.log.splitlines() if line.startswith(prefix)]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
