"""Variables and connections: lists (secrets masked), create, edit, delete.

A sensitive variable's value and a connection's password are never sent to the browser:
their edit forms start blank, and a blank field keeps what is stored.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping

from flask import render_template, request, url_for
from werkzeug.wrappers import Response

from engine.authoring.connection import Connection
from engine.config.masking import MASK, is_sensitive_name
from engine.errors import InvalidInputError
from engine.models.secrets import StoredConnection, StoredVariable
from engine.security.roles import Action, Resource
from engine.services import connections as conn_service
from engine.services import variables as var_service
from engine.services.pagination import Page
from engine.services.userinput import loads_json
from webui import db
from webui.api.connections import shown as shown_connection
from webui.api.variables import crypter
from webui.api.variables import shown as shown_variable
from webui.ui.blueprint import bp
from webui.ui.paging import list_page
from webui.ui.session import page
from webui.ui.views.admin import DESCRIPTION_LENGTH, FormErrors, deleted, form_context, saved, text

PAGE_SIZE = 50
VALUE_LENGTH = 100_000


# --- variables ---------------------------------------------------------------------------


@bp.route("/variables")
@page(Action.READ, Resource.VARIABLES)
def variables() -> str:
    return _variables_page()


@bp.route("/variables", methods=["POST"])
@page(Action.CREATE, Resource.VARIABLES)
def create_variable() -> Response | tuple[str, int]:
    key = request.form.get("key", "").strip()

    def create() -> None:
        session = db.session()
        if var_service.find_variable(session=session, key=key) is not None:
            raise InvalidInputError(f"key: variable {key!r} exists")
        var_service.set_variable(
            session=session,
            crypter=crypter(),
            key=key,
            value=request.form.get("value", ""),
            description=text("description", longest=DESCRIPTION_LENGTH),
        )

    return saved(
        create,
        field="key",
        again=_variables_page,
        done=f"variable {key} created",
        then=url_for("ui.variables"),
    )


@bp.route("/variables/<key>")
@page(Action.READ, Resource.VARIABLES)
def variable(key: str) -> str:
    return _variable_page(_variable(key))


@bp.route("/variables/<key>", methods=["POST"])
@page(Action.EDIT, Resource.VARIABLES)
def edit_variable(key: str) -> Response | tuple[str, int]:
    found = _variable(key)

    def update() -> None:
        value = request.form.get("value", "")
        if not value and is_sensitive_name(key):
            value = var_service.variable_value(crypter(), found)  # blank keeps the secret
        var_service.set_variable(
            session=db.session(),
            crypter=crypter(),
            key=key,
            value=value,
            description=text("description", longest=DESCRIPTION_LENGTH),
        )

    return saved(
        update,
        field="value",
        again=functools.partial(_variable_page, found),
        done=f"variable {key} saved",
        then=url_for("ui.variables"),
    )


@bp.route("/variables/<key>/delete", methods=["POST"])
@page(Action.DELETE, Resource.VARIABLES)
def delete_variable(key: str) -> Response | tuple[str, int]:
    _variable(key)
    return deleted(
        lambda: var_service.delete_variable(session=db.session(), key=key),
        again=_variables_page,
        done=f"variable {key} deleted",
        then=url_for("ui.variables"),
    )


def _variable(key: str) -> StoredVariable:
    return var_service.require_variable(session=db.session(), key=key)


def _variables_page(errors: FormErrors | None = None, form: Mapping[str, str] | None = None) -> str:
    listed: Page[StoredVariable] = list_page(
        var_service.variable_query().order_by(None), order=[StoredVariable.key], limit=PAGE_SIZE
    )
    return render_template(
        "ui/variables.html",
        page=listed,
        rows=[shown_variable(row) for row in listed.items],
        **form_context(errors, form),
    )


def _variable_page(
    found: StoredVariable, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
) -> str:
    shown = shown_variable(found)
    return render_template(
        "ui/variable_edit.html",
        variable=shown,
        sensitive=shown["value"] == MASK,
        **form_context(errors, form),
    )


# --- connections -------------------------------------------------------------------------


@bp.route("/connections")
@page(Action.READ, Resource.CONNECTIONS)
def connections() -> str:
    return _connections_page()


@bp.route("/connections", methods=["POST"])
@page(Action.CREATE, Resource.CONNECTIONS)
def create_connection() -> Response | tuple[str, int]:
    conn_id = request.form.get("conn_id", "").strip()

    def create() -> None:
        conn = _form_connection(conn_id, password=request.form.get("password") or None)
        conn_service.save_connection(session=db.session(), crypter=crypter(), conn=conn)

    return saved(
        create,
        field="conn_id",
        again=_connections_page,
        done=f"connection {conn_id} created",
        then=url_for("ui.connections"),
    )


@bp.route("/connections/<conn_id>")
@page(Action.READ, Resource.CONNECTIONS)
def connection(conn_id: str) -> str:
    return _connection_page(_connection(conn_id))


@bp.route("/connections/<conn_id>", methods=["POST"])
@page(Action.EDIT, Resource.CONNECTIONS)
def edit_connection(conn_id: str) -> Response | tuple[str, int]:
    found = _connection(conn_id)

    def update() -> None:
        old = conn_service.as_connection(crypter(), found)
        password = request.form.get("password") or old.password  # blank keeps it
        if request.form.get("clear_password"):
            password = None
        conn = _form_connection(conn_id, password=password)
        conn.extra = _unmasked_extra(conn.extra, old.extra_dejson)
        conn_service.save_connection(
            session=db.session(), crypter=crypter(), conn=conn, replace=True
        )

    return saved(
        update,
        field="conn_type",
        again=functools.partial(_connection_page, found),
        done=f"connection {conn_id} saved",
        then=url_for("ui.connections"),
    )


@bp.route("/connections/<conn_id>/delete", methods=["POST"])
@page(Action.DELETE, Resource.CONNECTIONS)
def delete_connection(conn_id: str) -> Response | tuple[str, int]:
    _connection(conn_id)
    return deleted(
        lambda: conn_service.delete_connection(session=db.session(), conn_id=conn_id),
        again=_connections_page,
        done=f"connection {conn_id} deleted",
        then=url_for("ui.connections"),
    )


def _form_connection(conn_id: str, *, password: str | None) -> Connection:
    extra = text("extra", longest=VALUE_LENGTH)
    if extra is not None:
        try:
            json.loads(extra)
        except ValueError:
            raise InvalidInputError("extra: must be JSON (an object of fields)") from None
    return Connection(
        conn_id=conn_id,
        conn_type=text("conn_type", longest=500),
        description=text("description", longest=DESCRIPTION_LENGTH),
        host=text("host", longest=500),
        login=text("login", longest=VALUE_LENGTH),
        password=password,
        schema=text("schema", longest=500),
        port=text("port", longest=10),  # type: ignore[arg-type]  # checked by Connection
        extra=extra,
    )


def _unmasked_extra(extra: str | None, stored: dict[str, object]) -> str | None:
    """The form's extra with each ``***`` it was shown replaced by the stored value."""
    if not extra:
        return extra
    fields = json.loads(extra)
    if not isinstance(fields, dict):
        return extra
    kept = {k: stored[k] if v == MASK and k in stored else v for k, v in fields.items()}
    return json.dumps(kept)


