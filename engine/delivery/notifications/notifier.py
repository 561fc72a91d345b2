"""The notifier: turns alert events from the outbox into e-mails and webhook calls.

It is a :class:`~engine.delivery.dispatcher.Dispatcher` of ``notification`` rows whose
passes work in two steps:

1. **fan out** (:class:`FanOutHandler`) — each due event is planned into deliveries
   (:class:`~engine.delivery.notifications.routing.Router`): one
   ``notification_delivery`` row per (event, channel, target), inserted in the
   transaction that marks the outbox row delivered. A unique key on the triple makes a
   second fan-out impossible.
2. **send** (:class:`ChannelSender`) — up to ``alerts.concurrency`` deliveries at once,
   each in a thread of a small pool, at most one per target (channel and name) so that a
   slow receiver holds up only its own queue: claim a delivery (a lease, committed),
   send it outside any transaction, then record the outcome with a compare-and-set on
   the claim: ``delivered``; pending again with exponential backoff; or ``failed``
   (given up). After a failure that says the receiver is down or overloaded, that
   target's other deliveries wait for the same retry time instead of each costing a
   timeout.

Guarantees: a delivery recorded ``delivered`` is never sent again, across restarts and
replicas. A notifier that dies between the receiver's acknowledgement and the record
sends that one delivery again when its lease runs out (at least once); receivers drop
the copy by its event id (``X-Loom-Event-Id`` / ``Idempotency-Key``, e-mail
``Message-ID``). The notifier runs in its own process (``loom notifier``) or thread
(``loom standalone``): a slow or failing channel never holds up the scheduler or the
workers, which only write outbox rows.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings
from engine.config.masking import MaskUrls, mask_urls_in
from engine.delivery.dispatcher import (
    ClaimedMessage,
    Clock,
    Dispatcher,
    DispatchReport,
)
from engine.delivery.errors import DeliveryError, FailureKind
from engine.delivery.notifications.channels import Channel
from engine.delivery.notifications.deliveries import (
    DeliveryJob,
    add_deliveries,
    claim_next,
    hold_target,
    record_delivered,
    record_given_up,
    record_retry,
)
from engine.delivery.notifications.email import EmailChannel
from engine.delivery.notifications.events import with_url
from engine.delivery.notifications.routing import Route, Router
from engine.delivery.notifications.webhook import WebhookChannel
from engine.delivery.outbox import backoff
from engine.metrics import instruments
from engine.models import OutboxKind
from engine.timeutil import utcnow

logger = logging.getLogger(__name__)
logger.addFilter(MaskUrls(hide_paths=True))  # failures and tracebacks may name a webhook URL

CLAIM_MARGIN = timedelta(seconds=30)
"""A claim lasts the longest possible try plus this."""
OUTAGE_BACKOFF_MIN = timedelta(seconds=2)
OUTAGE_BACKOFF_MAX = timedelta(minutes=5)
"""While a receiver cannot be reached, it is probed again after as long as the delivery
has waited so far (so the pauses double), within these bounds."""

Target = tuple[str, str]
"""A (channel, target) pair, such as ``("webhook", "ops")``."""


class FanOutHandler:
    """Plans the deliveries of each ``notification`` row (an alert event)."""

    def __init__(self, *, router: Router, base_url: str) -> None:
        self.router = router
        self.base_url = base_url

    def describe(self, message: ClaimedMessage) -> str:
        event = message.payload.get("event")
        event_id = event.get("event_id") if isinstance(event, dict) else None
        return f"fan out event {event_id}"

    def deliver(self, message: ClaimedMessage) -> str:
        """Nothing leaves Loom here: the deliveries are written by :meth:`record`."""
        return "events"

    def record(
        self, *, session: Session, message: ClaimedMessage, outcome: str, now: datetime
    ) -> dict[str, int]:
        """Insert one delivery per (channel, target) the event's route and settings name."""
        event = with_url(self.base_url, message.payload["event"])
        route = Route.from_dict(message.payload.get("route") or {})
        plans = self.router.plan(event["event_type"], route)
        add_deliveries(session=session, event=event, plans=plans, now=now)
        return {outcome: 1, "planned": len(plans)}

    def close(self) -> None:
        """Channels connect per delivery: nothing stays open."""


