"""RabbitMQ for dead letters: a durable fanout exchange bound to a durable queue.

Topology (declared idempotently on every new connection)::

    exchange loom.dlx (fanout, durable) ──► queue loom.dead_letters (durable)
                                       └──► any queue another system binds to it

Messages are JSON (``content_type`` ``application/json``), persistent
(``delivery_mode`` 2), published with publisher confirms, and carry the dead letter's
id as ``message_id``; consumers deduplicate by it, since delivery is at least once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPConnectionError, AMQPError

from engine.delivery.errors import DeliveryError, FailureKind, describe

logger = logging.getLogger(__name__)

DEFAULT_EXCHANGE = "loom.dlx"
DEFAULT_QUEUE = "loom.dead_letters"
ROUTING_KEY = "dead_letter"
"""Routing key of every message (a fanout exchange ignores it; consumers may read it)."""

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for the broker when connecting or on a socket operation."""

MAX_SCAN = 100_000
""":meth:`RabbitPublisher.remove_message` looks at no more messages than this."""

T = TypeVar("T")


def declare_topology(channel: BlockingChannel, *, exchange: str, queue: str) -> None:
    """Declare the durable exchange and queue and bind them (a no-op when they exist)."""
    channel.exchange_declare(exchange=exchange, exchange_type="fanout", durable=True)
    channel.queue_declare(queue=queue, durable=True)
    channel.queue_bind(queue=queue, exchange=exchange, routing_key=ROUTING_KEY)


class RabbitPublisher:
    """Publishes dead letters to RabbitMQ and removes them again; one connection, reused.

    Every AMQP or socket failure closes the connection and raises :class:`DeliveryError`
    (after one retry on a fresh connection when a reused one had gone stale), so the
    relay records a failed attempt; the next call connects again.
    """

    def __init__(
        self,
        amqp_url: str,
        *,
        exchange: str = DEFAULT_EXCHANGE,
        queue: str = DEFAULT_QUEUE,
    ) -> None:
        self.amqp_url = amqp_url
        self.exchange = exchange
        self.queue = queue
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def publish(self, dead_letter_id: int, message: Mapping[str, Any]) -> None:
        """Publish ``message`` persistently; returns once the broker confirmed it."""
        body = json.dumps(message, sort_keys=True).encode()
        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=str(dead_letter_id),
            type="loom.dead_letter",
        )

        def send(channel: BlockingChannel) -> None:
            channel.basic_publish(
                exchange=self.exchange,
                routing_key=ROUTING_KEY,
                body=body,
                properties=properties,
                mandatory=True,
            )

        self._with_channel(send, f"publish dead letter {dead_letter_id}")
        logger.info("dead letter %s published to %s", dead_letter_id, self.exchange)

    def remove_message(self, dead_letter_id: int) -> bool:
        """Remove every message of dead letter ``dead_letter_id`` from the queue.

        Takes the messages one by one (``basic_get``), acknowledges those whose
        ``message_id`` matches and, at the end, requeues all others at once, so that they
        keep their order. Returns whether any message matched.
        """
        found = self._with_channel(
            lambda channel: self._remove(channel, str(dead_letter_id)),
            f"remove dead letter {dead_letter_id}",
        )
        logger.info("dead letter %s removed from %s: %s", dead_letter_id, self.queue, found)
        return found

    def close(self) -> None:
        """Close the connection, if open; the next call opens a new one."""
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except (AMQPError, OSError):
                logger.debug("closing the AMQP connection failed", exc_info=True)

    def _remove(self, channel: BlockingChannel, message_id: str) -> bool:
        found = False
        held: list[int] = []
        try:
            for _ in range(MAX_SCAN):
                method, properties, _body = channel.basic_get(queue=self.queue, auto_ack=False)
                if method is None:
                    break
                if properties.message_id == message_id:
                    channel.basic_ack(delivery_tag=method.delivery_tag)
                    found = True
                else:
                    held.append(method.delivery_tag)
        finally:
            if held and channel.is_open:
                channel.basic_nack(delivery_tag=held[-1], multiple=True, requeue=True)
        return found

    def _with_channel(self, operation: Callable[[BlockingChannel], T], what: str) -> T:
        reused = self._channel is not None
        try:
            return operation(self._open_channel())
        except (AMQPError, OSError) as exc:
            self.close()
            if not reused:
                raise self._failure(what, exc) from exc
            logger.info("AMQP connection went stale (%s); reconnecting", describe(exc))
        try:
            return operation(self._open_channel())
        except (AMQPError, OSError) as exc:
            self.close()
            raise self._failure(what, exc) from exc

    def _failure(self, what: str, exc: AMQPError | OSError) -> DeliveryError:
        unreachable = isinstance(exc, AMQPConnectionError | OSError)
        kind = FailureKind.UNREACHABLE if unreachable else FailureKind.TRANSIENT
        return DeliveryError(f"{what} via {self._safe_url()}: {describe(exc)}", kind)

    def _open_channel(self) -> BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self.close()
        self._connection = pika.BlockingConnection(_parameters(self.amqp_url))
        channel = self._connection.channel()
        channel.confirm_delivery()
        declare_topology(channel, exchange=self.exchange, queue=self.queue)
        self._channel = channel
        return channel

    def _safe_url(self) -> str:
        params = _parameters(self.amqp_url)
        return f"amqp://{params.host}:{params.port}{params.virtual_host}"


def _parameters(amqp_url: str) -> pika.URLParameters:
    params = pika.URLParameters(amqp_url)
    params.connection_attempts = 1
    params.socket_timeout = CONNECT_TIMEOUT
    params.stack_timeout = CONNECT_TIMEOUT * 2
    params.blocked_connection_timeout = CONNECT_TIMEOUT * 6
    return params
