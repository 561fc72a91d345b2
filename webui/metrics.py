"""The webserver's Prometheus metrics at /metrics: requests by endpoint and status, latency.

Under gunicorn (``loom webserver``) every worker process counts into the multiprocess
directory the master set up, and whichever worker answers /metrics adds them all up;
a worker that exits is marked dead so its gauges go. Elsewhere (``loom standalone``,
tests) each app counts into a registry of its own.
"""

from __future__ import annotations

import os

from flask import Flask, Request
from prometheus_client import CollectorRegistry
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

from engine.metrics.exposition import MULTIPROC_ENV

METRICS_PATH = "/metrics"


def path(request: Request) -> str:
    """The route a request matched (``/api/v2/dags/<dag_id>``), never the raw path: the
    label stays bounded however many DAGs and runs there are."""
    return request.url_rule.rule if request.url_rule is not None else "<unmatched>"


def init_app(app: Flask) -> None:
    if os.environ.get(MULTIPROC_ENV):
        GunicornInternalPrometheusMetrics(app, path=METRICS_PATH, group_by=path)
    else:
        PrometheusMetrics(app, path=METRICS_PATH, group_by=path, registry=CollectorRegistry())