class ChannelSender:
    """Sends due deliveries through their channels, ``concurrency`` at once (one per
    target at a time), and records each outcome."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        channels: Mapping[str, Channel],
        concurrency: int = 1,
    ) -> None:
        self.session_factory = session_factory
        self.channels = dict(channels)
        self.concurrency = concurrency
        longest = max((c.longest_try() for c in self.channels.values()), default=timedelta(0))
        self.lease = CLAIM_MARGIN + longest
        self._lock = threading.Lock()
        """Guards the pass's report and failed targets, which sending threads update."""

    def run(self, current: Clock, report: DispatchReport, limit: int) -> None:
        """Try due deliveries until ``report`` counts ``limit`` tries or none is due.

        The calling thread claims; a pool of ``concurrency`` threads sends and records.
        A target with a delivery in flight is skipped when claiming, so its next one
        waits for it (each target's deliveries keep their order) while other targets'
        go ahead. Returns when every delivery it started is recorded.
        """
        failed_targets: set[Target] = set()
        busy: dict[Future[None], Target] = {}
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="loom-notify") as pool:
            while True:
                job = self._next(current, report, limit, failed_targets, busy)
                if job is not None:
                    sent = pool.submit(self._deliver, job, current, report, failed_targets)
                    busy[sent] = (job.channel, job.target)
                    continue
                if not busy:
                    return
                done, _ = wait(busy, return_when=FIRST_COMPLETED)
                for future in done:
                    del busy[future]
                    future.result()  # a database error while recording ends the pass

    def _next(
        self,
        current: Clock,
        report: DispatchReport,
        limit: int,
        failed_targets: set[Target],
        busy: Mapping[Future[None], Target],
    ) -> DeliveryJob | None:
        """The next delivery to start, claimed; None when the pool is full, the pass has
        tried ``limit``, or none is due outside the failed and busy targets."""
        with self._lock:
            if len(busy) >= self.concurrency or report.tried + len(busy) >= limit:
                return None
            skip = failed_targets | set(busy.values())
        return self._claim(current(), skip)

    def _claim(self, now: datetime, skip: set[Target]) -> DeliveryJob | None:
        with self.session_factory.begin() as session:
            return claim_next(session=session, now=now, until=now + self.lease, skip=skip)

    def _deliver(
        self,
        job: DeliveryJob,
        current: Clock,
        report: DispatchReport,
        failed_targets: set[Target],
    ) -> None:
        channel = self.channels.get(job.channel)
        try:
            if channel is None:
                raise DeliveryError(f"no {job.channel!r} channel", FailureKind.PERMANENT)
            note = channel.send(job)
        except DeliveryError as exc:
            self._record_failure(job, channel, exc, current(), report, failed_targets)
            return
        except Exception as exc:  # a bug in a channel: logged with traceback, then retried
            logger.exception("delivery %s (%s to %s) raised", job.id, job.channel, job.target)
            bug = DeliveryError(f"{type(exc).__name__}: {exc}", FailureKind.TRANSIENT)
            self._record_failure(job, channel, bug, current(), report, failed_targets)
            return
        with self.session_factory.begin() as session:
            won = record_delivered(session=session, job=job, now=current(), note=note)
        self._count(report, "delivered", won, job.channel)
        if won:
            logger.info("event %s (%s) delivered by %s to %s", job.event_id, job.event_type,
                        job.channel, job.target)  # fmt: skip

    def _record_failure(
        self,
        job: DeliveryJob,
        channel: Channel | None,
        failure: DeliveryError,
        now: datetime,
        report: DispatchReport,
        failed_targets: set[Target],
    ) -> None:
        reason = mask_urls_in(str(failure), hide_paths=True)
        logger.warning("event %s (%s) by %s to %s, attempt %s: %s %s", job.event_id,
                       job.event_type, job.channel, job.target, job.attempts + 1,
                       failure.kind, reason)  # fmt: skip
        retry_at = self._retry_at(job, channel, failure, now)
        if retry_at is None:
            error = reason
            if failure.kind is not FailureKind.PERMANENT:
                error += f" (given up after {job.attempts + 1} attempts)"
            with self.session_factory.begin() as session:
                won = record_given_up(session=session, job=job, error=error, now=now)
            self._count(report, "given_up", won, job.channel)
            return
        counted = failure.kind is not FailureKind.UNREACHABLE
        with self.session_factory.begin() as session:
            won = record_retry(
                session=session, job=job, error=reason, retry_at=retry_at, counted=counted
            )
            held = hold_target(
                session=session, channel=job.channel, target=job.target, now=now, until=retry_at
            )
        self._count(report, "retrying", won, job.channel)
        with self._lock:
            report.held += held
            failed_targets.add((job.channel, job.target))

    def _count(self, report: DispatchReport, field: str, won: bool, channel: str) -> None:
        """Count an attempt's outcome in the pass's report and in the process's metrics."""
        name = field if won else "lost"
        with self._lock:
            setattr(report, name, getattr(report, name) + 1)
        instruments.get().notification_deliveries.labels(channel, name).inc()

    def _retry_at(
        self, job: DeliveryJob, channel: Channel | None, failure: DeliveryError, now: datetime
    ) -> datetime | None:
        """When to try again; None: give up."""
        if failure.kind is FailureKind.PERMANENT or channel is None:
            return None
        if failure.kind is FailureKind.UNREACHABLE:
            waited = now - job.created_at
            return now + min(max(waited, OUTAGE_BACKOFF_MIN), OUTAGE_BACKOFF_MAX)
        attempts = job.attempts + 1
        if attempts >= channel.max_attempts(job.target):
            return None
        delay = backoff(attempts)
        if failure.retry_after is not None and failure.retry_after > delay:
            delay = failure.retry_after
        return now + delay


