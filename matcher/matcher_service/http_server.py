"""``GET /health`` (200 while polling, 503 while starting/recovering/stopping) and ``GET /metrics``.

A stdlib threaded server in a daemon thread: two tiny endpoints do not need an ASGI stack, and the
matcher's loop stays the only owner of the book.
"""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from matcher_service.metrics import Metrics

log = logging.getLogger(__name__)


def _handler(metrics: Metrics) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/health":
                healthy = metrics.state == "polling"
                self._send(200 if healthy else 503, {"status": metrics.state})
            elif self.path == "/metrics":
                self._send(200, metrics.snapshot())
            else:
                self._send(404, {"code": "NOT_FOUND", "message": self.path})

        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            log.debug(format, *args)

    return Handler


class HealthServer:
    def __init__(self, host: str, port: int, metrics: Metrics) -> None:
        self._server = ThreadingHTTPServer((host, port), _handler(metrics))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="matcher-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
