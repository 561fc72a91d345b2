"""``/api/v2/pools``, ``/api/v2/importErrors`` and ``/api/v2/eventLogs`` in Airflow 3's
shapes. Event logs are Loom's audit log: one entry per mutating request or sign-in."""

from __future__ import annotations

import json
import re
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from engine.errors import InvalidInputError, NotFoundError
from engine.models import Pool
from engine.models.security import AuditLog
from engine.security.roles import Action, Resource
from engine.services.audit import AUDIT_ORDER, AuditFilter, audit_query
from engine.services.dags import IMPORT_ERROR_ORDER, get_import_error, import_error_query
from engine.services.pools import (
    POOL_ORDER,
    PoolUsage,
    create_pool,
    delete_pool,
    pool_query,
    require_pool,
    update_pool,
    usage,
)
from webui import db
from webui.api.schemas.common import DateTime
from webui.api.v2.bulk import BulkBodySchema, BulkResponseSchema, Kind, run_bulk
from webui.api.v2.common import V2PageArgs, filters_in, page, v2_blueprint
from webui.auth import visible_dag_ids

pools = v2_blueprint("pools", "/pools", "Pool", Resource.POOLS)
import_errors = v2_blueprint(
    "import_errors", "/importErrors", "ImportError", Resource.IMPORT_ERRORS
)
event_logs = v2_blueprint("event_logs", "/eventLogs", "EventLog", Resource.AUDIT_LOG)


class PoolSchema(ma.Schema):
    name = fields.String(required=True)
    slots = fields.Integer(required=True)
    description = fields.String(allow_none=True)
    include_deferred = fields.Boolean(required=True)
    occupied_slots = fields.Integer(required=True)
    running_slots = fields.Integer(required=True)
    queued_slots = fields.Integer(required=True)
    scheduled_slots = fields.Integer(required=True)
    deferred_slots = fields.Integer(required=True)
    open_slots = fields.Integer(required=True)


class PoolBodySchema(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=250))
    slots = fields.Integer(required=True, validate=validate.Range(min=0, max=1_000_000))
    description = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=10_000)
    )
    include_deferred = fields.Boolean(load_default=False)


class PoolPatchSchema(ma.Schema):
    pool = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=250))
    slots = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=0, max=1_000_000)
    )
    description = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=10_000)
    )
    include_deferred = fields.Boolean(load_default=None, allow_none=True)


def _pool(entry: PoolUsage) -> dict[str, Any]:
    pool = entry.pool
    return {
        "name": pool.name,
        "slots": pool.slots,
        "description": pool.description,
        "include_deferred": False,
        "occupied_slots": entry.running_slots + entry.queued_slots,
        "running_slots": entry.running_slots,
        "queued_slots": entry.queued_slots,
        "scheduled_slots": 0,
        "deferred_slots": 0,
        "open_slots": entry.open_slots,
    }


def _one(pool: Pool) -> dict[str, Any]:
    return _pool(usage(session=db.session(), pools=[pool])[0])


def _write_pool(entity: dict[str, Any], names: set[str], create: bool) -> Pool:
    """Create the pool ``entity`` describes, or change its fields ``names``; flushed, not
    committed (the create route's body, or one of a bulk request's entities)."""
    session = db.session()
    if create:
        return create_pool(
            session=session,
            name=entity["name"],
            slots=entity["slots"],
            description=entity["description"],
        )
    return update_pool(
        session=session,
        pool=require_pool(session=session, name=entity["name"]),
        slots=entity["slots"] if "slots" in names else None,
        description=entity["description"] if "description" in names else None,
    )


def _delete_pool(name: str) -> None:
    delete_pool(session=db.session(), pool=require_pool(session=db.session(), name=name))


@pools.listing("", "pools", PoolSchema, query=V2PageArgs)
def list_pools(args: dict[str, Any]) -> Any:
    """List pools with the slots in use."""
    result = page("pools", pool_query(), args, POOL_ORDER, "name", {"pool": "name"})
    result["pools"] = [_pool(u) for u in usage(session=db.session(), pools=result["pools"])]
    return result


@pools.operation("POST", "", Action.CREATE, body=PoolBodySchema, status=201, returns=PoolSchema)
def create(body: dict[str, Any]) -> Any:
    """Create a pool (deferred task instances: Loom has none, ``include_deferred`` is moot)."""
    pool = _write_pool(body, set(), create=True)
    db.commit()
    return _one(pool)


@pools.operation("GET", "/<pool_name>", Action.READ, returns=PoolSchema)
def get_pool(pool_name: str) -> Any:
    """Get one pool."""
    return _one(require_pool(session=db.session(), name=pool_name))


