"""What every area of the API shares: page sizes, dates from clients, run ids, messages."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from engine.services.runs import RUN_ID_ALLOWED, RUN_ID_PATTERN
from engine.services.userinput import DATE_OUT_OF_RANGE, date_in_range

DEFAULT_LIMIT = 100
"""Items per page when ``limit`` is not given."""
MAX_LIMIT = 1000
"""Largest page: a larger ``limit`` is cut to this."""
MAX_OFFSET = 1_000_000_000


class DateTime(fields.AwareDateTime):
    """An aware ISO 8601 date and time from a client, within the range every edge accepts
    (:mod:`engine.services.userinput`): a date at the calendar's ends is a 422, not an overflow."""

    def _deserialize(self, value: object, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed: datetime = super()._deserialize(value, attr, data, **kwargs)
        if not date_in_range(parsed):
            raise ma.ValidationError(DATE_OUT_OF_RANGE)
        return parsed


class FullMatch(validate.Validator):
    """The whole value matches ``pattern`` (marshmallow's ``Regexp`` matches a prefix)."""

    def __init__(self, pattern: re.Pattern[str], error: str) -> None:
        self.pattern = pattern
        self.problem = error

    def __call__(self, value: str) -> str:
        if not self.pattern.fullmatch(value):
            raise ma.ValidationError(self.problem)
        return value


RUN_ID = FullMatch(RUN_ID_PATTERN, RUN_ID_ALLOWED)
"""A run id a client may choose (Airflow's rule)."""


class DagNameSchema(ma.Schema):
    """How Airflow names the DAG in a payload about one: its id and the name the UI shows."""

    dag_id = fields.String(required=True)
    dag_display_name = fields.String(required=True)


class MessageSchema(ma.Schema):
    """A short confirmation."""

    message = fields.String(required=True)
