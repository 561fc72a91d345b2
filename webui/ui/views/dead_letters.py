"""Dead letters: the list by status, one dead letter's message, replay and discard."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

import engine.services.deadletters
from engine.config import Settings
from engine.errors import ConflictError, InvalidInputError
from engine.models import DeadLetter, DeadLetterState
from engine.security.roles import Action, Resource
from engine.timeutil import utcnow
from webui import db
from webui.auth import visible_dag_ids
from webui.ui.blueprint import bp
from webui.ui.paging import offset_arg
from webui.ui.session import page

PAGE_SIZE = 50
ALL = "all"
"""The status filter that keeps every dead letter."""


@bp.route("/dead-letters")
@page(Action.READ, Resource.DEAD_LETTERS)
def dead_letters() -> str:
    status = request.args.get("status", DeadLetterState.PENDING.value)
    listed = engine.services.deadletters.list_dead_letters(
        session=db.session(),
        state=None if status == ALL else _state(status),
        dag_ids=visible_dag_ids(),
        limit=PAGE_SIZE,
        offset=offset_arg(),
    )
    return render_template(
        "ui/dead_letters.html", page=listed, status=status, statuses=[*DeadLetterState, ALL]
    )


@bp.route("/dead-letters/<int:id>")
@page(Action.READ, Resource.DEAD_LETTERS)
def dead_letter(id: int) -> str:
    settings: Settings = current_app.extensions["loom.settings"]
    broker = bool(settings.dlq.amqp_url)
    return render_template("ui/dead_letter.html", letter=_visible(id), broker=broker)


@bp.route("/dead-letters/<int:id>/replay", methods=["POST"])
@page(Action.EDIT, Resource.DEAD_LETTERS)
def replay_dead_letter(id: int) -> Response | tuple[str, int]:
    resolve = engine.services.deadletters.replay_dead_letter
    return _resolve(id, resolve, "replayed", "runs again with fresh tries")


@bp.route("/dead-letters/<int:id>/discard", methods=["POST"])
@page(Action.DELETE, Resource.DEAD_LETTERS)
def discard_dead_letter(id: int) -> Response | tuple[str, int]:
    resolve = engine.services.deadletters.discard_dead_letter
    return _resolve(id, resolve, "discarded", "will not run again")


def _resolve(
    id: int, resolve: Callable[..., DeadLetter], done: str, consequence: str
) -> Response | tuple[str, int]:
    """Replay or discard (``resolve``) a dead letter the user may see; say what follows."""
    letter = _visible(id)
    try:
        resolve(session=db.session(), id=id, now=utcnow(), by=g.loom_user.username)
    except ConflictError as refused:
        return _refused(id, refused)
    db.commit()
    flash(f"dead letter {id} {done}: {letter.dag_id}.{letter.task_id} {consequence}")
    return redirect(url_for("ui.dead_letter", id=id))


def _visible(id: int) -> DeadLetter:
    """Dead letter ``id`` when the page's permission reaches its DAG; else 404, as if absent."""
    visible = visible_dag_ids()
    return engine.services.deadletters.get_dead_letter(session=db.session(), id=id, dag_ids=visible)


def _refused(id: int, refused: ConflictError) -> tuple[str, int]:
    """The dead letter again, as it is now, with why nothing was done."""
    db.session().rollback()
    flash(str(refused), "error")
    settings: Settings = current_app.extensions["loom.settings"]
    broker = bool(settings.dlq.amqp_url)
    return render_template("ui/dead_letter.html", letter=_visible(id), broker=broker), 409


def _state(status: str) -> DeadLetterState:
    try:
        return DeadLetterState(status)
    except ValueError:
        choices = ", ".join([*DeadLetterState, ALL])
        raise InvalidInputError(f"status: {status!r} is not one of {choices}") from None
