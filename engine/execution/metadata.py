"""The metadata database as task code in this process reaches it.

Operators that act on Loom itself (``TriggerDagRunOperator``) read and write through the
process's sessions: the worker's, installed when it warms up (:mod:`engine.execution.
secrets` holds them, for ``Variable`` and ``BaseHook`` too), or sessions built from the
settings (``loom dags test``). Never imported by the scheduler: it runs no task code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@contextmanager
def metadata_session(*, write: bool = False) -> Iterator[Session]:
    """A session on the metadata database, committed at the end when ``write``."""
    from engine.execution.secrets import current_store

    with current_store().session_factory() as session:
        yield session
        if write:
            session.commit()


def run_state(dag_id: str, run_id: str) -> str | None:
    """The state of run ``run_id`` of ``dag_id`` now; None when there is no such run."""
    import sqlalchemy as sa

    from engine.models import DagRun
    from engine.state import DagRunState

    with metadata_session() as session:
        state = session.scalar(
            sa.select(DagRun.state).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        )
    return None if state is None else DagRunState(state).value
