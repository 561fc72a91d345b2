"""Variables and connections as the API shows and takes them (Airflow 3's field names)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from engine.models.dags import ID_LENGTH

_ID = validate.Length(min=1, max=ID_LENGTH)
_TEXT = validate.Length(max=100_000)


class VariableSchema(ma.Schema):
    key = fields.String(required=True)
    value = fields.String(required=True)
    """``***`` when the key is sensitive (password, secret, token, api_key ...)."""
    description = fields.String(allow_none=True)
    is_encrypted = fields.Boolean()


class ConnectionSchema(ma.Schema):
    connection_id = fields.String(required=True)
    conn_type = fields.String(required=True)
    description = fields.String(allow_none=True)
    host = fields.String(allow_none=True)
    login = fields.String(allow_none=True)
    schema = fields.String(allow_none=True)
    port = fields.Integer(allow_none=True)
    password = fields.String(allow_none=True)
    """Always ``***`` when set."""
    extra = fields.String(allow_none=True)
    """JSON text, sensitive fields ``***``."""


class ConnectionBodySchema(ma.Schema):
    connection_id = fields.String(required=True, validate=_ID)
    conn_type = fields.String(required=True, validate=validate.Length(min=1, max=500))
    description = fields.String(load_default=None, validate=_TEXT)
    host = fields.String(load_default=None, validate=validate.Length(max=500))
    login = fields.String(load_default=None, validate=_TEXT)
    schema = fields.String(load_default=None, validate=validate.Length(max=500))
    port = fields.Integer(load_default=None, validate=validate.Range(min=0, max=65535))
    password = fields.String(load_default=None, validate=_TEXT)
    extra = fields.String(load_default=None, validate=_TEXT)


class ConnectionTestSchema(ma.Schema):
    status = fields.Boolean(required=True)
    """Whether the connection answered its hook's check."""
    message = fields.String(required=True)
    """``Connection successfully tested``, or the reason it failed."""