@pools.patching("/<pool_name>", body=PoolPatchSchema, returns=PoolSchema)
def patch_pool(args: dict[str, Any], body: dict[str, Any], pool_name: str) -> Any:
    """Resize a pool or change its description (``update_mask``: only those named)."""
    pool = require_pool(session=db.session(), name=pool_name)
    if body["pool"] not in (None, pool_name):
        raise InvalidInputError("pool: Loom does not rename pools")
    mask = set(args["update_mask"] or ("slots", "description"))
    update_pool(
        session=db.session(),
        pool=pool,
        slots=body["slots"] if "slots" in mask else None,
        description=body["description"] if "description" in mask else None,
    )
    db.commit()
    return _one(pool)


@pools.operation("DELETE", "/<pool_name>", Action.DELETE, status=204)
def delete(pool_name: str) -> None:
    """Delete a pool (``default_pool`` cannot be deleted)."""
    _delete_pool(pool_name)
    db.commit()


POOLS = Kind(
    resource=Resource.POOLS,
    noun="pool",
    key="name",
    schema=PoolBodySchema,
    fields=("slots", "description", "include_deferred"),
    exists=lambda name: db.session().get(Pool, name) is not None,
    write=_write_pool,
    delete=_delete_pool,
)


@pools.operation("PATCH", "", Action.EDIT, body=BulkBodySchema, returns=BulkResponseSchema)
def bulk_pools(body: dict[str, Any]) -> Any:
    """Create, update and delete pools in one request (``create`` and ``delete`` actions
    also need those permissions; ``default_pool`` cannot be deleted)."""
    return run_bulk(POOLS, body)


class ImportErrorSchema(ma.Schema):
    import_error_id = fields.Integer(attribute="id", required=True)
    timestamp = fields.DateTime(attribute="created_at", required=True)
    filename = fields.String(required=True)
    bundle_name = fields.Constant(None, allow_none=True, metadata={"type": "string"})
    stack_trace = fields.Function(
        lambda error: error.traceback or error.message, required=True, metadata={"type": "string"}
    )


@import_errors.listing("", "import_errors", ImportErrorSchema, query=V2PageArgs)
def list_import_errors(args: dict[str, Any]) -> Any:
    """List import errors (a DAG-limited role sees those of its DAGs' files)."""
    stmt = import_error_query(session=db.session(), dag_ids=visible_dag_ids())
    aliases = {"import_error_id": "id", "timestamp": "created_at"}
    return page("import_errors", stmt, args, IMPORT_ERROR_ORDER, "id", aliases)


@import_errors.operation("GET", "/<int:import_error_id>", Action.READ, returns=ImportErrorSchema)
def get_import_error_v2(import_error_id: int) -> Any:
    """Get one import error."""
    return get_import_error(session=db.session(), id=import_error_id, dag_ids=visible_dag_ids())


class EventLogFilters(ma.Schema):
    """Airflow's filters of the event log, by the audit log's names."""

    dag_id = fields.String(load_default=None, validate=validate.Length(max=250))
    action = fields.String(data_key="event", load_default=None, validate=validate.Length(max=250))
    username = fields.String(data_key="owner", load_default=None, validate=validate.Length(max=250))
    since = DateTime(data_key="after", load_default=None)
    until = DateTime(data_key="before", load_default=None)


class EventLogArgs(EventLogFilters, V2PageArgs):
    """The list's filters and paging."""


_DAG_PATH = re.compile(r"/dags/([^/]+)(?:/dagRuns/([^/]+)(?:/taskInstances/([^/]+))?)?")


def _event(entry: AuditLog) -> dict[str, Any]:
    found = _DAG_PATH.search(entry.target or "")
    dag_id, run_id, task_id = found.groups() if found else (None, None, None)
    extra = {"target": entry.target, "outcome": entry.outcome, "source_ip": entry.source_ip}
    return {
        "event_log_id": entry.id,
        "when": entry.created_at,
        "event": entry.action,
        "owner": entry.username,
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "extra": json.dumps({**extra, **(entry.details or {})}, default=str),
    }


class EventLogSchema(ma.Schema):
    event_log_id = fields.Integer(required=True)
    when = fields.DateTime(required=True)
    event = fields.String(required=True)
    owner = fields.String(allow_none=True)
    dag_id = fields.String(allow_none=True)
    run_id = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    extra = fields.String(allow_none=True)


@event_logs.listing("", "event_logs", EventLogSchema, query=EventLogArgs)
def list_event_logs(args: dict[str, Any]) -> Any:
    """Loom's audit log as Airflow's event log (``event``: the audited action)."""
    filters = AuditFilter(**filters_in(args, EventLogFilters))
    aliases = {"event_log_id": "id", "when": "created_at", "event": "action", "owner": "username"}
    result = page("event_logs", audit_query(filters), args, AUDIT_ORDER, "-id", aliases)
    result["event_logs"] = [_event(entry) for entry in result["event_logs"]]
    return result


@event_logs.operation("GET", "/<int:event_log_id>", Action.READ, returns=EventLogSchema)
def get_event_log(event_log_id: int) -> Any:
    """One audit entry as an event log."""
    entry = db.session().get(AuditLog, event_log_id)
    if entry is None:
        raise NotFoundError(f"no event log {event_log_id}")
    return _event(entry)
