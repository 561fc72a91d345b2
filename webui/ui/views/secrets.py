"""Variables and connections: lists (secrets masked), create, edit, delete.

A sensitive variable's value and a connection's password are never sent to the browser:
their edit forms start blank, and a blank field keeps what is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import render_template, request

from engine.authoring.connection import Connection
from engine.config.masking import MASK, is_sensitive_name
from engine.errors import InvalidInputError
from engine.models.secrets import StoredConnection, StoredVariable
from engine.security.roles import Action, Resource
from engine.services import connections as conn_service
from engine.services import variables as var_service
from engine.services.pagination import Page
from webui import db
from webui.secrets import crypter, shown_connection, shown_variable
from webui.ui.blueprint import bp
from webui.ui.paging import list_page
from webui.ui.session import page
from webui.ui.views.admin import DESCRIPTION_LENGTH, FormErrors, form_context, text
from webui.ui.views.adminpages import AdminPages, FormResult

PAGE_SIZE = 50
Row = TypeVar("Row", StoredVariable, StoredConnection)
VALUE_LENGTH = 100_000


def _masked_page(
    query: sa.Select[Any], *, order: object, shown: Callable[[Row], dict[str, Any]]
) -> dict[str, object]:
    """A list page's rows as shown (secrets masked), and the page they are on."""
    listed: Page[Row] = list_page(query, order=[order], limit=PAGE_SIZE)
    return {"page": listed, "rows": [shown(row) for row in listed.items]}


# --- variables ---------------------------------------------------------------------------


class VariablePages(
    AdminPages[StoredVariable], noun="variable", key="key", resource=Resource.VARIABLES
):
    edit_field = "value"

    def list_page(
        self, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
    ) -> str:
        query = var_service.variable_query(by_key=False)
        page = _masked_page(query, order=StoredVariable.key, shown=shown_variable)
        return render_template("ui/variables.html", **page, **form_context(errors, form))

    def item_page(
        self,
        found: StoredVariable,
        errors: FormErrors | None = None,
        form: Mapping[str, str] | None = None,
    ) -> str:
        shown = shown_variable(found)
        return render_template(
            "ui/variable_edit.html",
            variable=shown,
            sensitive=shown["value"] == MASK,
            **form_context(errors, form),
        )

    def find(self, key: str) -> StoredVariable:
        return var_service.require_variable(session=db.session(), key=key)

    def create(self, key: str) -> None:
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

    def update(self, found: StoredVariable) -> None:
        value = request.form.get("value", "")
        if not value and is_sensitive_name(found.key):
            value = var_service.variable_value(crypter(), found)  # blank keeps the secret
        var_service.set_variable(
            session=db.session(),
            crypter=crypter(),
            key=found.key,
            value=value,
            description=text("description", longest=DESCRIPTION_LENGTH),
        )

    def delete(self, found: StoredVariable) -> None:
        var_service.delete_variable(session=db.session(), key=found.key)


# --- connections -------------------------------------------------------------------------


class ConnectionPages(
    AdminPages[StoredConnection], noun="connection", key="conn_id", resource=Resource.CONNECTIONS
):
    edit_field = "conn_type"

    def list_page(
        self, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
    ) -> str:
        query = conn_service.connection_query(by_key=False)
        page = _masked_page(query, order=StoredConnection.conn_id, shown=shown_connection)
        return render_template("ui/connections.html", **page, **form_context(errors, form))

    def item_page(
        self,
        found: StoredConnection,
        errors: FormErrors | None = None,
        form: Mapping[str, str] | None = None,
    ) -> str:
        return render_template(
            "ui/connection_edit.html", conn=shown_connection(found), **form_context(errors, form)
        )

    def find(self, key: str) -> StoredConnection:
        return conn_service.require_connection(session=db.session(), conn_id=key)

    def create(self, key: str) -> None:
        conn = _form_connection(key, password=request.form.get("password") or None)
        conn_service.save_connection(session=db.session(), crypter=crypter(), conn=conn)

    def update(self, found: StoredConnection) -> None:
        old = conn_service.as_connection(crypter(), found)
        password = request.form.get("password") or old.password  # blank keeps it
        if request.form.get("clear_password"):
            password = None
        conn = _form_connection(found.conn_id, password=password)
        conn.extra = _unmasked_extra(conn.extra, old.extra_dejson)
        conn_service.save_connection(
            session=db.session(), crypter=crypter(), conn=conn, replace=True
        )

    def delete(self, found: StoredConnection) -> None:
        conn_service.delete_connection(session=db.session(), conn_id=found.conn_id)


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


VARIABLES = VariablePages()
CONNECTIONS = ConnectionPages()
VARIABLES.register(bp)
CONNECTIONS.register(bp)


# --- import ------------------------------------------------------------------------------


@bp.route("/variables/import", methods=["POST"])
@page(Action.CREATE, Resource.VARIABLES)
def import_variables() -> FormResult:
    """Set the variables of a pasted export file (Airflow's ``{"key": value}``)."""
    return VARIABLES.imported(
        lambda data: var_service.import_variables(
            session=db.session(), crypter=crypter(), data=data
        )
    )


@bp.route("/connections/import", methods=["POST"])
@page(Action.CREATE, Resource.CONNECTIONS)
def import_connections() -> FormResult:
    """Add the connections of a pasted export file (``{"conn_id": {...} or "uri"}``)."""
    overwrite = bool(request.form.get("overwrite"))
    return CONNECTIONS.imported(
        lambda data: conn_service.import_connections(
            session=db.session(), crypter=crypter(), data=data, overwrite=overwrite
        )
    )
