"""``/api/v2/deadLetters``: Loom's tasks that failed for good (Airflow has no such
resource): list with filters, get, replay, discard. A role limited to some DAGs sees and
resolves the dead letters of those DAGs only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from flask import g

from engine.models import DeadLetter, DeadLetterState
from engine.security.roles import Action, Resource
from engine.services.deadletters import (
    DEAD_LETTER_ORDER,
    DeadLetterFilter,
    dead_letter_query,
    discard_dead_letter,
    get_dead_letter,
    replay_dead_letter,
)
from engine.timeutil import utcnow
from webui import db
from webui.api.schemas.admin import DeadLetterFilters, DeadLetterSchema
from webui.api.v2.common import V2PageArgs, page, v2_blueprint
from webui.auth import visible_dag_ids

blp = v2_blueprint(
    "dead_letters", "/deadLetters", "DeadLetter (Loom): tasks that failed for good",
    Resource.DEAD_LETTERS,
)  # fmt: skip


class DeadLetterArgs(V2PageArgs, DeadLetterFilters):
    """The list's filters and paging."""


def visible_dead_letter(dead_letter_id: int) -> DeadLetter:
    """Dead letter ``dead_letter_id`` if the caller may see it (404 otherwise)."""
    return get_dead_letter(session=db.session(), id=dead_letter_id, dag_ids=visible_dag_ids())


def filtered_dead_letters(args: Mapping[str, Any]) -> sa.Select[Any]:
    """The dead letters the caller may see that match the list's filters in ``args``."""
    state = args["state"]
    filters = DeadLetterFilter(
        state=None if state is None else DeadLetterState(state),
        dag_id=args["dag_id"],
        dag_ids=visible_dag_ids(),
    )
    return dead_letter_query(filters)


def resolved(dead_letter_id: int, resolve: Callable[..., DeadLetter]) -> DeadLetter:
    """Replay or discard (``resolve``) a dead letter the caller may see, as them; committed."""
    visible_dead_letter(dead_letter_id)
    dead_letter = resolve(
        session=db.session(), id=dead_letter_id, now=utcnow(), by=g.loom_user.username
    )
    db.commit()
    return dead_letter


@blp.listing("", "dead_letters", DeadLetterSchema, query=DeadLetterArgs)
def list_dead_letters(args: dict[str, Any]) -> Any:
    """List dead letters (filter by state and DAG), newest first by default."""
    return page("dead_letters", filtered_dead_letters(args), args, DEAD_LETTER_ORDER, "-id")


@blp.operation("GET", "/<int:dead_letter_id>", Action.READ, returns=DeadLetterSchema)
def get_one(dead_letter_id: int) -> Any:
    """Get one dead letter with its message."""
    return visible_dead_letter(dead_letter_id)


@blp.operation("POST", "/<int:dead_letter_id>/replay", Action.EDIT, returns=DeadLetterSchema)
def replay(dead_letter_id: int) -> Any:
    """Run the task again with fresh tries, and resolve the dead letter."""
    return resolved(dead_letter_id, replay_dead_letter)


@blp.operation("POST", "/<int:dead_letter_id>/discard", Action.DELETE, returns=DeadLetterSchema)
def discard(dead_letter_id: int) -> Any:
    """Resolve the dead letter without running anything again."""
    return resolved(dead_letter_id, discard_dead_letter)
