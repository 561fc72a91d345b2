"""The task instance page shows each try's rendered fields with the operator's renderers,
and XCom values of Python types read plainly in the page and the API."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from engine.authoring.xcomvalues import encode
from engine.models import XCom
from tests.webui.test_ui_runs import EXTRACT_PAGE, html, second_try
from tests.webui.ui import ui_sign_in
from tests.webui.world import T0, app_session

XCOM_API = "/api/v2/dags/example/dagRuns/manual__1/taskInstances/extract/xcomEntries"


def test_each_try_shows_its_own_rendered_fields_labelled_by_renderer(
    app: Flask, client: FlaskClient
) -> None:
    second_try(app)
    ui_sign_in(client, "Viewer")
    latest = html(client, EXTRACT_PAGE)
    assert "As try 2 rendered them." in latest
    assert '<dd data-renderer="bash"><pre class="field">echo extracting 2</pre>' in latest
    assert '<span class="muted renderer">bash</span>' in latest
    first = html(client, f"{EXTRACT_PAGE}?try=1")
    assert '<dd data-renderer="bash"><pre class="field">echo extracting {{ params.n }}' in first


def test_xcom_values_of_python_types_read_plainly(
    app: Flask, client: FlaskClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    with app_session(app) as session:
        session.add(
            XCom(dag_id="example", run_id="manual__1", task_id="extract", key="when",
                 value=encode({"at": T0, "pair": (1, 2)}))
        )  # fmt: skip
    ui_sign_in(client, "Viewer")
    page = html(client, EXTRACT_PAGE)
    assert "&#34;at&#34;: &#34;2026-01-05T00:00:00+00:00&#34;" in page
    assert "__type__" not in page
    reply = client.get(f"{XCOM_API}/when", headers=as_role("Viewer"))
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.get_json()["value"] == {"at": "2026-01-05T00:00:00+00:00", "pair": [1, 2]}
