"""DAGs as every edge reads and changes them: the graph, the source, pause and unpause,
import errors and warnings (lists of DAGs: :mod:`engine.services.daglist`).

The graph comes from the serialized DAG the parser stored (:func:`load_serialized_dag`,
cached by content hash): the webserver and the scheduler never import DAG code.
:func:`delete_dag` forgets a DAG's metadata and history but not its file: the DAG comes
back, without history, at the next parse.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.errors import NotFoundError
from engine.models import (
    Dag,
    DagFile,
    DagWarning,
    ParseImportError,
    SerializedDag,
    XCom,
)
from engine.services.pagination import order_columns, within_dags

if TYPE_CHECKING:
    from engine.authoring.serialization import SerializedDAG

logger = logging.getLogger(__name__)

MAX_SOURCE_BYTES = 1_048_576
"""Larger DAG files are shown cut to this size."""


def require_dag(*, session: Session, dag_id: str) -> Dag:
    """The DAG row, or :class:`NotFoundError` naming the id."""
    dag = session.get(Dag, dag_id)
    if dag is None:
        raise NotFoundError(f"no DAG {dag_id!r}; `loom dags list` shows the known ones")
    return dag


def set_dag_paused(*, session: Session, dag_id: str, is_paused: bool) -> Dag:
    """Pause or unpause a DAG (parsing never changes this again)."""
    dag = session.get(Dag, dag_id)
    if dag is None:
        raise NotFoundError(f"no DAG {dag_id!r}")
    if dag.is_paused != is_paused:
        dag.is_paused = is_paused
        if not is_paused:  # a DAG's first run is planned from when it is enabled
            dag.next_dagrun_create_after = None
        logger.info("DAG %s %s", dag_id, "paused" if is_paused else "unpaused")
    return dag


# -- the serialized graph --------------------------------------------------------------------

_PARSED_DAGS: dict[tuple[str, str], SerializedDAG] = {}
"""Deserialized DAGs by (dag_id, dag_hash): a hash names one content, so entries never go
stale; a worker or scheduler deciding a 1,000-task DAG would otherwise rebuild it per task."""
_PARSED_DAGS_LIMIT = 256


def load_serialized_dag(*, session: Session, dag_id: str) -> SerializedDAG:
    """The DAG's graph as last parsed (its latest version), one query when it is cached.
    Raises :class:`NotFoundError` when there is none. The graph a run is scheduled on is
    its own version's: :func:`engine.services.dagversions.load_run_dag`."""
    digest = session.scalar(sa.select(SerializedDag.dag_hash).where(SerializedDag.dag_id == dag_id))
    if digest is None:
        raise NotFoundError(f"no DAG {dag_id!r}")
    return cached_latest_dag(session, dag_id, digest)


def cached_latest_dag(session: Session, dag_id: str, digest: str) -> SerializedDAG:
    """The DAG's latest graph, whose hash the caller read as ``digest``."""

    def load() -> dict[str, Any]:
        data: dict[str, Any] | None = session.scalar(
            sa.select(SerializedDag.data).where(SerializedDag.dag_id == dag_id)
        )
        return data or {}

    return cached_dag(dag_id, digest, load)


def cached_dag(dag_id: str, digest: str, load: Callable[[], dict[str, Any]]) -> SerializedDAG:
    """The DAG whose serialized content has hash ``digest``; ``load`` reads that content
    when it is not cached (the latest graph or any version's: a hash names one content)."""
    cached = _PARSED_DAGS.get((dag_id, digest))
    if cached is not None:
        return cached
    from engine.authoring.serialization import SerializedDAG  # not for a CLI's DAG list

    dag = SerializedDAG.from_dict(load())
    if len(_PARSED_DAGS) >= _PARSED_DAGS_LIMIT:
        _PARSED_DAGS.clear()
    _PARSED_DAGS[(dag_id, digest)] = dag
    return dag


def dag_graph(*, session: Session, dag_id: str) -> dict[str, Any]:
    """The DAG's tasks with their settings, its edges and its params, from the database."""
    require_dag(session=session, dag_id=dag_id)
    dag = load_serialized_dag(session=session, dag_id=dag_id)
    tasks = []
    for task in dag.tasks.values():
        data = task.to_dict()
        data.pop("fields", None)  # operator arguments may be large; the graph is the shape
        tasks.append(data)
    edges = [
        {"source": task.task_id, "target": child, "label": dag.edge_label(task.task_id, child)}
        for task in dag.tasks.values()
        for child in task.downstream_task_ids
    ]
    params = {
        name: {
            "default": None if p.required else p.default,
            "required": p.required,
            "type": p.type,
            "description": p.description,
        }
        for name, p in dag.params.items()
    }
    return {
        "dag_id": dag_id,
        "tasks": tasks,
        "edges": edges,
        "params": params,
        "task_groups": [group.to_dict() for group in dag.task_groups.values()],
    }


