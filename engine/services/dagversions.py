"""DAG versions: the graph each run is scheduled on, and the history of a DAG's graphs.

The parser adds a version (numbered 1, 2, ... per DAG) whenever a DAG's serialized
content changes (:func:`add_version_if_changed`). A run records the version it was created
with (:func:`latest_dag_version` at creation) and everything that decides about the run
reads that version's graph (:func:`load_run_dags`), so a task added to the file later
gets no task instance in the run and a task removed later still runs there. Runs older
than versions (``dag_version_id`` NULL) follow the latest graph.

Graphs are deserialized once per content (:func:`engine.services.dags.cached_dag`), so a
tick that decides 100 running runs of one version costs one small query, not 100 parses.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only

from engine.authoring.serialization import SerializedDAG
from engine.errors import NotFoundError
from engine.models import DagRun, DagVersion, SerializedDag
from engine.services.dags import (
    MAX_SOURCE_BYTES,
    DagSource,
    cached_dag,
    cached_latest_dag,
    load_serialized_dag,
    require_dag,
)
from engine.services.pagination import Page, order_columns

logger = logging.getLogger(__name__)


# -- writing (the parser) ------------------------------------------------------------------


def add_version_if_changed(
    data: dict[str, Any],
    digest: str,
    *,
    fileloc: str,
    file_hash: str,
    source: Callable[[], str | None],
    session: Session,
    now: datetime,
) -> DagVersion | None:
    """Add the next version of ``data["dag_id"]`` unless its latest version has ``digest``.

    A DAG that returns to an earlier content gets a new number too: versions tell the
    story in order. ``source`` reads the file's text, called only for a new version.
    Returns the new version, or None when nothing changed.
    """
    dag_id = str(data["dag_id"])
    latest = _latest_version(session, dag_id)
    if latest is not None and latest.dag_hash == digest:
        return None
    number = 1 if latest is None else latest.version_number + 1
    version = DagVersion(
        dag_id=dag_id,
        version_number=number,
        data=data,
        dag_hash=digest,
        fileloc=fileloc,
        file_hash=file_hash,
        source_code=source(),
        created_at=now,
    )
    session.add(version)
    logger.info("DAG %s: version %s (%s)", dag_id, number, digest[:12])
    return version


# -- the graph of a run --------------------------------------------------------------------


@dataclass(frozen=True)
class RunDag:
    """The graph a run is scheduled on and the file that defines its DAG today."""

    dag: SerializedDAG
    fileloc: str
    version_number: int | None


def latest_dag_version(*, session: Session, dag_id: str) -> tuple[SerializedDAG, int | None]:
    """The DAG's latest graph and the id of its version (None when it has no version yet),
    for a new run. Raises :class:`NotFoundError` when the DAG has no graph."""
    row = _latest_version(session, dag_id)
    if row is None:
        return load_serialized_dag(session=session, dag_id=dag_id), None
    return _version_dag(session, dag_id, row.dag_hash, row.id), row.id


def _latest_version(session: Session, dag_id: str) -> Any:
    """The id, number and hash of the DAG's latest version; None when it has none."""
    return session.execute(
        sa.select(DagVersion.id, DagVersion.version_number, DagVersion.dag_hash)
        .where(DagVersion.dag_id == dag_id)
        .order_by(DagVersion.version_number.desc())
        .limit(1)
    ).one_or_none()


def load_run_dags(*, session: Session, run_ids: Collection[int]) -> dict[int, RunDag]:
    """Each run's graph (its version's, else the latest) by run id, in one query when the
    graphs are cached. Runs whose DAG has no graph any more are left out."""
    if not run_ids:
        return {}
    stmt = (
        sa.select(
            DagRun.id,
            DagRun.dag_id,
            DagRun.dag_version_id,
            DagVersion.dag_hash.label("version_hash"),
            DagVersion.version_number,
            SerializedDag.dag_hash.label("latest_hash"),
            SerializedDag.fileloc,
        )
        .join(SerializedDag, SerializedDag.dag_id == DagRun.dag_id)
        .outerjoin(DagVersion, DagVersion.id == DagRun.dag_version_id)
        .where(DagRun.id.in_(sorted(run_ids)))
    )
    return {row.id: _run_dag(session, row) for row in session.execute(stmt)}


def load_run_dag(*, session: Session, run: DagRun) -> RunDag:
    """The graph ``run`` is scheduled on; :class:`NotFoundError` when its DAG has none."""
    found = load_run_dags(session=session, run_ids=[run.id])
    if run.id not in found:
        raise NotFoundError(f"no DAG {run.dag_id!r}")
    return found[run.id]


def run_dag_of(*, session: Session, row: Any) -> RunDag:
    """The graph of a run from a row read like :func:`load_run_dags`'s (``dag_id``,
    ``dag_version_id``, ``version_hash``, ``version_number``, ``latest_hash``,
    ``fileloc``): a worker's claim reads them in its own statement."""
    return _run_dag(session, row)


def _run_dag(session: Session, row: Any) -> RunDag:
    if row.version_hash is None:
        dag = cached_latest_dag(session, row.dag_id, row.latest_hash)
    else:
        dag = _version_dag(session, row.dag_id, row.version_hash, row.dag_version_id)
    return RunDag(dag, row.fileloc or "", row.version_number)


def _version_dag(session: Session, dag_id: str, digest: str, version_id: int) -> SerializedDAG:
    return cached_dag(dag_id, digest, lambda: _version_data(session, version_id))


def _version_data(session: Session, version_id: int) -> dict[str, Any]:
    data: dict[str, Any] | None = session.scalar(
        sa.select(DagVersion.data).where(DagVersion.id == version_id)
    )
    return data or {}


