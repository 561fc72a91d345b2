"""Real receivers for alert tests: an SMTP server (aiosmtpd) and an HTTP endpoint, both on
127.0.0.1, each able to go down and come back on the same port (an outage); a migrated
PostgreSQL database; settings pointing at both; events written as emit writes them.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings
from engine.delivery.notifications.events import Event, EventType
from engine.delivery.notifications.routing import Route
from engine.delivery.outbox import enqueue
from engine.models import NotificationDelivery, OutboxKind
from tests.support.database import database_sessions
from tests.support.network import free_port
from tests.support.settings import make_settings

NOW = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
BASE_URL = "https://loom.example.com"
SECRET = "webhook-secret"
Sessions = sessionmaker[Session]


# -- SMTP ---------------------------------------------------------------------------------


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """The aiosmtpd handler: keeps every accepted message; refuses listed recipients."""

    messages: list[Mail] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    data_replies: deque[str] = field(default_factory=deque)
    """Replies to DATA before accepting messages again (``451 try later``, say)."""

    async def handle_RCPT(
        self, server: Any, session: SmtpSession, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: SmtpSession, envelope: Envelope) -> str:
        if self.data_replies:
            return self.data_replies.popleft()
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that can stop and start again on its port."""

    def __init__(self, port: int, **smtp_options: Any) -> None:
        self.port = port
        self.mailbox = Mailbox()
        self.options = smtp_options
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port, **self.options
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[Mail]:
        return self.mailbox.messages


class _Server(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


_S = TypeVar("_S", bound=_Server)


@contextmanager
def serving(server: _S) -> Iterator[_S]:
    """``server`` started for the block, and stopped after it even when the block fails."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with serving(SmtpServer(free_port())) as server:
        yield server


def login_checker(user: str, password: str) -> Any:
    """An aiosmtpd authenticator accepting one user name and password."""

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(),
            password.encode(),
        )
        return AuthResult(success=ok)

    return check


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


# -- HTTP ---------------------------------------------------------------------------------


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    gate: threading.Event | None = None
    """Answer only once this is set (a receiver that hangs until the test lets it go)."""


class Receiver:
    """A webhook endpoint on 127.0.0.1: records every request, answers from a script
    of replies (then 200), and can go down and come back on the same port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.requests: list[Request] = []
        self.replies: deque[Reply] = deque()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def url_with(self, tail: str) -> str:
        """This endpoint's URL with another path and query (it answers on any path)."""
        return f"http://127.0.0.1:{self.port}{tail}"

    def answer(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.requests.append(Request(dict(self.headers.items()), body))
                reply = receiver.replies.popleft() if receiver.replies else Reply()
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.gate is not None:
                    reply.gate.wait(timeout=60)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def event_ids(self) -> list[str]:
        return [request.headers["X-Loom-Event-Id"] for request in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving(Receiver(free_port())) as endpoint:
        yield endpoint


# -- database, settings, events -------------------------------------------------------------


@pytest.fixture
def postgres_url(seeded_postgres_url: str) -> str:
    """This package's PostgreSQL database is migrated and seeded."""
    return seeded_postgres_url


@pytest.fixture
def sessions(postgres_url: str) -> Iterator[Sessions]:
    """Sessions on the migrated, seeded PostgreSQL database."""
    with database_sessions(postgres_url) as factory:
        yield factory


def alert_settings(
    url: str, home: Path, *, smtp: dict[str, Any] | None = None, **sections: Any
) -> Settings:
    """Settings of the alert tests: links to ``BASE_URL``, SMTP giving up after 2 s."""
    return make_settings(
        url,
        home,
        webserver={"base_url": BASE_URL},
        smtp={"timeout": "2s", **(smtp or {})},
        **sections,
    )


def add_event(
    sessions: Sessions,
    event_type: EventType = EventType.TASK_FAILED,
    *,
    email: tuple[str, ...] | None = None,
    notify: tuple[str, ...] | None = None,
    task_id: str | None = "extract",
    now: datetime = NOW,
) -> str:
    """Write an event to the outbox as :mod:`engine.delivery.notifications.emit` does; its id."""
    event = Event(
        event_type=event_type,
        occurred_at=now,
        dag_id="etl",
        run_id="manual__2026-03-01T06:00:00+00:00",
        logical_date=now,
        run_started_at=now,
        state="failed",
        task_id=task_id,
        try_number=2 if task_id else None,
        max_tries=2 if task_id else None,
        error={"type": "ValueError", "message": "bad row 7"},
    )
    with sessions.begin() as session:
        enqueue(
            session=session,
            kind=OutboxKind.NOTIFICATION,
            payload={"event": event.to_dict(), "route": Route(email, notify).to_dict()},
            dedup_key=None,
            now=now,
        )
    return event.event_id


def deliveries(sessions: Sessions) -> list[NotificationDelivery]:
    with sessions() as session:
        stmt = sa.select(NotificationDelivery).order_by(NotificationDelivery.id)
        return list(session.scalars(stmt))
