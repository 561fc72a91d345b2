"""Who hears about what: task and DAG settings, loom.yaml defaults, webhook filters."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import DAG, EmptyOperator
from engine.authoring.serialization import SerializedDAG
from engine.authoring.validation import check_dag
from engine.config import load_settings
from engine.delivery.notifications import EventType
from engine.delivery.notifications.routing import (
    PlannedDelivery,
    Route,
    Router,
    run_route,
    task_route,
)
from engine.errors import ConfigError
from tests.engine.notifications.conftest import alert_settings

E = EventType


def serialized(**dag_kwargs: Any) -> SerializedDAG:
    task_kwargs = dag_kwargs.pop("task", {})
    with DAG("etl", **dag_kwargs) as dag:
        EmptyOperator(task_id="extract", **task_kwargs)
    check_dag(dag)
    return SerializedDAG.from_dict(SerializedDAG.from_dag(dag).to_dict())


def test_task_events_follow_the_email_flags_and_success_is_opt_in() -> None:
    task = serialized(task={"email": "owner@x.io", "notify": ["ops"]}).tasks["extract"]
    assert task_route(task, E.TASK_FAILED) == Route(("owner@x.io",), ("ops",))
    assert task_route(task, E.TASK_RETRYING) == Route(("owner@x.io",), ("ops",))
    assert task_route(task, E.TASK_DEADLINE_MISSED) == Route(("owner@x.io",), ("ops",))
    assert task_route(task, E.DEAD_LETTER_CREATED) == Route((), ("ops",))  # not mailed twice
    assert task_route(task, E.TASK_SUCCEEDED) is None  # nobody opted in: nothing is written

    quiet = serialized(task={"email_on_retry": False, "email_on_failure": False}).tasks["extract"]
    assert task_route(quiet, E.TASK_RETRYING) == Route((), None)  # webhooks: the defaults
    loud = serialized(task={"email_on_success": True, "notify_on_success": True})
    assert task_route(loud.tasks["extract"], E.TASK_SUCCEEDED) == Route(None, None)


def test_dag_settings_route_run_events_and_are_the_tasks_defaults() -> None:
    dag = serialized(email=["dag@x.io"], notify="ops", email_on_retry=False, deadline=timedelta(1))
    assert run_route(dag, E.DAG_RUN_FAILED) == Route(("dag@x.io",), ("ops",))
    assert run_route(dag, E.DAG_RUN_DEADLINE_MISSED) == Route(("dag@x.io",), ("ops",))
    assert run_route(dag, E.DAG_RUN_SUCCEEDED) is None
    task = dag.tasks["extract"]
    assert (task.email, task.notify, task.email_on_retry) == (("dag@x.io",), ("ops",), False)
    assert dag.deadline == timedelta(days=1)

    from_default_args = serialized(default_args={"email": "da@x.io"}, email_on_success=True)
    assert run_route(from_default_args, E.DAG_RUN_SUCCEEDED) == Route(("da@x.io",), ())
    own = serialized(email="dag@x.io", task={"email": "task@x.io"})
    assert own.tasks["extract"].email == ("task@x.io",)
    assert own.email == ("dag@x.io",)


def test_bad_alert_settings_are_dag_problems() -> None:
    from engine.errors import DagValidationError

    with pytest.raises(DagValidationError) as caught:
        serialized(deadline=5, task={"deadline": timedelta(0), "notify": [3]})
    text = str(caught.value)
    assert "deadline must be a positive timedelta, got 5" in text
    assert "deadline must be positive" in text
    assert "notify must be a string or a list of non-empty strings" in text


def test_the_router_fills_in_defaults_and_filters_webhooks(tmp_path: Path) -> None:
    settings = alert_settings(
        "sqlite:///x.db",
        tmp_path,
        smtp={"host": "mail.x.io"},
        webhooks={
            "ops": {"url": "https://ops.x.io/hook"},
            "Pager": {"url": "https://pager.x.io", "events": ["task.failed", "dag_run.failed"]},
        },
        alerts={"email": ["oncall@x.io"], "notify": ["pager"]},
    )
    router = Router(settings)

    assert router.plan("task.failed", Route(None, None)) == [
        PlannedDelivery("email", "smtp", ("oncall@x.io",)),
        PlannedDelivery("webhook", "Pager"),  # any case, as LOOM__WEBHOOKS__PAGER__... names it
    ]
    assert router.plan("task.retrying", Route(("a@x.io", "b@x.io", "a@x.io"), None)) == [
        PlannedDelivery("email", "smtp", ("a@x.io", "b@x.io"))  # pager wants no retries
    ]
    assert router.plan("task.failed", Route((), ("ops", "OPS", "pager"))) == [
        PlannedDelivery("webhook", "ops"),
        PlannedDelivery("webhook", "Pager"),
    ]
    [unknown] = router.plan("task.failed", Route((), ("typo",)))
    assert unknown.error is not None
    assert "no webhook named 'typo'" in unknown.error
    assert "Pager, ops" in unknown.error
    no_smtp = Router(alert_settings("sqlite:///x.db", tmp_path, alerts={"email": ["o@x.io"]}))
    assert no_smtp.plan("task.failed", Route(None, None)) == []


def test_configuration_checks_event_names_and_addresses(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {
                "LOOM__WEBHOOKS__OPS__URL": "https://ops.x.io",
                "LOOM__WEBHOOKS__OPS__EVENTS": "task.failed, task.exploded",
                "LOOM__ALERTS__EMAIL": "oncall",
            },
            cwd=tmp_path,
        )
    lines = str(caught.value).splitlines()
    assert any(
        "webhooks.ops.events must be a list of event names from task.failed," in line
        for line in lines
    )
    assert any("alerts.email must be a list of e-mail addresses" in line for line in lines)
    settings = load_settings(
        {"LOOM__ALERTS__EMAIL": "a@x.io, b@x.io", "LOOM__ALERTS__NOTIFY": "ops"}, cwd=tmp_path
    )
    assert (settings.alerts.email, settings.alerts.notify) == (["a@x.io", "b@x.io"], ["ops"])


def test_dags_serialized_before_alerts_existed_still_load() -> None:
    data = SerializedDAG.from_dag(_plain_dag()).to_dict()
    for key in ("email", "email_on_failure", "email_on_success", "notify", "notify_on_success"):
        del data[key]
    del data["deadline"]
    for task in data["tasks"]:
        for key in ("email_on_success", "notify", "notify_on_success", "deadline"):
            del task[key]

    dag = SerializedDAG.from_dict(data)

    assert (dag.email, dag.notify, dag.deadline, dag.email_on_failure) == ((), (), None, True)
    task = dag.tasks["extract"]
    assert (task.notify, task.deadline, task.email_on_success) == ((), None, False)


def _plain_dag() -> DAG:
    with DAG("etl") as dag:
        EmptyOperator(task_id="extract")
    return dag
