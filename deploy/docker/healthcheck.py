#!/usr/bin/env python3
"""The image's health check (``loom-healthcheck [ROLE]``): exit 0 when the role's endpoint
answers 200 on this container, 1 otherwise.

- ``webserver``: ``GET /api/v2/monitor/health`` on ``webserver.port`` (8080); healthy while
  it answers 200 and reports the metadata database healthy (Loom's answers 503 without
  its database; the body is checked too).
- ``scheduler``, ``worker``, ``notifier``, ``triggerer``: ``GET /metrics`` on
  ``metrics.<role>_port`` (9101, 9102, 9103, 9104), served by the process itself.
- no role (the Dockerfile's HEALTHCHECK, which cannot know the command): passes when any
  of these answers, since a container runs one role.

Ports follow the ``LOOM__WEBSERVER__PORT`` and ``LOOM__METRICS__<ROLE>_PORT`` variables.
Standard library only: it runs in the image beside Loom, not as part of it.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

ENDPOINTS = {
    "webserver": ("LOOM__WEBSERVER__PORT", 8080, "/api/v2/monitor/health"),
    "scheduler": ("LOOM__METRICS__SCHEDULER_PORT", 9101, "/metrics"),
    "worker": ("LOOM__METRICS__WORKER_PORT", 9102, "/metrics"),
    "notifier": ("LOOM__METRICS__NOTIFIER_PORT", 9103, "/metrics"),
    "triggerer": ("LOOM__METRICS__TRIGGERER_PORT", 9104, "/metrics"),
}
TIMEOUT_SECONDS = 4.0


def url(role: str, environ: dict[str, str]) -> str:
    """The URL that tells whether ``role`` is healthy on this host."""
    variable, default, path = ENDPOINTS[role]
    host = environ.get("LOOM_HEALTHCHECK_HOST", "127.0.0.1")
    return f"http://{host}:{environ.get(variable) or default}{path}"


def answers(address: str) -> bool:
    """True when ``address`` answers 200 in time (and, for the webserver's health, reports
    its metadata database healthy)."""
    try:
        with urllib.request.urlopen(address, timeout=TIMEOUT_SECONDS) as response:
            body = response.read()
            return bool(response.status == 200) and database_healthy(address, body)
    except OSError:  # refused, timed out, or an HTTP error status (URLError, HTTPError)
        return False


def database_healthy(address: str, body: bytes) -> bool:
    """False when ``address`` is the webserver's health and ``body`` does not say
    ``"metadatabase": {"status": "healthy"}``; True for any other endpoint."""
    if not address.endswith(ENDPOINTS["webserver"][2]):
        return True
    try:
        report = json.loads(body)
        return bool(report["metadatabase"]["status"] == "healthy")
    except (ValueError, TypeError, KeyError):
        return False


def main(argv: list[str]) -> int:
    roles = argv or list(ENDPOINTS)
    unknown = [role for role in roles if role not in ENDPOINTS]
    if unknown:
        print(f"loom-healthcheck: unknown role {unknown[0]!r}; one of {', '.join(ENDPOINTS)}")
        return 2
    addresses = [url(role, dict(os.environ)) for role in roles]
    for address in addresses:
        if answers(address):
            return 0
    print(f"loom-healthcheck: no answer from {', '.join(addresses)}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
