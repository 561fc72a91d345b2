"""``/api/v2/dagStats`` (each DAG's runs counted by state) and ``/api/v2/dagWarnings``
(DAGs whose tasks name a pool that does not exist), limited to the DAGs the caller may
read.

Loom's own warnings (shell commands built from templated input) use a kind Airflow's
``DagWarningType`` does not have, so the client could not read them: they stay on the UI's
DAG page, and ``/dagWarnings`` reports the kinds Airflow names (docs/decisions.md).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from engine.errors import InvalidInputError
from engine.security.roles import Resource
from engine.services.dagreports import NON_EXISTENT_POOL, missing_pool_warnings, run_counts
from engine.timeutil import utcnow
from webui import db
from webui.api.schemas.common import MAX_LIMIT, DagNameSchema
from webui.api.v2.common import V2PageArgs, order_key, v2_blueprint
from webui.auth import visible_dag_ids

stats = v2_blueprint("dag_stats", "/dagStats", "DagStats", Resource.DAG_RUNS)
warnings = v2_blueprint("dag_warnings", "/dagWarnings", "DagWarning", Resource.DAGS)

WARNING_TYPES = ["asset conflict", NON_EXISTENT_POOL, "runtime varying value"]
"""Airflow's ``DagWarningType``."""
WARNING_ORDER = ("dag_id", "warning_type", "message", "timestamp")


class DagStatsArgs(ma.Schema):
    dag_ids = fields.List(fields.String(validate=validate.Length(max=250)), load_default=None)


class DagStatsStateSchema(ma.Schema):
    state = fields.String(required=True)
    count = fields.Integer(required=True)


class DagStatsSchema(DagNameSchema):
    stats = fields.List(fields.Nested(DagStatsStateSchema), required=True)


@stats.listing("", "dags", DagStatsSchema, query=DagStatsArgs)
def get_dag_stats(args: dict[str, Any]) -> Any:
    """Each DAG with runs (of ``dag_ids``, among those the caller may read): its runs
    counted by state, every state listed."""
    visible = visible_dag_ids()
    wanted = set(args["dag_ids"]) if args["dag_ids"] else None
    dag_ids = wanted if visible is None else (visible if wanted is None else wanted & visible)
    counts = run_counts(session=db.session(), dag_ids=dag_ids)
    dags = [
        {
            "dag_id": dag_id,
            "dag_display_name": dag_id,
            "stats": [{"state": state.value, "count": n} for state, n in per_state.items()],
        }
        for dag_id, per_state in sorted(counts.items())
    ]
    return {"dags": dags, "total_entries": len(dags)}


class DagWarningArgs(V2PageArgs):
    dag_id = fields.String(load_default=None, validate=validate.Length(max=250))
    warning_type = fields.String(load_default=None, validate=validate.OneOf(WARNING_TYPES))


class DagWarningSchema(DagNameSchema):
    warning_type = fields.String(required=True)
    message = fields.String(required=True)
    timestamp = fields.DateTime(required=True)


@warnings.listing("", "dag_warnings", DagWarningSchema, query=DagWarningArgs)
def list_dag_warnings(args: dict[str, Any]) -> Any:
    """Warnings about the DAGs the caller may read (filter by ``dag_id``, ``warning_type``;
    order by dag_id, warning_type, message or timestamp)."""
    dag_ids = visible_dag_ids()
    if args["dag_id"] is not None:
        dag_ids = {args["dag_id"]} if dag_ids is None else {args["dag_id"]} & dag_ids
    found = missing_pool_warnings(session=db.session(), dag_ids=dag_ids, now=utcnow())
    rows = [
        {**asdict(report), "dag_display_name": report.dag_id}
        for report in found
        if args["warning_type"] in (None, report.warning_type)
    ]
    key = order_key(args["order_by"], {}) or "dag_id"
    name = key.removeprefix("-")
    if name not in WARNING_ORDER:
        raise InvalidInputError(f"order_by: {name!r} is not one of {', '.join(WARNING_ORDER)}")
    rows.sort(key=lambda row: (row[name], row["dag_id"]), reverse=key.startswith("-"))
    start = int(args["offset"])
    return {
        "dag_warnings": rows[start : start + min(int(args["limit"]), MAX_LIMIT)],
        "total_entries": len(rows),
    }
