"""``HttpHook``: requests to the service a connection names (Airflow's HTTP provider).

The base URL is the connection's ``host`` when it holds a scheme (``https://api.example``),
else ``<schema or http>://<host>``, with ``:<port>`` when there is one. ``login`` and
``password`` sign in with HTTP basic auth (or ``auth_type``). The ``extra`` object gives
default headers, except the keys that are session settings: ``stream``, ``cert``,
``proxies`` (or ``proxy``), ``verify`` (or ``verify_ssl``), ``allow_redirects``,
``max_redirects``. An answer of 400 or more is a :class:`HookError` that starts with its
status (``404:Not Found``) unless ``extra_options={"check_response": False}``.
``requests`` is imported on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from engine.authoring.connection import Connection
from engine.errors import HookError
from engine.execution.secrets import BaseHook
from engine.hooks.sql import SUCCESS_MESSAGE

if TYPE_CHECKING:
    import requests

logger = logging.getLogger(__name__)

SESSION_SETTINGS = ("stream", "cert", "proxies", "proxy", "verify", "verify_ssl")
PARAMS_IN_QUERY = ("GET", "HEAD")
"""Methods whose ``data`` travels as query parameters (the others send it as the body)."""


class HttpHook(BaseHook):
    """Send ``method`` requests to connection ``http_conn_id``'s service."""

    conn_name_attr: ClassVar[str] = "http_conn_id"
    default_conn_name: ClassVar[str] = "http_default"
    conn_type: ClassVar[str] = "http"

    def __init__(
        self,
        method: str = "POST",
        http_conn_id: str = default_conn_name,
        auth_type: Callable[..., Any] | None = None,
        *,
        connection: Connection | None = None,
    ) -> None:
        self.method = method.upper()
        self.http_conn_id = http_conn_id
        self.auth_type = auth_type
        self.connection = connection
        self.base_url = ""

    def get_conn(self, headers: Mapping[str, Any] | None = None) -> requests.Session:
        """A session on the connection: base URL, auth, default headers and settings."""
        import requests

        conn = self.connection or self.get_connection(self.http_conn_id)
        self.connection = conn
        self.base_url = base_url(conn)
        session = requests.Session()
        if conn.login:
            auth = self.auth_type or requests.auth.HTTPBasicAuth
            session.auth = auth(conn.login, conn.password or "")
        extra = dict(conn.extra_dejson)
        self._session_settings(session, extra)
        session.headers.update(_headers(conn.conn_id, extra))
        if headers:
            session.headers.update(headers)
        return session

    @staticmethod
    def _session_settings(session: requests.Session, extra: dict[str, Any]) -> None:
        session.stream = _flag(extra.pop("stream", False))
        verify = _flag(extra.pop("verify", extra.pop("verify_ssl", True)))
        session.verify = verify  # a bool, or the path of a CA bundle
        if "cert" in extra:
            session.cert = extra.pop("cert")
        proxies = extra.pop("proxies", extra.pop("proxy", None))
        if proxies:
            session.proxies = proxies
        if "max_redirects" in extra:
            session.max_redirects = int(extra.pop("max_redirects"))
        extra.pop("allow_redirects", None)  # a send setting, read in run_and_check

    def url_from_endpoint(self, endpoint: str | None) -> str:
        """The base URL and ``endpoint`` joined by exactly one ``/``."""
        base = self.base_url
        if base and not base.endswith("/") and endpoint and not endpoint.startswith("/"):
            return f"{base}/{endpoint}"
        return self.base_url + (endpoint or "")

    def run(
        self,
        endpoint: str | None = None,
        data: Any = None,
        headers: Mapping[str, Any] | None = None,
        extra_options: Mapping[str, Any] | None = None,
        **request_kwargs: Any,
    ) -> requests.Response:
        """Send the request: ``data`` as query parameters for GET and HEAD, else as the
        body; ``extra_options`` are requests' send options (``timeout``, ``verify``,
        ``check_response``...)."""
        import requests

        session = self.get_conn(headers)
        url = self.url_from_endpoint(endpoint)
        where = "params" if self.method in PARAMS_IN_QUERY else "data"
        request = requests.Request(
            self.method, url, headers=headers, **{where: data}, **request_kwargs
        )
        prepared = session.prepare_request(request)
        logger.info("Sending '%s' to url: %s", self.method, url)
        return self.run_and_check(session, prepared, extra_options or {})

    def run_and_check(
        self,
        session: requests.Session,
        prepared: requests.PreparedRequest,
        extra_options: Mapping[str, Any],
    ) -> requests.Response:
        """Send ``prepared`` and check its answer (unless ``check_response`` is false)."""
        options = dict(extra_options)
        check = options.pop("check_response", True)
        settings = session.merge_environment_settings(
            prepared.url or "",
            options.pop("proxies", {}),
            options.pop("stream", None),
            options.pop("verify", None),
            options.pop("cert", None),
        )
        extra = self.connection.extra_dejson if self.connection else {}
        sending = {k: _flag(extra[k]) for k in ("allow_redirects",) if k in extra} | options
        response = session.send(prepared, **settings, **sending)
        if check:
            self.check_response(response)
        return response

    def check_response(self, response: requests.Response) -> None:
        """HookError ``"<status>:<reason>"`` for an answer of 400 or more."""
        if response.status_code >= 400:
            logger.error("HTTP error: %s", response.reason)
            logger.error(response.text[:2000])
            raise HookError(
                f"{response.status_code}:{response.reason}", status_code=response.status_code
            )

    def test_connection(self) -> tuple[bool, str]:
        """Request the base URL: (True, a message) or (False, the status or the reason)."""
        try:
            self.run()
        except Exception as error:  # noqa: BLE001 - any failure is the answer, whatever raised it
            return False, f"{type(error).__name__}: {error}"
        return True, SUCCESS_MESSAGE


def base_url(conn: Connection) -> str:
    """Where connection ``conn``'s service is, as Airflow's HttpHook builds it."""
    host = conn.host or ""
    url = host if "://" in host else f"{conn.schema or 'http'}://{host}"
    return f"{url}:{conn.port}" if conn.port else url


def _flag(value: Any) -> Any:
    """``"true"`` / ``"false"`` (the URI form's extra is text) as booleans; others as given."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _headers(conn_id: str | None, extra: Mapping[str, Any]) -> dict[str, str]:
    bad = sorted(k for k, v in extra.items() if not isinstance(v, str))
    if bad:
        raise HookError(
            f"connection {conn_id!r}: extra {bad} are not strings, so they cannot be headers"
        )
    return dict(extra)
