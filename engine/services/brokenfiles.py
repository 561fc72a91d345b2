"""DAGs whose file does not import now: what the scheduler holds, triggers warn about and
pages show.

A DAG "does not import" when its file has an import error and the file's latest parse did
not load the DAG (its ``dag`` row was not refreshed by that parse). So a file that defines
two DAGs, one of them invalid, holds back only the invalid one, and a DAG whose file
imports again is free as soon as the parser has seen the fix. The DAG's last good version
stays active meanwhile (see :mod:`engine.parser.sync`): runs can be created on it, but
their tasks are not queued (see docs/decisions.md, "A DAG file that no longer imports").
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import ConflictError
from engine.models import Dag, DagFile, ParseImportError

PREFIX = "DAG file does not import"


@dataclass(frozen=True)
class BrokenFile:
    """Why one DAG's file does not import now."""

    dag_id: str
    fileloc: str
    message: str
    """The import error as the parser recorded it (several lines for several problems)."""
    import_error_id: int

    @property
    def first_line(self) -> str:
        return self.message.strip().splitlines()[0] if self.message.strip() else "(no message)"

    @property
    def reason(self) -> str:
        """One line for a task or a run that waits on it."""
        return f"{PREFIX}: {self.first_line}"


def broken_dags(
    *, session: Session, dag_ids: Collection[str] | None = None
) -> dict[str, BrokenFile]:
    """The DAGs (of ``dag_ids``, else all active ones) whose file does not import now."""
    not_loaded = sa.or_(Dag.last_parsed_at.is_(None), DagFile.last_parsed_at > Dag.last_parsed_at)
    stmt = (
        sa.select(Dag.dag_id, Dag.fileloc, ParseImportError.message, ParseImportError.id)
        .join(DagFile, DagFile.path == Dag.fileloc)
        .join(ParseImportError, ParseImportError.filename == Dag.fileloc)
        .where(Dag.is_active, not_loaded)
        .order_by(ParseImportError.id)
    )
    if dag_ids is not None:
        stmt = stmt.where(Dag.dag_id.in_(sorted(set(dag_ids))))
    found: dict[str, BrokenFile] = {}
    for dag_id, fileloc, message, error_id in session.execute(stmt):
        found.setdefault(dag_id, BrokenFile(dag_id, fileloc, message, error_id))
    return found


def broken_dag(*, session: Session, dag_id: str) -> BrokenFile | None:
    """Why ``dag_id``'s file does not import now; None when it does."""
    return broken_dags(session=session, dag_ids=[dag_id]).get(dag_id)


def refuse_if_broken(*, session: Session, dag_id: str) -> None:
    """:class:`ConflictError` naming the import error when ``dag_id``'s file does not
    import now (a trigger that is not forced)."""
    broken = broken_dag(session=session, dag_id=dag_id)
    if broken is not None:
        raise ConflictError(
            f"DAG {dag_id!r}: {broken.reason} ({broken.fileloc}); its tasks would wait "
            "until the file imports again. Force the trigger to create the run anyway"
        )