# -- the history of a DAG ------------------------------------------------------------------


LISTED_FIELDS = load_only(
    DagVersion.id, DagVersion.dag_id, DagVersion.version_number, DagVersion.created_at
)
"""What a version shows in lists and in its runs (not its graph or source)."""

VERSION_ORDER = order_columns(DagVersion.id, DagVersion.version_number)
"""Columns version lists may be ordered by."""


def version_query(
    *,
    dag_id: str,
    version_number: int | None = None,
    bundle_name: str | None = None,
    bundle_version: str | None = None,
) -> sa.Select[Any]:
    """The versions of ``dag_id`` (:data:`LISTED_FIELDS` loaded), only ``version_number``
    when given; unordered (the caller pages them). Loom keeps no bundles: naming a
    ``bundle_name`` or ``bundle_version`` matches no version."""
    stmt = sa.select(DagVersion).options(LISTED_FIELDS).where(DagVersion.dag_id == dag_id)
    if version_number is not None:
        stmt = stmt.where(DagVersion.version_number == version_number)
    if bundle_name is not None or bundle_version is not None:
        stmt = stmt.where(sa.false())
    return stmt


def listed_versions(*, session: Session, ids: Collection[int]) -> list[DagVersion]:
    """The versions ``ids`` (:data:`LISTED_FIELDS` loaded), in one query."""
    stmt = sa.select(DagVersion).options(LISTED_FIELDS).where(DagVersion.id.in_(sorted(ids)))
    return list(session.scalars(stmt))


def listed_version(*, session: Session, id: int) -> DagVersion | None:
    """Version ``id`` (:data:`LISTED_FIELDS` loaded); no query when the session holds it."""
    return session.get(DagVersion, id, options=[LISTED_FIELDS])


@dataclass(frozen=True)
class VersionSummary:
    """One version as lists show it."""

    dag_id: str
    version_number: int
    created_at: datetime
    dag_hash: str
    task_count: int
    run_count: int
    """Runs created with this version."""


def list_versions(
    *, session: Session, dag_id: str, limit: int | None = None, offset: int = 0
) -> Page[VersionSummary]:
    """A page of the versions of ``dag_id``, newest first (all of them without ``limit``);
    :class:`NotFoundError` for an unknown DAG."""
    require_dag(session=session, dag_id=dag_id)
    stmt = sa.select(DagVersion.id, DagVersion.version_number, DagVersion.created_at,
                     DagVersion.dag_hash).where(DagVersion.dag_id == dag_id)  # fmt: skip
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    page = stmt.order_by(DagVersion.version_number.desc()).offset(offset)
    rows = session.execute(page if limit is None else page.limit(limit)).all()
    runs = _runs_per_version(session, [row.id for row in rows])
    items = [_summary(session, dag_id, row, runs.get(row.id, 0)) for row in rows]
    return Page(items=items, total=total, limit=len(items) if limit is None else limit,
                offset=offset)  # fmt: skip


def describe_version(*, session: Session, dag_id: str, version_number: int) -> VersionSummary:
    """Version ``version_number`` of ``dag_id`` as lists show it."""
    version = get_version(session=session, dag_id=dag_id, version_number=version_number)
    runs = _runs_per_version(session, [version.id]).get(version.id, 0)
    return _summary(session, dag_id, version, runs)


def _summary(session: Session, dag_id: str, row: Any, run_count: int) -> VersionSummary:
    return VersionSummary(
        dag_id=dag_id,
        version_number=row.version_number,
        created_at=row.created_at,
        dag_hash=row.dag_hash,
        task_count=len(_version_dag(session, dag_id, row.dag_hash, row.id).tasks),
        run_count=run_count,
    )


def _runs_per_version(session: Session, version_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        sa.select(DagRun.dag_version_id, sa.func.count())
        .where(DagRun.dag_version_id.in_(version_ids))
        .group_by(DagRun.dag_version_id)
    ).all()
    return {int(version_id): int(count) for version_id, count in rows if version_id is not None}


def get_version(*, session: Session, dag_id: str, version_number: int) -> DagVersion:
    """Version ``version_number`` of ``dag_id``; :class:`NotFoundError` naming what is missing."""
    require_dag(session=session, dag_id=dag_id)
    version = session.scalar(
        sa.select(DagVersion).where(
            DagVersion.dag_id == dag_id, DagVersion.version_number == version_number
        )
    )
    if version is None:
        raise NotFoundError(
            f"DAG {dag_id!r} has no version {version_number}; "
            f"`loom dags versions {dag_id}` lists them"
        )
    return version


def version_source(*, session: Session, dag_id: str, version_number: int) -> DagSource:
    """The text of the DAG's file as it was parsed into ``version_number``."""
    version = get_version(session=session, dag_id=dag_id, version_number=version_number)
    if version.source_code is None:
        raise NotFoundError(
            f"the source of version {version_number} of DAG {dag_id!r} was not kept "
            "(versions from before upgrading, or a file that changed while being parsed)"
        )
    raw = version.source_code.encode()  # kept cut at MAX_SOURCE_BYTES + 1 bytes
    text = raw[:MAX_SOURCE_BYTES].decode(errors="replace")
    return DagSource(version.fileloc, text, len(raw) > MAX_SOURCE_BYTES)


def read_source(path: str, file_hash: str) -> str | None:
    """The text of DAG file ``path`` when its content still has ``file_hash`` (what was
    parsed), else None; cut to :data:`MAX_SOURCE_BYTES` (and one byte more, which tells it
    was cut)."""
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    if hashlib.sha256(raw).hexdigest() != file_hash:
        return None
    return raw[: MAX_SOURCE_BYTES + 1].decode("utf-8", errors="replace")
