"""A local HTTP service on 127.0.0.1 that answers from a table of routes and records
every request, for tests of what Loom sends (hooks, connection tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: str


Answer = tuple[int, str] | Callable[[Received], tuple[int, str]]


@dataclass
class Service:
    """A local HTTP service: ``routes`` maps a path (query included) to its answer; any
    other path answers 404. ``received`` lists every request, in order."""

    url: str
    routes: dict[str, Answer] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def answer(self, request: Received) -> tuple[int, str]:
        route = self.routes.get(request.path, (404, "no such page"))
        return route(request) if callable(route) else route


def _handler(service: Service) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            request = Received(self.command, self.path, dict(self.headers.items()), body)
            service.received.append(request)
            status, text = service.answer(request)
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: pytest shows what the test asserts on."""

    return Handler


@contextmanager
def http_service() -> Iterator[Service]:
    """A local HTTP service on 127.0.0.1, stopped on the way out."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    svc = Service(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(svc)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield svc
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
