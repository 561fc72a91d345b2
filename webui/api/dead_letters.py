"""``/deadLetters``: tasks that failed for good; list, get, replay, discard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.admin import DeadLetterListArgs, DeadLetterSchema
from webui.auth import visible_dag_ids

blp = api_blueprint("dead_letters", "/deadLetters", "Dead letters", Resource.DEAD_LETTERS)


def _visible(dead_letter_id: int) -> DeadLetter:
    return get_dead_letter(session=db.session(), id=dead_letter_id, dag_ids=visible_dag_ids())


@blp.listing("", DeadLetterSchema, DeadLetterListArgs)
def list_dead_letters(args: dict[str, Any]) -> Any:
    """List dead letters (filter by state and DAG), newest first by default."""
    filters = DeadLetterFilter(
        state=None if args["state"] is None else DeadLetterState(args["state"]),
        dag_id=args["dag_id"],
        dag_ids=visible_dag_ids(),
    )
    return paged(dead_letter_query(filters), args, DEAD_LETTER_ORDER, "-id")


@blp.operation("GET", "/<int:dead_letter_id>", Action.READ, returns=DeadLetterSchema)
def get_one(dead_letter_id: int) -> Any:
    """Get one dead letter with its message."""
    return _visible(dead_letter_id)


@blp.operation("POST", "/<int:dead_letter_id>/replay", Action.EDIT, returns=DeadLetterSchema)
def replay(dead_letter_id: int) -> Any:
    """Run the task again with fresh tries, and resolve the dead letter."""
    return _resolved(dead_letter_id, replay_dead_letter)


@blp.operation("POST", "/<int:dead_letter_id>/discard", Action.DELETE, returns=DeadLetterSchema)
def discard(dead_letter_id: int) -> Any:
    """Resolve the dead letter without running anything again."""
    return _resolved(dead_letter_id, discard_dead_letter)


def _resolved(dead_letter_id: int, resolve: Callable[..., DeadLetter]) -> DeadLetter:
    """Replay or discard (``resolve``) a dead letter the caller may see, as them; committed."""
    _visible(dead_letter_id)
    dead_letter = resolve(
        session=db.session(), id=dead_letter_id, now=utcnow(), by=g.loom_user.username
    )
    db.commit()
    return dead_letter
