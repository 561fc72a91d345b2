"""One plain log line per request, for servers that write none themselves (waitress).

``127.0.0.1 "GET /api/v2/dags HTTP/1.1" 200 1234 12ms``: no colour codes, whatever
the terminal, so that the lines read the same in a file, a pipe or journald.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger("webui.access")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def with_access_log(app: WsgiApp) -> WsgiApp:
    """``app`` logging a line per request at INFO on ``webui.access`` once answered."""

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.monotonic()
        status = ["-"]

        def start(code: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, *exc)

        body = app(environ, start)
        size = 0
        try:
            for chunk in body:
                size += len(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            logger.info("%s", request_line(environ, status[0], size, started))

    return logged


def request_line(environ: dict[str, Any], status: str, size: int, started: float) -> str:
    """The access log line of one answered request."""
    path = environ.get("PATH_INFO", "")
    if environ.get("QUERY_STRING"):
        path += "?" + environ["QUERY_STRING"]
    elapsed = round((time.monotonic() - started) * 1000)
    return (
        f'{environ.get("REMOTE_ADDR", "-")} "{environ.get("REQUEST_METHOD", "-")} {path}'
        f' {environ.get("SERVER_PROTOCOL", "-")}" {status} {size} {elapsed}ms'
    )
