"""``/deadLetters``: tasks that failed for good; list, get, replay, discard (the logic is
``/api/v2``'s, :mod:`webui.api.v2.dead_letters`)."""

from __future__ import annotations

from typing import Any

from engine.security.roles import Action, Resource
from engine.services.deadletters import (
    DEAD_LETTER_ORDER,
    discard_dead_letter,
    replay_dead_letter,
)
from webui.api.blueprint import api_blueprint
from webui.api.paging import paged
from webui.api.schemas.admin import DeadLetterListArgs, DeadLetterSchema
from webui.api.v2.dead_letters import filtered_dead_letters, resolved, visible_dead_letter

blp = api_blueprint("dead_letters", "/deadLetters", "Dead letters", Resource.DEAD_LETTERS)


@blp.listing("", DeadLetterSchema, DeadLetterListArgs)
def list_dead_letters(args: dict[str, Any]) -> Any:
    """List dead letters (filter by state and DAG), newest first by default."""
    return paged(filtered_dead_letters(args), args, DEAD_LETTER_ORDER, "-id")


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
