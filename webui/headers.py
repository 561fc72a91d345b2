"""What every response tells the browser about itself, and whom the webserver believes
about the client's address and scheme.

Every response (UI pages, API answers, errors, static files) carries
:data:`SECURITY_HEADERS`: a Content-Security-Policy that runs only scripts served by Loom
(no inline script, no ``eval``) and lets no other site frame a page (with
``X-Frame-Options`` for older browsers), ``nosniff`` and a referrer policy that sends no
URL to other sites. Styles may be inline: the run and DAG pages draw their bars with
``style="width: ..."`` attributes, which work without JavaScript (docs/decisions.md).

``webserver.proxy_fix`` is the number of reverse proxies in front of the webserver. When
it is 0 (the default) ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are ignored, so a
client can claim neither another address nor HTTPS; otherwise werkzeug's ProxyFix takes
the client's address and scheme from that many proxies' headers, so that cookies are
``Secure`` when the proxy speaks HTTPS and the audit log records the client's address.
"""

from __future__ import annotations

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.config import Settings

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
"""Only Loom's own scripts run; ``data:`` images are Swagger UI's icons."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def init_app(app: Flask, settings: Settings) -> None:
    """Add the headers to every response; trust ``webserver.proxy_fix`` proxies."""
    app.after_request(_add_security_headers)
    proxies = settings.webserver.proxy_fix
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]


def _add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
