"""The declarative base and the column types every model shares.

* :class:`UtcDateTime` stores UTC and always returns timezone-aware UTC datetimes, on
  SQLite too; it refuses naive datetimes instead of guessing their zone.
* :class:`StrEnumType` stores a :class:`~enum.StrEnum` as ``VARCHAR`` (no database enum
  type, so adding a member needs no migration) and returns the enum member.
* :class:`JSONType` is JSON, as ``JSONB`` on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, MappedColumn, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from engine.timeutil import utcnow

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names are derived, so migrations can name what they alter or drop."""

E = TypeVar("E", bound=StrEnum)


class JSONType(TypeDecorator[Any]):
    """JSON everywhere, ``JSONB`` on PostgreSQL. Reassign a value to change it: in-place
    mutation of a loaded dict or list is not tracked.

    A decorator, not ``sa.JSON().with_variant(JSONB(), "postgresql")``: that needs the
    PostgreSQL dialect package (and the async drivers it imports) loaded by every process
    that imports a model, SQLite ones included. Here it is imported when a PostgreSQL
    connection first asks for the type.
    """

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(sa.JSON())


ENUM_LENGTH = 32
"""Width of every :class:`StrEnumType` column; member values must fit."""


class Base(DeclarativeBase):
    """Base of every Loom model."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and returned timezone-aware in UTC; naive ones refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give it a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StrEnumType(TypeDecorator[E]):
    """A :class:`~enum.StrEnum` stored as ``VARCHAR(32)``, read back as the enum member."""

    impl = sa.String(ENUM_LENGTH)
    cache_ok = True

    def __init__(self, enum_class: type[E]) -> None:
        super().__init__(ENUM_LENGTH)
        self.enum_class = enum_class

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        if value is None:
            return None
        return self.enum_class(value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.enum_class.__name__})"


def dialect_insert(session: Any) -> Any:
    """The session's dialect's INSERT, which knows ON CONFLICT (PostgreSQL and SQLite have
    it alike); ``session`` is a Session or a Connection."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def created_at_column() -> MappedColumn[datetime]:
    """A non-null ``created_at`` set on insert."""
    return mapped_column(UtcDateTime(), nullable=False, default=utcnow)


def updated_at_column() -> MappedColumn[datetime]:
    """A non-null ``updated_at`` set on insert and on every update."""
    return mapped_column(UtcDateTime(), nullable=False, default=utcnow, onupdate=utcnow)


def previous_value(obj: object, key: str) -> Any:
    """The value ``obj.key`` holds before an assignment, loading it if it was expired.

    ``None`` for an object that never had the attribute set (a fresh object may start
    in any state).
    """
    state = sa.inspect(obj)
    if key in state.dict:
        return state.dict[key]
    if state.persistent and state.session is not None:
        with state.session.no_autoflush:
            return getattr(obj, key)
    return None
