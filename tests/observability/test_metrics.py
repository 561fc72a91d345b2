"""Every process's /metrics, scraped live from a real deployment and checked by promtool."""

from __future__ import annotations

import urllib.request

import pytest
import yaml

from tests.deploy import test_grafana as grafana
from tests.deploy.promql import metric_names
from tests.deploy.tools import DEPLOY
from tests.observability.conftest import Deployment, check_metrics, samples, value
from tests.support.processes import wait_until

ALERT_RULES = DEPLOY / "prometheus" / "rules" / "loom-alerts.yml"

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


@pytest.mark.parametrize("process", ["webserver", "scheduler", "worker", "notifier"])
def test_promtool_accepts_each_endpoint(
    deployment: Deployment, finished_run: str, process: str
) -> None:
    exposition = deployment.scrape(process)
    checked = check_metrics(exposition)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "# TYPE" in exposition


def test_promtool_rejects_a_broken_exposition() -> None:
    """The check above can fail: promtool really reads what it is given."""
    checked = check_metrics("# TYPE loom_x counter\nloom_x{a=b} one\n")
    assert checked.returncode != 0


def test_worker_counts_the_tries_of_its_forked_work_horses(
    deployment: Deployment, finished_run: str
) -> None:
    exposition = deployment.scrape("worker")
    # Each try ran in a forked work horse: the counts reach the worker's endpoint anyway.
    assert value(exposition, "loom_task_attempts_total", outcome="success") == 2
    assert value(exposition, "loom_task_attempts_total", outcome="failed") == 1
    assert value(exposition, "loom_task_duration_seconds_count") == 3
    assert value(exposition, "loom_scheduling_delay_seconds_count") == 3
    assert value(exposition, "loom_queue_depth", queue="loom.default") == 0


def test_scheduler_reports_the_state_of_the_deployment(
    deployment: Deployment, finished_run: str
) -> None:
    exposition = deployment.scrape("scheduler")
    assert value(exposition, "loom_dag_runs", state="failed") == 1
    assert value(exposition, "loom_dag_runs", state="success") == 0
    assert value(exposition, "loom_task_instances", state="success") == 2
    assert value(exposition, "loom_task_instances", state="failed") == 1
    assert value(exposition, "loom_dead_letters", state="pending") == 1
    assert value(exposition, "loom_parse_errors") == 0
    assert value(exposition, "loom_scheduler_tick_duration_seconds_count") > 0
    assert value(exposition, "loom_state_read_ok", source="database") == 1
    assert value(exposition, "loom_state_read_ok", source="redis") == 1


def test_webserver_adds_up_its_gunicorn_workers(deployment: Deployment) -> None:
    health = deployment.endpoints["webserver"].replace("/metrics", "/api/v2/monitor/health")
    before = value(
        deployment.scrape("webserver"),
        "flask_http_request_duration_seconds_count",
        path="/api/v2/monitor/health",
    )
    for _ in range(20):  # a new connection each: both gunicorn workers answer some
        with urllib.request.urlopen(health, timeout=10) as reply:
            assert reply.status == 200
    after = value(
        deployment.scrape("webserver"),
        "flask_http_request_duration_seconds_count",
        path="/api/v2/monitor/health",
    )
    assert after - before == 20


def test_notifier_counts_its_deliveries(deployment: Deployment, finished_run: str) -> None:
    def delivered() -> float:
        exposition = deployment.scrape("notifier")
        return value(
            exposition, "loom_notification_deliveries_total", channel="webhook", outcome="delivered"
        )

    # The failed try, its dead letter and the failed run: three events for the webhook.
    assert wait_until(lambda: delivered() >= 3, 30, what="three webhook deliveries")
    assert value(deployment.scrape("notifier"), "loom_notification_deliveries_total",
                 outcome="given_up") == 0  # fmt: skip


def test_every_metric_the_dashboard_and_alerts_use_is_on_a_live_endpoint(
    deployment: Deployment, finished_run: str
) -> None:
    """The Grafana dashboard and the alert rules query series Loom really serves."""
    wait_until(
        lambda: value(deployment.scrape("notifier"), "loom_notification_deliveries_total") > 0,
        30,
        what="a notification delivery",
    )
    served = {
        name
        for process in deployment.endpoints
        for name, _labels in samples(deployment.scrape(process))
    }
    rules = yaml.safe_load(ALERT_RULES.read_text())
    queries = [*grafana.exprs(), *(r["expr"] for g in rules["groups"] for r in g["rules"])]
    used = {name for query in queries for name in metric_names(query)} - {"up"}
    assert used, "no metric names found in the dashboard and rules"
    assert used - served == set(), "used by the dashboard or alerts but served by no process"
