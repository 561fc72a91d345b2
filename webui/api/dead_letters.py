"""``/deadLetters``: tasks that failed for good; list, get, replay, discard."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import g

from engine.models import DeadLetter, DeadLetterState
from engine.security.roles import Action, Resource
from engine.services.deadletters import discard_dead_letter, get_dead_letter, replay_dead_letter
from engine.services.pagination import within_dags
from engine.timeutil import utcnow
from webui import db
from webui.api.blueprint import Blueprint
from webui.api.paging import paged
from webui.api.schemas.admin import DeadLetterListArgs, DeadLetterSchema
from webui.api.schemas.common import page_of
from webui.auth import requires, visible_dag_ids

blp = Blueprint(
    "dead_letters", __name__, url_prefix="/api/v1/deadLetters", description="Dead letters"
)

DEAD_LETTER_ORDER = {
    "id": DeadLetter.id,
    "created_at": DeadLetter.created_at,
    "dag_id": DeadLetter.dag_id,
}


def _visible(dead_letter_id: int) -> DeadLetter:
    return get_dead_letter(session=db.session(), id=dead_letter_id, dag_ids=visible_dag_ids())


@blp.route("", methods=["GET"])
@requires(Action.READ, Resource.DEAD_LETTERS)
@blp.arguments(DeadLetterListArgs, location="query")
@blp.response(200, page_of(DeadLetterSchema))
def list_dead_letters(args: dict[str, Any]) -> Any:
    """List dead letters (filter by state and DAG), newest first by default."""
    stmt = within_dags(sa.select(DeadLetter), DeadLetter.dag_id, visible_dag_ids())
    if args["state"] is not None:
        stmt = stmt.where(DeadLetter.state == DeadLetterState(args["state"]))
    if args["dag_id"] is not None:
        stmt = stmt.where(DeadLetter.dag_id == args["dag_id"])
    return paged(stmt, args, DEAD_LETTER_ORDER, "-id")


@blp.route("/<int:dead_letter_id>", methods=["GET"])
@requires(Action.READ, Resource.DEAD_LETTERS)
@blp.response(200, DeadLetterSchema)
def get_one(dead_letter_id: int) -> Any:
    """Get one dead letter with its message."""
    return _visible(dead_letter_id)


@blp.route("/<int:dead_letter_id>/replay", methods=["POST"])
@requires(Action.EDIT, Resource.DEAD_LETTERS)
@blp.response(200, DeadLetterSchema)
def replay(dead_letter_id: int) -> Any:
    """Run the task again with fresh tries, and resolve the dead letter."""
    _visible(dead_letter_id)
    dead_letter = replay_dead_letter(
        session=db.session(), id=dead_letter_id, now=utcnow(), by=g.loom_user.username
    )
    db.commit()
    return dead_letter


@blp.route("/<int:dead_letter_id>/discard", methods=["POST"])
@requires(Action.DELETE, Resource.DEAD_LETTERS)
@blp.response(200, DeadLetterSchema)
def discard(dead_letter_id: int) -> Any:
    """Resolve the dead letter without running anything again."""
    _visible(dead_letter_id)
    dead_letter = discard_dead_letter(
        session=db.session(), id=dead_letter_id, now=utcnow(), by=g.loom_user.username
    )
    db.commit()
    return dead_letter
