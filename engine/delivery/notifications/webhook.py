"""Webhook alerts: a signed JSON ``POST`` per event to each named endpoint.

The request::

    POST <webhooks.<name>.url>
    Content-Type: application/json
    X-Loom-Event: task.failed
    X-Loom-Event-Id: 1f0c...        (also Idempotency-Key: the same on every retry)
    X-Loom-Delivery-Attempt: 1
    X-Loom-Timestamp: 1767225600    (Unix seconds when this try was sent)
    X-Loom-Signature: sha256=<hex>  (only when the webhook has a secret)

    {"schema_version": 1, "event_id": "1f0c...", "event_type": "task.failed", ...}

The signature is ``HMAC-SHA256(secret, f"{timestamp}.".encode() + body)`` in hex: a
receiver recomputes it over the raw body (:func:`verify_signature`), compares in
constant time, and rejects old timestamps to stop replays. The body is the same on
every retry; the timestamp and so the signature are not.

Outcomes: 2xx delivered; 408, 429 (honouring ``Retry-After``), 5xx, a read timeout or a
dropped connection are retried with exponential backoff up to ``max_attempts``; a
refused or timed-out connection is retried until the endpoint is back; any other status
(other 4xx, a redirect, which is not followed) gives up at once.

A webhook URL usually is the credential (Slack's, Teams', a token in the query): failure
messages name the endpoint by scheme and host only (``https://hooks.slack.com/***``), and
the path and query are masked in an excerpt of the receiver's answer too.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from email.message import Message
from typing import Any

from engine.config import WebhookSettings
from engine.config.masking import MASK, mask_url, mask_urls_in
from engine.delivery.errors import DeliveryError, FailureKind
from engine.delivery.notifications.deliveries import DeliveryJob
from engine.delivery.notifications.routing import WEBHOOK
from engine.timeutil import utcnow

logger = logging.getLogger(__name__)

SIGNATURE_PREFIX = "sha256="
DEFAULT_TOLERANCE = timedelta(minutes=5)
"""How old a timestamp :func:`verify_signature` accepts by default."""
MAX_RESPONSE_CHARS = 500
"""``last_error`` keeps at most this much of a refusing response's body."""
RETRYABLE_STATUSES = frozenset({408, 429})
"""4xx answers that mean "not now" rather than "never"."""
MAX_RETRY_AFTER = timedelta(minutes=15)
"""A longer ``Retry-After`` is cut to this."""


def body_of(event: Mapping[str, Any]) -> bytes:
    """The request body: compact JSON with sorted keys, byte-identical on every retry."""
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Loom-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify_signature(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    signature: str,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> bool:
    """True when ``signature`` is ``body``'s signature and ``timestamp`` is recent."""
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    if abs(now.timestamp() - sent) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirected POST would silently become a GET without the body: refuse instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookChannel:
    """Sends webhook deliveries to the endpoints of the ``webhooks`` section."""

    name = WEBHOOK

    def __init__(
        self,
        webhooks: Callable[[str], WebhookSettings | None],
        *,
        longest_timeout: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._webhooks = webhooks
        """Looks a webhook up by name (see :meth:`~.routing.Router.webhook`)."""
        self._longest_timeout = longest_timeout
        self._clock = clock
        self._opener = urllib.request.build_opener(_NoRedirects())

    def max_attempts(self, target: str) -> int:
        webhook = self._webhooks(target)
        return webhook.max_attempts if webhook is not None else 1

    def longest_try(self) -> timedelta:
        return self._longest_timeout * 2  # connect, then the answer

    def send(self, job: DeliveryJob) -> str | None:
        webhook = self._webhooks(job.target)
        if webhook is None:
            raise DeliveryError(
                f"no webhook named {job.target!r} in the configuration any more",
                FailureKind.PERMANENT,
            )
        request = self.request(job, webhook)
        shown = mask_url(webhook.url, hide_path=True)
        try:
            with self._opener.open(request, timeout=webhook.timeout.total_seconds()) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise _status_failure(exc, shown, webhook.url) from exc
        except urllib.error.URLError as exc:
            # No connection (refused, DNS, connect timeout): an outage. A TLS failure is
            # more likely a certificate problem, so it counts against max_attempts.
            kind = (
                FailureKind.TRANSIENT
                if isinstance(exc.reason, ssl.SSLError)
                else FailureKind.UNREACHABLE
            )
            reason = _scrub(str(exc.reason), webhook.url)
            raise DeliveryError(f"cannot reach {shown}: {reason}", kind) from exc
        except (TimeoutError, OSError, http.client.HTTPException) as exc:  # after connecting
            error = _scrub(f"{type(exc).__name__}: {exc}", webhook.url)
            raise DeliveryError(f"{shown}: {error}", FailureKind.TRANSIENT) from exc
        return None

    def request(self, job: DeliveryJob, webhook: WebhookSettings) -> urllib.request.Request:
        """The signed request of ``job``'s next try."""
        body = body_of(job.payload)
        timestamp = str(int(self._clock().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Loom-Notifier/1",
            "X-Loom-Event": job.event_type,
            "X-Loom-Event-Id": job.event_id,
            "Idempotency-Key": job.event_id,
            "X-Loom-Delivery-Attempt": str(job.attempts + 1),
            "X-Loom-Timestamp": timestamp,
        }
        if webhook.secret:
            headers["X-Loom-Signature"] = sign(webhook.secret, timestamp, body)
        return urllib.request.Request(webhook.url, data=body, headers=headers, method="POST")


def _status_failure(exc: urllib.error.HTTPError, shown: str, url: str) -> DeliveryError:
    status = exc.code
    message = f"HTTP {status} from {shown}: {_scrub(_excerpt(exc), url)}".rstrip(": ")
    if status >= 500 or status in RETRYABLE_STATUSES:
        return DeliveryError(message, FailureKind.TRANSIENT, retry_after=_retry_after(exc.headers))
    if 300 <= status < 400:
        message += " (redirects are not followed: configure the final URL)"
    return DeliveryError(message, FailureKind.PERMANENT)


def _scrub(text: str, url: str) -> str:
    """``text`` with URLs masked, and the webhook's own path and query too, should the
    receiver echo them without the host ("no hook /services/T0/B0/XXXX")."""
    text = mask_urls_in(text, hide_paths=True)
    parts = urllib.parse.urlsplit(url)
    tail = parts._replace(scheme="", netloc="").geturl()
    for secret in sorted({tail, parts.path, parts.query}, key=len, reverse=True):
        if secret.strip("/"):
            text = text.replace(secret, MASK)
    return text


def _excerpt(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read(MAX_RESPONSE_CHARS).decode(errors="replace").strip()
    except (OSError, http.client.HTTPException):
        return ""
    finally:
        exc.close()


def _retry_after(headers: Message | None) -> timedelta | None:
    value = headers.get("Retry-After") if headers is not None else None
    if value is None or not value.strip().isdigit():
        return None  # an HTTP date is rare from webhook receivers; the backoff applies
    return min(timedelta(seconds=int(value.strip())), MAX_RETRY_AFTER)