def build_notifier(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    clock: Clock = utcnow,
    smtp_ssl_context: ssl.SSLContext | None = None,
) -> Dispatcher:
    """A dispatcher of ``notification`` rows with the channels and defaults of ``settings``.

    ``smtp_ssl_context`` replaces the system's certificate authorities for SMTP TLS.
    """
    router = Router(settings)
    _warn_about(settings, router)
    channels = _channels(settings, router, clock, smtp_ssl_context)
    logger.info("notifier channels: %s", ", ".join(channels))
    fan_out = FanOutHandler(router=router, base_url=settings.webserver.base_url)
    return Dispatcher(
        name="notifier",
        session_factory=session_factory,
        handlers={OutboxKind.NOTIFICATION: fan_out},
        follow_ups=[
            ChannelSender(
                session_factory=session_factory,
                channels=channels,
                concurrency=settings.alerts.concurrency,
            )
        ],
        clock=clock,
    )


def _channels(
    settings: Settings, router: Router, clock: Clock, smtp_ssl_context: ssl.SSLContext | None
) -> dict[str, Channel]:
    timeouts = [w.timeout for w in settings.webhooks.values()] or [timedelta(seconds=10)]
    return {
        "email": EmailChannel(settings.smtp, clock=clock, ssl_context=smtp_ssl_context),
        "webhook": WebhookChannel(router.webhook, longest_timeout=max(timeouts), clock=clock),
    }


def _warn_about(settings: Settings, router: Router) -> None:
    """Say at start what would otherwise only show as missing alerts."""
    if settings.alerts.email and not settings.smtp.host:
        logger.warning("alerts.email is set but smtp.host is empty: no e-mail will be sent")
    for name in settings.alerts.notify:
        if router.webhook(name) is None:
            logger.warning("alerts.notify names %r, which is not under webhooks", name)
