"""Serving a process's metrics on its own port, for ``loom scheduler``, ``worker``, ``notifier``.

A process that does its work in child processes (RQ's work horses, the worker
supervisor's children) counts in prometheus_client's multiprocess mode: each process
writes its samples to files in one directory, and the endpoint adds them up.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass
class MetricsEndpoint:
    """A running /metrics server; ``port`` is the one bound (useful when 0 was asked)."""

    server: WSGIServer
    thread: Thread
    port: int

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def use_multiprocess_dir(prefix: str) -> str:
    """Count in multiprocess mode from now on (this process and the ones it starts).

    Call it before any child starts; it must run before :mod:`engine.metrics.instruments`
    is imported by this process. Keeps an existing ``PROMETHEUS_MULTIPROC_DIR``.
    """
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        directory = tempfile.mkdtemp(prefix=f"loom-{prefix}-metrics-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        os.environ[MULTIPROC_ENV] = directory
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]  # in case prometheus_client was imported before
    return directory


def serve_metrics(
    *, host: str, port: int, collectors: Iterable[Collector] = ()
) -> MetricsEndpoint | None:
    """Serve what this process counts, plus ``collectors``, on ``host:port`` at any path.

    A port that cannot be bound (a second scheduler on the same machine) is logged and
    the process runs on without an endpoint: metrics never stop the work.
    """
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward(REGISTRY))
    for collector in collectors:
        registry.register(collector)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        logger.warning("metrics not served: cannot listen on %s:%s (%s)", host, port, exc)
        return None
    bound = int(server.server_address[1])
    logger.info("metrics on http://%s:%s/metrics", host, bound)
    return MetricsEndpoint(server=server, thread=thread, port=bound)


class _Forward(Collector):
    """Everything another registry holds (the default one, with this process's counts)."""

    def __init__(self, source: CollectorRegistry) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        yield from self._source.collect()
