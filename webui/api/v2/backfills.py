"""``/api/v2/backfills``: create (and dry-run), list by DAG, get, pause, unpause and cancel
backfills in Airflow 3's shapes. A backfill is about a DAG's runs: the permissions are
those on DAG runs, within the user's DAGs."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from marshmallow import fields, validate

from engine.models import Backfill, ReprocessBehavior
from engine.security.roles import Action, Resource
from engine.services import backfill as service
from engine.services.pagination import order_columns
from engine.timeutil import utcnow
from webui import db
from webui.api.schemas.common import DateTime
from webui.api.v2.common import V2PageArgs, collection, page, v2_blueprint
from webui.api.v2.schemas_runs import only_null
from webui.auth import check_dag

blp = v2_blueprint("backfills", "/backfills", "Backfill", Resource.DAG_RUNS)

BACKFILL_ORDER = order_columns(Backfill.id, Backfill.created_at, Backfill.from_date)


class BackfillSchema(ma.Schema):
    id = fields.Integer(required=True)
    dag_id = fields.String(required=True)
    dag_display_name = fields.Function(
        lambda b: b.dag_id, required=True, metadata={"type": "string"}
    )
    from_date = fields.DateTime(required=True)
    to_date = fields.DateTime(required=True)
    dag_run_conf = fields.Dict(allow_none=True)
    is_paused = fields.Boolean(required=True)
    reprocess_behavior = fields.String(required=True)
    max_active_runs = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    completed_at = fields.DateTime(allow_none=True)


class BackfillBodySchema(ma.Schema):
    dag_id = fields.String(required=True, validate=validate.Length(min=1, max=250))
    from_date = DateTime(required=True)
    to_date = DateTime(required=True)
    run_backwards = fields.Boolean(load_default=False)
    dag_run_conf = fields.Dict(load_default=None, allow_none=True)
    reprocess_behavior = fields.String(
        load_default=ReprocessBehavior.NONE.value,
        validate=validate.OneOf([b.value for b in ReprocessBehavior]),
    )
    max_active_runs = fields.Integer(load_default=10, validate=validate.Range(min=1, max=10_000))
    run_on_latest_version = fields.Boolean(
        load_default=None,
        allow_none=True,
        validate=only_null(
            "Loom creates new runs on the DAG's latest version and re-runs a run on its own"
        ),
    )


class BackfillListArgs(V2PageArgs):
    dag_id = fields.String(required=True, validate=validate.Length(min=1, max=250))


class DryRunSchema(ma.Schema):
    logical_date = fields.DateTime(allow_none=True)
    partition_key = fields.String(allow_none=True)
    partition_date = fields.DateTime(allow_none=True)


def _request(body: dict[str, Any]) -> service.BackfillRequest:
    check_dag(body["dag_id"])
    return service.BackfillRequest(
        dag_id=body["dag_id"],
        from_date=body["from_date"],
        to_date=body["to_date"],
        run_backwards=body["run_backwards"],
        dag_run_conf=body["dag_run_conf"],
        reprocess_behavior=ReprocessBehavior(body["reprocess_behavior"]),
        max_active_runs=body["max_active_runs"],
    )


def _visible(backfill_id: int) -> Backfill:
    found = service.get_backfill(session=db.session(), backfill_id=backfill_id)
    check_dag(found.dag_id)
    return found


@blp.listing("", "backfills", BackfillSchema, query=BackfillListArgs)
def list_backfills(args: dict[str, Any]) -> Any:
    """List a DAG's backfills."""
    check_dag(args["dag_id"])
    stmt = service.backfill_query(dag_id=args["dag_id"])
    return page("backfills", stmt, args, BACKFILL_ORDER, "id")


@blp.operation("POST", "", Action.CREATE, body=BackfillBodySchema, returns=BackfillSchema)
def create(body: dict[str, Any]) -> Any:
    """Create the runs of the DAG's schedule between two dates (409: one in progress)."""
    report = service.create_backfill(
        session=db.session(),
        request=_request(body),
        now=utcnow(),
        triggered_by=g.loom_user.username,
    )
    db.commit()
    return report.backfill


@blp.operation(
    "POST",
    "/dry_run",
    Action.CREATE,
    body=BackfillBodySchema,
    returns=collection("backfills", DryRunSchema),
)
def dry_run(body: dict[str, Any]) -> Any:
    """The logical dates a backfill would run now; nothing changes."""
    dates = service.dry_run(session=db.session(), request=_request(body))
    items = [{"logical_date": d, "partition_key": None, "partition_date": None} for d in dates]
    return {"backfills": items, "total_entries": len(items)}


@blp.operation("GET", "/<int:backfill_id>", Action.READ, returns=BackfillSchema)
def get_backfill(backfill_id: int) -> Any:
    """Get one backfill."""
    return _visible(backfill_id)


@blp.operation("PUT", "/<int:backfill_id>/pause", Action.EDIT, returns=BackfillSchema)
def pause(backfill_id: int) -> Any:
    """Start no more of its runs (running ones go on); 409 when completed."""
    return _pause(backfill_id, paused=True)


@blp.operation("PUT", "/<int:backfill_id>/unpause", Action.EDIT, returns=BackfillSchema)
def unpause(backfill_id: int) -> Any:
    """Start its runs again; 409 when completed."""
    return _pause(backfill_id, paused=False)


def _pause(backfill_id: int, *, paused: bool) -> Backfill:
    _visible(backfill_id)
    found = service.pause_backfill(session=db.session(), backfill_id=backfill_id, paused=paused)
    db.commit()
    return found


@blp.operation("PUT", "/<int:backfill_id>/cancel", Action.EDIT, returns=BackfillSchema)
def cancel(backfill_id: int) -> Any:
    """Fail its runs not started yet and complete it; 409 when completed."""
    _visible(backfill_id)
    found = service.cancel_backfill(session=db.session(), backfill_id=backfill_id, now=utcnow())
    db.commit()
    return found
