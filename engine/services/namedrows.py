"""Rows named by a unique text key, as variables (``key``) and connections (``conn_id``)
are: the key's rule, finding, requiring, listing and deleting them. Functions never
commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from engine.errors import InvalidInputError, NotFoundError
from engine.models.dags import ID_LENGTH

Row = TypeVar("Row")


@dataclass(frozen=True)
class NamedRows(Generic[Row]):
    """The rows of ``model``, each named by its unique ``key`` column."""

    model: type[Row]
    key: InstrumentedAttribute[str]
    noun: str
    """What one row is, in messages: ``"variable"``."""
    key_noun: str
    """What its key is, in messages: ``"variable key"``."""

    def check_key(self, key: str) -> str:
        """``key`` when it is usable as a name; InvalidInputError otherwise."""
        if not key or len(key) > ID_LENGTH or key != key.strip():
            raise InvalidInputError(
                f"{self.key_noun} {key!r}: 1 to {ID_LENGTH} characters, no surrounding blanks"
            )
        return key

    def find(self, session: Session, key: str) -> Row | None:
        return session.scalar(sa.select(self.model).where(self.key == key))

    def require(self, session: Session, key: str) -> Row:
        row = self.find(session, key)
        if row is None:
            raise NotFoundError(f"no {self.noun} {key!r}")
        return row

    def query(self, *, by_key: bool = True) -> sa.Select[Any]:
        """Every row, by key (``by_key=False``: unordered, for a caller that pages them in
        an order of its own)."""
        stmt = sa.select(self.model)
        return stmt.order_by(self.key) if by_key else stmt

    def every(self, session: Session) -> list[Row]:
        """Every row, by key."""
        return list(session.scalars(self.query()))

    def delete(self, session: Session, key: str) -> None:
        session.delete(self.require(session, key))
        session.flush()
