"""Airflow's macros and context keys, as templates and Python callables see them."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import dateutil
import pendulum
import pytest

from engine import DAG, BashOperator
from engine.authoring.macros import (
    datetime_diff_for_humans,
    ds_add,
    ds_format,
    ds_format_locale,
)
from engine.authoring.templating import render_value
from engine.execution.context import (
    PreviousRun,
    RunInfo,
    TaskInstanceHandle,
    build_context,
)
from engine.execution.xcoms import MemoryXComStore

LOGICAL = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def context(previous: Any = None, **run: Any) -> dict[str, Any]:
    with DAG("d") as dag:
        BashOperator(task_id="t", bash_command="true")
    info = RunInfo(
        "d", "manual__1", LOGICAL, LOGICAL - timedelta(days=1), LOGICAL, conf={"a": 1}, **run
    )
    ti = TaskInstanceHandle("d", "manual__1", "t", 1, 1, MemoryXComStore())
    return build_context(
        dag=dag, task=dag.get_task("t"), run=info, ti=ti, params={"p": 2}, previous_success=previous
    )


def render(text: str, ctx: dict[str, Any] | None = None) -> Any:
    return render_value(text, ctx or context(), where="f")


def test_ds_add_and_ds_format() -> None:
    assert ds_add("2026-01-05", 5) == "2026-01-10"
    assert ds_add("2026-01-05", -5) == "2025-12-31"
    assert ds_add("2026-01-05", 0) == "2026-01-05"
    assert ds_format("2026-01-05", "%Y-%m-%d", "%m-%d-%y") == "01-05-26"
    assert ds_format("1/5/2026", "%m/%d/%Y", "%Y-%m-%d") == "2026-01-05"
    assert render("{{ macros.ds_add(ds, 7) }}") == "2026-03-11"
    assert render("{{ macros.ds_format(ds, '%Y-%m-%d', '%d.%m.%Y') }}") == "04.03.2026"


def test_ds_format_locale_writes_a_unicode_pattern_in_a_locale() -> None:
    assert ds_format_locale("2026-01-05", "%Y-%m-%d", "EEEE d MMMM", "fr_FR") == "lundi 5 janvier"
    assert ds_format_locale("05.01.2026", "%d.%m.%Y", "EEEE, d. MMMM y", "de_DE") == (
        "Montag, 5. Januar 2026"
    )
    assert ds_format_locale("2026-01-05", "%Y-%m-%d", "MMM d, y", "en_US") == "Jan 5, 2026"
    spanish = render("{{ macros.ds_format_locale(ds, '%Y-%m-%d', 'EEEE', 'es_ES') }}")
    assert spanish == "miércoles"


def test_ds_format_locale_refuses_an_unknown_locale() -> None:
    from babel.core import UnknownLocaleError

    with pytest.raises(UnknownLocaleError, match="unknown locale 'xx_YY'"):
        ds_format_locale("2026-01-05", "%Y-%m-%d", "EEEE", "xx_YY")


def test_datetime_diff_for_humans() -> None:
    since = datetime(2026, 1, 10, tzinfo=UTC)
    assert datetime_diff_for_humans(datetime(2026, 1, 8, tzinfo=UTC), since) == "2 days before"
    assert datetime_diff_for_humans(datetime(2026, 1, 10, 3, tzinfo=UTC), since) == (
        "3 hours after"
    )
    assert datetime_diff_for_humans(pendulum.now("UTC").subtract(days=3)) == "3 days ago"
    assert render("{{ macros.datetime_diff_for_humans(data_interval_start, logical_date) }}") == (
        "1 day before"
    )


def test_the_library_macros_are_airflows() -> None:
    macros = context()["macros"]
    assert macros.datetime is datetime
    assert macros.timedelta is timedelta
    assert macros.dateutil is dateutil
    assert macros.time is time
    assert macros.uuid is uuid
    assert macros.json is json
    assert 0 <= macros.random() < 1
    assert render("{{ macros.dateutil.relativedelta.relativedelta(months=1) }}") == (
        "relativedelta(months=+1)"
    )
    assert render("{{ (macros.datetime(2026, 1, 1) + macros.timedelta(days=1)).day }}") == "2"
    assert len(render("{{ macros.uuid.uuid4() }}")) == 36
    assert render("{{ macros.json.dumps({'a': 1}) }}") == '{"a": 1}'
    assert float(render("{{ macros.time.time() }}")) > 0
    assert render("{{ macros.yaml.safe_dump({'a': 1}) }}") == "a: 1\n"


def test_the_context_keys_airflow_3_gives() -> None:
    ctx = context()
    assert ctx["ds"] == "2026-03-04"
    assert ctx["ds_nodash"] == "20260304"
    assert ctx["ts"] == "2026-03-04T05:06:07+00:00"
    assert ctx["ts_nodash"] == "20260304T050607"
    assert ctx["ts_nodash_with_tz"] == "20260304T050607+0000"
    assert ctx["task_instance_key_str"] == "d__t__20260304"
    for key in ("logical_date", "data_interval_start", "data_interval_end"):
        assert isinstance(ctx[key], pendulum.DateTime)
    assert ctx["data_interval_start"] == LOGICAL - timedelta(days=1)
    assert ctx["ti"] is ctx["task_instance"]
    assert ctx["task"].task_id == "t"
    assert ctx["run_id"] == ctx["dag_run"].run_id == "manual__1"
    assert ctx["params"] == {"p": 2}
    assert render("{{ logical_date.add(days=1) | ds }} {{ dag_run.logical_date | ts_nodash }}") == (
        "2026-03-05 20260304T050607"
    )
    assert render("{{ data_interval_end | ts_nodash_with_tz }} {{ logical_date | ds_nodash }}") == (
        "20260304T050607+0000 20260304"
    )


def test_prev_success_keys_are_none_without_an_earlier_run() -> None:
    ctx = context()
    for key in (
        "prev_data_interval_start_success",
        "prev_data_interval_end_success",
        "prev_start_date_success",
        "prev_end_date_success",
    ):
        assert ctx[key] is None
    assert render("{{ prev_start_date_success }}", ctx) == "None"


def test_prev_success_keys_are_looked_up_once_and_only_when_used() -> None:
    calls: list[int] = []
    earlier = datetime(2026, 3, 3, tzinfo=UTC)

    def lookup() -> PreviousRun:
        calls.append(1)
        return PreviousRun(
            earlier - timedelta(days=1), earlier, earlier, earlier + timedelta(hours=1)
        )

    ctx = context(previous=lookup)
    assert render("{{ ds }}", ctx) == "2026-03-04"
    assert calls == []  # unused: never looked up
    text = "{{ prev_data_interval_start_success | ds }} {{ prev_data_interval_end_success | ds }}"
    assert render(text, ctx) == "2026-03-02 2026-03-03"
    assert render("{{ prev_end_date_success.hour }} {{ prev_start_date_success | ts }}", ctx) == (
        "1 2026-03-03T00:00:00+00:00"
    )
    assert calls == [1]