def _connection(conn_id: str) -> StoredConnection:
    return conn_service.require_connection(session=db.session(), conn_id=conn_id)


def _connections_page(
    errors: FormErrors | None = None, form: Mapping[str, str] | None = None
) -> str:
    listed: Page[StoredConnection] = list_page(
        conn_service.connection_query().order_by(None),
        order=[StoredConnection.conn_id],
        limit=PAGE_SIZE,
    )
    return render_template(
        "ui/connections.html",
        page=listed,
        rows=[shown_connection(row) for row in listed.items],
        **form_context(errors, form),
    )


def _connection_page(
    found: StoredConnection, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
) -> str:
    return render_template(
        "ui/connection_edit.html", conn=shown_connection(found), **form_context(errors, form)
    )


# --- import ------------------------------------------------------------------------------


@bp.route("/variables/import", methods=["POST"])
@page(Action.CREATE, Resource.VARIABLES)
def import_variables() -> Response | tuple[str, int]:
    """Set the variables of a pasted export file (Airflow's ``{"key": value}``)."""
    counted: list[int] = []

    def load() -> None:
        data = loads_json(request.form.get("file", ""), field="file")
        counted.append(
            var_service.import_variables(session=db.session(), crypter=crypter(), data=data)
        )

    return saved(
        load,
        field="file",
        again=_variables_page,
        done=lambda: f"{counted[0]} variables imported",
        then=url_for("ui.variables"),
    )


@bp.route("/connections/import", methods=["POST"])
@page(Action.CREATE, Resource.CONNECTIONS)
def import_connections() -> Response | tuple[str, int]:
    """Add the connections of a pasted export file (``{"conn_id": {...} or "uri"}``)."""
    counted: list[int] = []

    def load() -> None:
        data = loads_json(request.form.get("file", ""), field="file")
        counted.append(
            conn_service.import_connections(
                session=db.session(),
                crypter=crypter(),
                data=data,
                overwrite=bool(request.form.get("overwrite")),
            )
        )

    return saved(
        load,
        field="file",
        again=_connections_page,
        done=lambda: f"{counted[0]} connections imported",
        then=url_for("ui.connections"),
    )