@dataclass(frozen=True)
class DagSource:
    """A DAG file's text as the webserver can read it."""

    fileloc: str
    content: str
    truncated: bool


def dag_source(*, session: Session, dag_id: str) -> DagSource:
    """The text of the file that defines ``dag_id``; NotFoundError when it is unreadable here."""
    dag = require_dag(session=session, dag_id=dag_id)
    try:
        with Path(dag.fileloc).open("rb") as handle:
            data = handle.read(MAX_SOURCE_BYTES + 1)
    except OSError:
        raise NotFoundError(
            f"the source of DAG {dag_id!r} ({dag.fileloc}) is not readable"
        ) from None
    text = data[:MAX_SOURCE_BYTES].decode("utf-8", errors="replace")
    return DagSource(dag.fileloc, text, len(data) > MAX_SOURCE_BYTES)


def delete_dag(*, session: Session, dag_id: str) -> None:
    """Forget ``dag_id``: its row, graph, runs, task instances, XComs and dead letters.

    Its file's parse record goes too, so the next parse reads the file again and the
    DAG (if still defined) comes back with no history, as in Airflow. Never commits.
    """
    # Here, not at the top: triggering and reading runs never touch the delivery tables,
    # and mapping them would cost every 'loom dags trigger' (see docs/decisions.md).
    from engine.models import DeadLetter

    dag = require_dag(session=session, dag_id=dag_id)
    session.execute(sa.delete(XCom).where(XCom.dag_id == dag_id))
    session.execute(sa.delete(DeadLetter).where(DeadLetter.dag_id == dag_id))
    session.execute(sa.delete(DagFile).where(DagFile.path == dag.fileloc))
    session.delete(dag)  # serialized graph, runs, task instances: ON DELETE CASCADE
    session.flush()


# -- import errors ---------------------------------------------------------------------------


IMPORT_ERROR_ORDER = order_columns(
    ParseImportError.id, ParseImportError.filename, ParseImportError.created_at
)
"""Columns import error lists may be ordered by."""


def import_error_query(*, session: Session, dag_ids: Collection[str] | None) -> sa.Select[Any]:
    """Import errors; with ``dag_ids``, only those of files that define one of those DAGs."""
    stmt = sa.select(ParseImportError)
    if dag_ids is None:
        return stmt
    wanted = set(dag_ids)
    files = [
        path
        for path, ids in session.execute(sa.select(DagFile.path, DagFile.dag_ids))
        if wanted.intersection(ids or ())
    ]
    return stmt.where(ParseImportError.filename.in_(files))


def dag_warning_query(*, dag_ids: Collection[str] | None) -> sa.Select[Any]:
    """Warnings of active DAGs; with ``dag_ids``, only of those DAGs."""
    stmt = (
        sa.select(DagWarning)
        .join(Dag, Dag.dag_id == DagWarning.dag_id)
        .where(Dag.is_active.is_(True))
    )
    return within_dags(stmt, DagWarning.dag_id, dag_ids)


def get_import_error(
    *, session: Session, id: int, dag_ids: Collection[str] | None = None
) -> ParseImportError:
    """Import error ``id``; NotFoundError when there is none, or (with ``dag_ids``, a
    reader's DAGs) when its file defines none of those DAGs."""
    stmt = import_error_query(session=session, dag_ids=dag_ids)
    error: ParseImportError | None = session.scalars(
        stmt.where(ParseImportError.id == id)
    ).one_or_none()
    if error is None:
        raise NotFoundError(f"no import error {id}")
    return error


def _content(data: dict[str, Any] | None) -> dict[str, Any]:
    return data or {}


def load_serialized_dags(*, session: Session, dag_ids: Collection[str]) -> dict[str, SerializedDAG]:
    """The graphs of ``dag_ids`` as last parsed (those that have one): one query when they
    are cached, else two (those not cached are read together, not one query per DAG)."""
    rows = session.execute(
        sa.select(SerializedDag.dag_id, SerializedDag.dag_hash).where(
            SerializedDag.dag_id.in_(sorted(dag_ids))
        )
    ).all()
    missing = sorted(dag_id for dag_id, digest in rows if (dag_id, digest) not in _PARSED_DAGS)
    if missing:
        # Each graph is cached under the hash read with it, so a parse in between
        # cannot file one content under another's hash.
        fresh = session.execute(
            sa.select(SerializedDag.dag_id, SerializedDag.dag_hash, SerializedDag.data).where(
                SerializedDag.dag_id.in_(missing)
            )
        )
        for dag_id, digest, data in fresh:
            cached_dag(dag_id, digest, functools.partial(_content, data))
    return {dag_id: cached_latest_dag(session, dag_id, digest) for dag_id, digest in rows}
