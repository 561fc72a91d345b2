"""E-mail alerts over SMTP: one message per event to all of its recipients.

The subject and the plain-text and HTML bodies are Jinja2 templates in
``engine/delivery/notifications/templates`` (``title.txt``, ``subject.txt``, ``body.txt``,
``body.html``), rendered with the event document (see :mod:`engine.delivery.notifications.events`),
its ``url`` and a ``title``. The ``Message-ID`` is derived from the event id, so a mail
system that sees the same event twice (a notifier that died between the server's
acceptance and recording it) can drop the copy.

SMTP failures map to :class:`FailureKind`: no connection is ``UNREACHABLE``, a 4xx reply
or a dropped connection ``TRANSIENT``, a 5xx reply (bad recipient, refused login)
``PERMANENT``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from engine.config import SmtpSettings
from engine.delivery.errors import DeliveryError, FailureKind, describe
from engine.delivery.notifications.deliveries import DeliveryJob
from engine.delivery.notifications.routing import EMAIL
from engine.timeutil import utcnow

logger = logging.getLogger(__name__)

SMTP_STEPS = 5
"""Network steps of one try (connect, EHLO, STARTTLS, login, send), each with the timeout."""


def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("engine.delivery.notifications", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_email(event: dict[str, Any]) -> tuple[str, str, str]:
    """``(subject, text, html)`` of the e-mail for ``event`` (a document with ``url``)."""
    env = _templates()
    title = env.get_template("title.txt").render(event).strip()
    context = {**event, "title": title}
    subject = env.get_template("subject.txt").render(context).strip()
    return (
        subject,
        env.get_template("body.txt").render(context),
        env.get_template("body.html").render(context),
    )


class EmailChannel:
    """Sends e-mail deliveries through the server of the ``smtp`` section."""

    name = EMAIL

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._ssl_context = ssl_context
        """Trust for TLS and STARTTLS; None: the system's certificate authorities."""

    def max_attempts(self, target: str) -> int:
        return self._settings.max_attempts

    def longest_try(self) -> timedelta:
        return SMTP_STEPS * self._settings.timeout

    def send(self, job: DeliveryJob) -> str | None:
        message = self.message(job)
        client = self._connect()
        try:
            refused = self._deliver(client, message, list(job.recipients))
        finally:
            _close(client)
        if refused:
            return "refused by the server: " + ", ".join(sorted(refused))
        return None

    def message(self, job: DeliveryJob) -> EmailMessage:
        """The message ``job`` sends."""
        subject, text, html = render_email(job.payload)
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self._settings.mail_from
        message["To"] = ", ".join(job.recipients)
        message["Date"] = format_datetime(self._clock())
        message["Message-ID"] = f"<{job.event_id}@loom.alerts>"
        message["X-Loom-Event"] = job.event_type
        message["X-Loom-Event-Id"] = job.event_id
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        timeout = s.timeout.total_seconds()
        try:
            if s.ssl:
                return smtplib.SMTP_SSL(s.host, s.port, timeout=timeout, context=self._context())
            return smtplib.SMTP(s.host, s.port, timeout=timeout)
        except smtplib.SMTPResponseException as exc:  # it answered the greeting with an error
            raise _reply_failure(exc) from exc
        except ssl.SSLError as exc:  # reached, but TLS failed: likely a certificate problem
            raise DeliveryError(
                f"TLS with SMTP server {s.host}:{s.port} failed: {describe(exc)}",
                FailureKind.TRANSIENT,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"cannot reach SMTP server {s.host}:{s.port}: {describe(exc)}",
                FailureKind.UNREACHABLE,
            ) from exc

    def _deliver(
        self, client: smtplib.SMTP, message: EmailMessage, recipients: list[str]
    ) -> dict[str, Any]:
        s = self._settings
        try:
            if s.starttls and not s.ssl:
                client.starttls(context=self._context())
            if s.user:
                client.login(s.user, s.password)
            return dict(client.send_message(message, from_addr=s.mail_from, to_addrs=recipients))
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(
                f"every recipient refused: {_recipients(exc.recipients)}", FailureKind.PERMANENT
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:  # STARTTLS or AUTH missing: configuration
            raise DeliveryError(f"SMTP server: {exc}", FailureKind.PERMANENT) from exc
        except smtplib.SMTPResponseException as exc:
            raise _reply_failure(exc) from exc
        except (smtplib.SMTPException, OSError) as exc:  # dropped connection, read timeout
            raise DeliveryError(f"SMTP: {describe(exc)}", FailureKind.TRANSIENT) from exc

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()


def _reply_failure(exc: smtplib.SMTPResponseException) -> DeliveryError:
    reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
    kind = FailureKind.PERMANENT if exc.smtp_code >= 500 else FailureKind.TRANSIENT
    return DeliveryError(f"SMTP server replied {exc.smtp_code} {reply}".strip(), kind)


def _recipients(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{address} ({code} {reply.decode(errors='replace')})"
        for address, (code, reply) in sorted(refused.items())
    )


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):  # the message is sent; a rude goodbye is fine
        client.close()
