"""HttpHook, HttpOperator and HttpSensor against a local HTTP service: the base URL from
the connection, basic auth, extra as headers, Airflow's XCom and 404 semantics."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from engine import DAG, Connection, HttpHook, HttpOperator, HttpSensor, task
from engine.errors import HookError
from engine.execution.dagtest import DagTestRun
from engine.hooks.http import base_url
from engine.hooks.registry import test_connection as check_connection
from engine.state import TaskInstanceState as S
from tests.support.httpservice import Received, Service

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def api(service: Service, monkeypatch: pytest.MonkeyPatch) -> Service:
    """Connection ``api``: the service, with a login and a default header in extra."""
    host, port = service.url.removeprefix("http://").split(":")
    conn = {"conn_type": "http", "host": host, "port": port, "login": "bot", "password": "s3cret",
            "extra": {"X-Team": "data"}}  # fmt: skip
    monkeypatch.setenv("LOOM_CONN_API", json.dumps(conn))
    return service


def run(dag: DAG) -> dict[str, tuple[S, str | None]]:
    report = DagTestRun(dag, retry_delay_scale=0, echo=lambda _: None).run()
    return {tid: (r.state, r.error) for tid, r in report.tasks.items()}


def test_base_url_as_airflow_builds_it() -> None:
    assert base_url(Connection("a", conn_type="http", host="api.example")) == "http://api.example"
    assert base_url(Connection("a", uri="http://u:p@api.example:8443/https")) == (
        "https://api.example:8443"
    )
    assert base_url(Connection("a", conn_type="http", host="https://api.example/v1")) == (
        "https://api.example/v1"
    )
    hook = HttpHook(connection=Connection("a", conn_type="http", host="h"))
    hook.get_conn()
    assert [hook.url_from_endpoint(e) for e in ("x", "/x", None)] == ["http://h/x"] * 2 + [
        "http://h"
    ]


def test_hook_signs_in_and_sends_extra_as_headers(api: Service) -> None:
    api.routes["/items?kind=tea"] = (200, "tea list")
    api.routes["/items"] = (201, "made")
    got = HttpHook("GET", http_conn_id="api").run("items", data={"kind": "tea"})
    assert got.text == "tea list"
    made = HttpHook(http_conn_id="api").run("/items", data='{"a": 1}', headers={"X-Req": "1"})
    assert made.status_code == 201
    first, second = api.received
    assert (first.method, second.method, second.body) == ("GET", "POST", '{"a": 1}')
    assert second.headers["Authorization"] == "Basic " + base64.b64encode(b"bot:s3cret").decode()
    assert (second.headers["X-Team"], second.headers["X-Req"]) == ("data", "1")


def test_hook_error_statuses(api: Service) -> None:
    api.routes["/broken"] = (500, "oops")
    with pytest.raises(HookError, match=r"^500:Internal Server Error$") as caught:
        HttpHook("GET", http_conn_id="api").run("broken")
    assert caught.value.status_code == 500
    response = HttpHook("GET", http_conn_id="api").run(
        "broken", extra_options={"check_response": False}
    )
    assert response.text == "oops"


def test_operator_pushes_text_or_filtered_value_and_checks(api: Service) -> None:
    api.routes["/orders"] = (200, json.dumps({"count": 3}))
    seen: dict[str, Any] = {}
    with DAG("http", schedule=None, start_date=START, params={"n": 3}) as dag:
        text = HttpOperator(task_id="text", http_conn_id="api", endpoint="orders", method="GET")
        value = HttpOperator(
            task_id="value",
            http_conn_id="api",
            endpoint="orders",
            data='{"n": {{ params.n }}}',
            headers={"Content-Type": "application/json"},
            response_check=lambda response, params: response.json()["count"] == params["n"],
            response_filter=lambda response: response.json()["count"],
            log_response=True,
        )
        HttpOperator(
            task_id="refused", http_conn_id="api", endpoint="orders", response_check=lambda r: False
        )

        @task
        def record(a: Any, b: Any) -> None:
            seen.update(text=a, value=b)

        record(text.output, value.output)
    states = run(dag)
    assert states["record"] == (S.SUCCESS, None)
    assert seen == {"text": '{"count": 3}', "value": 3}
    assert states["refused"][0] == S.FAILED
    assert "Response check returned False." in (states["refused"][1] or "")
    sent_json = [r for r in api.received if r.headers.get("Content-Type") == "application/json"]
    assert [r.body for r in sent_json] == ['{"n": 3}']


def test_pagination_function_asks_for_pages_until_it_returns_none(api: Service) -> None:
    api.routes["/items?cursor=&size=2"] = (200, json.dumps({"ids": [1, 2], "cursor": "b"}))
    api.routes["/items?cursor=b&size=2"] = (200, json.dumps({"ids": [3], "cursor": ""}))
    seen: dict[str, Any] = {}

    def next_page(response: requests.Response) -> dict[str, Any] | None:
        cursor = response.json()["cursor"]
        return {"data": {"cursor": cursor}} if cursor else None

    with DAG("pages", schedule=None, start_date=START) as dag:
        paged: dict[str, Any] = {"http_conn_id": "api", "endpoint": "items", "method": "GET"}
        texts = HttpOperator(
            task_id="texts", data={"cursor": "", "size": 2}, pagination_function=next_page, **paged
        )
        ids = HttpOperator(
            task_id="ids",
            data={"cursor": "", "size": 2},
            pagination_function=next_page,
            response_filter=lambda pages: [i for page in pages for i in page.json()["ids"]],
            **paged,
        )

        @task
        def record(a: Any, b: Any) -> None:
            seen.update(texts=a, ids=b)

        record(texts.output, ids.output)
    assert run(dag)["record"] == (S.SUCCESS, None)
    assert seen["ids"] == [1, 2, 3]
    assert [json.loads(t)["ids"] for t in seen["texts"]] == [[1, 2], [3]]


def test_sensor_waits_through_404_and_fails_on_other_errors(api: Service) -> None:
    def ready_on_third(request: Received) -> tuple[int, str]:
        asked = [r for r in api.received if r.path == request.path]
        return (200, "ready") if len(asked) >= 3 else (404, "not yet")

    api.routes["/job?id=7"] = ready_on_third
    api.routes["/down"] = (503, "maintenance")
    with DAG("wait_http", schedule=None, start_date=START) as dag:
        HttpSensor(
            task_id="wait",
            http_conn_id="api",
            endpoint="job",
            request_params={"id": "7"},
            response_check=lambda response: response.text == "ready",
            poke_interval=0,
        )
        HttpSensor(task_id="down", http_conn_id="api", endpoint="down", poke_interval=0)
    states = run(dag)
    assert states["wait"] == (S.SUCCESS, None)
    assert [r.path for r in api.received if r.path.startswith("/job")] == ["/job?id=7"] * 3
    assert states["down"][0] == S.FAILED
    assert "503:Service Unavailable" in (states["down"][1] or "")
    assert HttpSensor(task_id="s", http_conn_id="api", endpoint="x").poke({}) is False


def test_connection_test_requests_the_base_url(api: Service) -> None:
    api.routes["/"] = (200, "hello")
    conn = Connection("api", conn_type="http", host=api.url)
    assert check_connection(conn) == (True, "Connection successfully tested")
    assert api.received[-1].method == "GET"
    ok, reason = check_connection(Connection("api", conn_type="http", host=api.url + "/nope"))
    assert (ok, reason) == (False, "HookError: 404:Not Found")
    refused = Connection("api", conn_type="http", host="127.0.0.1", port=1)
    ok, reason = check_connection(refused)
    assert not ok
    assert reason.startswith("ConnectionError")


def test_uri_form_extra_flags_are_booleans(api: Service) -> None:
    api.routes["/"] = (200, "ok")
    conn = Connection("u", uri=f"{api.url}/?verify=false&stream=False&X-Token=abc")
    hook = HttpHook("GET", connection=conn)
    session = hook.get_conn()
    assert (session.verify, session.stream) == (False, False)
    assert session.headers["X-Token"] == "abc"
    assert "verify" not in session.headers


def test_non_string_extra_cannot_be_a_header(api: Service) -> None:
    conn = Connection("j", conn_type="http", host=api.url, extra={"verify": False, "X": {"y": 1}})
    with pytest.raises(HookError, match=r"extra \['X'\] are not strings"):
        HttpHook(connection=conn).run()
    assert requests.get(api.url, timeout=5).status_code == 404  # the service still answers
