"""A report run on weekday mornings in Berlin, or by hand through its trigger form.

The params become the form on the DAG's Trigger page: a select with labels, a date picker,
a bounded number, a multi-line note and a JSON field, grouped in sections.
"""

from __future__ import annotations

import json
from typing import Any

import pendulum

from engine import DAG, CronTriggerTimetable, Param, task

with DAG(
    "trigger_form",
    schedule=CronTriggerTimetable("30 6 * * 1-5", timezone="Europe/Berlin"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Berlin"),
    catchup=False,
    tags=["example", "params", "timetables"],
    params={
        "region": Param(
            "eu",
            type="string",
            enum=["eu", "us", "apac"],
            values_display={"eu": "Europe", "us": "United States", "apac": "Asia-Pacific"},
            title="Region",
            section="What",
        ),
        "day": Param(
            "2026-01-05", type="string", format="date", title="Report day", section="What"
        ),
        "top": Param(
            10, type="integer", minimum=1, maximum=100, title="Rows to show", section="How"
        ),
        "note": Param(
            None,
            type=["string", "null"],
            format="multiline",
            title="Note",
            description_md="Printed **above** the report; leave empty for none.",
            section="How",
        ),
        "filters": Param({}, type="object", title="Extra filters (JSON)", section="How"),
    },
) as trigger_form:

    @task
    def report(params: dict[str, Any]) -> dict[str, Any]:
        if params["note"]:
            print(params["note"])
        print(f"top {params['top']} for {params['region']} on {params['day']}")
        print(f"filters: {json.dumps(params['filters'])}")
        return {"region": params["region"], "rows": params["top"]}

    report()
