"""A webhook receiver on loopback for the watch tests: it records every POST in order, and can
be down in two ways: answering 503, or not listening at all (connection refused), then back
on the same port."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.server import free_port


class Receiver:
    def __init__(self, *, listening: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook/secret-token"
        self.got: list[dict] = []
        self.answer_503 = False
        self.refused_503 = 0
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()
        if listening:
            self.up()

    def up(self) -> None:
        """Listen (again) on the same port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if receiver.answer_503:
                    receiver.refused_503 += 1
                    self.send_response(503)
                    self.end_headers()
                    return
                with receiver._lock:
                    receiver.got.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Stop listening: connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def events(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(e["event"], e["run"]) for e in self.got]

    def close(self) -> None:
        self.down()
