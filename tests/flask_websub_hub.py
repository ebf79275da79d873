"""flask-websub's hub (PyPI) on 127.0.0.1, for tests/test_websub_hub.py: a script run as its own process.

    python tests/flask_websub_hub.py DB PORT_FILE

The hub is flask-websub's own code, mounted on a Flask app. Its tasks (verify a subscriber's
intent, fetch a topic, deliver it) are Celery tasks; Celery runs them eagerly here, in the
request that starts them, so no broker or worker is needed: a publish request is answered
once every subscriber got the new content. Each request's hub.mode and topic are printed,
so a test can count the publish requests the hub received. The port (chosen by the kernel)
is written to PORT_FILE once the server listens.
"""

from __future__ import annotations

import sys
from pathlib import Path

from celery import Celery
from flask import Flask, request
from flask_websub.hub import Hub, SQLite3HubStorage
from werkzeug.serving import make_server


def main(db: str, port_file: str) -> None:
    app = Flask("d2f-test-hub")
    app.config["PUBLISH_SUPPORTED"] = True  # the hub's publish endpoint: "nice for testing", as its docs say
    celery = Celery("d2f-test-hub", broker="memory://")
    celery.conf.task_always_eager = True
    hub = Hub(SQLite3HubStorage(db), celery, REQUEST_TIMEOUT=5, MAX_ATTEMPTS=2, BACKOFF_BASE=0.1)
    app.register_blueprint(hub.build_blueprint(url_prefix="/hub"))

    @app.before_request
    def show() -> None:
        print(f"hub request: {request.form.get('hub.mode')} {request.form.get('hub.topic')}", flush=True)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    Path(port_file).write_text(f"{server.server_port}\n")
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:3])
