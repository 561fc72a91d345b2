"""Notes: a user's free text on a dag run or a task instance (Airflow's ``note``).

A note is set or cleared (None) by hand from the API; nothing in the engine reads it.
Every function takes ``session`` keyword-only and never commits.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from engine.errors import InvalidInputError
from engine.models import DagRun, TaskInstance
from engine.models.runs import NOTE_LENGTH
from engine.services.runs import get_run
from engine.services.taskinstances import get_task_instance
from engine.services.userinput import check_json

logger = logging.getLogger(__name__)


def checked_note(note: str | None) -> str | None:
    """``note`` once it fits: :data:`NOTE_LENGTH` characters, no NUL (PostgreSQL refuses it)."""
    if note is None:
        return None
    if len(note) > NOTE_LENGTH:
        raise InvalidInputError(f"note: longer than {NOTE_LENGTH} characters")
    check_json(note, field="note")
    return note


def set_run_note(*, session: Session, dag_id: str, run_id: str, note: str | None) -> DagRun:
    """Set (or, with None, clear) the note on run ``run_id`` of ``dag_id``."""
    run = get_run(session=session, dag_id=dag_id, run_id=run_id)
    run.note = checked_note(note)
    session.flush()
    logger.info("dag run %s (%s.%s): note %s", run.id, dag_id, run_id, _said(run.note))
    return run


def set_task_instance_note(
    *, session: Session, dag_id: str, run_id: str, task_id: str, map_index: int, note: str | None
) -> TaskInstance:
    """Set (or, with None, clear) the note on one task instance."""
    ti = get_task_instance(
        session=session, dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index
    )
    ti.note = checked_note(note)
    session.flush()
    logger.info(
        "task instance %s (%s.%s.%s[%s]): note %s",
        ti.id, dag_id, run_id, task_id, map_index, _said(ti.note),
    )  # fmt: skip
    return ti


def _said(note: str | None) -> str:
    return "cleared" if note is None else "set"
