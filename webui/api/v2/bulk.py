"""Airflow 3's bulk operations: ``PATCH /variables``, ``/connections`` and ``/pools`` with
``{"actions": [{"action": "create" | "update" | "delete", "entities": [...], ...}]}``.

Every entity is checked before anything changes (a bad one is a 422 naming
``actions.<i>.entities.<j>``). Then each action runs in a savepoint: it succeeds for all
its entities or, refused (an existing key on create with ``action_on_existence: fail``, a
missing one on update or delete with ``action_on_non_existence: fail``, or what the
single-item operation would refuse), changes nothing and is reported in ``errors``; the
others are committed. The operation requires ``edit`` on the resource, and ``create`` or
``delete`` too when an action creates or deletes (403 before anything changes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from werkzeug.exceptions import Forbidden

from engine.errors import ConflictError, InvalidInputError, LoomError, NotFoundError
from engine.security.roles import Action, Resource
from engine.services.userinput import check_json
from webui import db
from webui.auth import current_access
from webui.errors import STATUS_BY_ERROR

ACTIONS = {"create": Action.CREATE, "update": Action.EDIT, "delete": Action.DELETE}
MAX_ENTITIES = 1000


class BulkActionSchema(ma.Schema):
    action = fields.String(required=True, validate=validate.OneOf(list(ACTIONS)))
    entities = fields.List(fields.Raw(), required=True, validate=validate.Length(max=MAX_ENTITIES))
    action_on_existence = fields.String(
        load_default="fail", validate=validate.OneOf(["fail", "skip", "overwrite"])
    )
    action_on_non_existence = fields.String(
        load_default="fail", validate=validate.OneOf(["fail", "skip"])
    )
    update_mask = fields.List(
        fields.String(validate=validate.Length(max=64)), load_default=None, allow_none=True
    )


class BulkBodySchema(ma.Schema):
    actions = fields.List(
        fields.Nested(BulkActionSchema), required=True, validate=validate.Length(max=100)
    )


class BulkActionResponseSchema(ma.Schema):
    success = fields.List(fields.String(), required=True)
    errors = fields.List(fields.Dict(), required=True)


class BulkResponseSchema(ma.Schema):
    create = fields.Nested(BulkActionResponseSchema, allow_none=True)
    update = fields.Nested(BulkActionResponseSchema, allow_none=True)
    delete = fields.Nested(BulkActionResponseSchema, allow_none=True)


@dataclass(frozen=True)
class Kind:
    """How bulk actions reach one resource's objects (``fields``: what ``update_mask`` may
    name; ``write(entity, fields, create)``: create, or change ``fields`` of, one; what it
    returns is not used)."""

    resource: Resource
    noun: str
    key: str
    schema: type[ma.Schema]
    fields: tuple[str, ...]
    exists: Callable[[str], bool]
    write: Callable[[dict[str, Any], set[str], bool], object]
    delete: Callable[[str], None]


def run_bulk(kind: Kind, body: dict[str, Any]) -> dict[str, Any]:
    """Check ``body``'s actions, run them, commit what succeeded: Airflow's ``BulkResponse``."""
    _check_permissions(kind, body["actions"])
    checked = [_entities(kind, index, action) for index, action in enumerate(body["actions"])]
    result: dict[str, Any] = {}
    for action, entities in zip(body["actions"], checked, strict=True):
        outcome = result.setdefault(action["action"], {"success": [], "errors": []})
        try:
            with db.session().begin_nested():
                outcome["success"].extend(_run(kind, action, entities))
        except LoomError as error:
            code = next(
                (status for type_, status in STATUS_BY_ERROR if isinstance(error, type_)), 400
            )
            outcome["errors"].append({"error": str(error), "status_code": code})
    db.commit()
    return result


def _check_permissions(kind: Kind, actions: list[dict[str, Any]]) -> None:
    access = current_access()
    for name in sorted({action["action"] for action in actions}):
        if not access.allows(ACTIONS[name], kind.resource):
            raise Forbidden(
                f"your roles do not allow {ACTIONS[name].value} on {kind.resource.value} "
                f"(bulk action {name!r})"
            )


def _entities(kind: Kind, index: int, action: dict[str, Any]) -> list[dict[str, Any]]:
    """The action's entities loaded by ``kind.schema`` (a delete's: their keys)."""
    where = f"actions.{index}"
    if action["update_mask"]:
        unknown = sorted(set(action["update_mask"]) - set(kind.fields))
        if unknown:
            raise InvalidInputError(f"{where}.update_mask: {unknown[0]!r} cannot be changed")
    loaded = [
        _entity(kind, f"{where}.entities.{n}", action, raw)
        for n, raw in enumerate(action["entities"])
    ]
    keys = [entity[kind.key] for entity in loaded]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise InvalidInputError(f"{where}.entities: {kind.key} {repeated[0]!r} appears twice")
    return loaded


def _entity(kind: Kind, where: str, action: dict[str, Any], raw: Any) -> dict[str, Any]:
    if action["action"] == "delete":
        key = raw.get(kind.key) if isinstance(raw, dict) else raw
        if not isinstance(key, str) or not key:
            raise InvalidInputError(f"{where}: a {kind.key}, or an object with one")
        return {kind.key: key}
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{where}: a {kind.noun} object")
    check_json(raw, field=where)  # no NUL: PostgreSQL refuses it in text
    try:
        entity: dict[str, Any] = kind.schema().load(raw)
    except ma.ValidationError as error:
        field, problems = next(iter(_flat(error.messages).items()))
        raise InvalidInputError(f"{where}.{field}: {problems}") from None
    return entity


def _flat(messages: Any, prefix: str = "") -> dict[str, str]:
    if not isinstance(messages, dict):
        text = " ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
        return {prefix.rstrip("."): text}
    flat: dict[str, str] = {}
    for name, inner in messages.items():
        flat.update(_flat(inner, f"{prefix}{name}."))
    return flat


def _run(kind: Kind, action: dict[str, Any], entities: list[dict[str, Any]]) -> list[str]:
    """One action's keys that changed; a refusal raises (the caller undoes the action)."""
    keys = [entity[kind.key] for entity in entities]
    present = {key for key in keys if kind.exists(key)}
    name = action["action"]
    if name == "create":
        if present and action["action_on_existence"] == "fail":
            raise ConflictError(f"{kind.noun}s exist already: {', '.join(sorted(present))}")
        overwrite = action["action_on_existence"] == "overwrite"
        chosen = [e for e in entities if e[kind.key] not in present or overwrite]
        for entity in chosen:
            kind.write(entity, set(kind.fields), entity[kind.key] not in present)
        return [entity[kind.key] for entity in chosen]
    missing = [key for key in keys if key not in present]
    if missing and action["action_on_non_existence"] == "fail":
        raise NotFoundError(f"no {kind.noun}s named {', '.join(missing)}")
    chosen = [entity for entity in entities if entity[kind.key] in present]
    mask = set(action["update_mask"] or kind.fields)
    for entity in chosen:
        if name == "update":
            kind.write(entity, mask, False)
        else:
            kind.delete(entity[kind.key])
    return [entity[kind.key] for entity in chosen]
