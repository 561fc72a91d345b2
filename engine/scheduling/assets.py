"""Asset-triggered runs: a run of each DAG whose asset condition the queued events satisfy.

For each DAG with rows in ``asset_dag_run_queue`` (an asset updated since the DAG last
consumed it), under the DAG row's lock (``FOR UPDATE SKIP LOCKED``, as
:mod:`~engine.scheduling.dagruns`): evaluate the schedule's condition over the queued
assets (an alias counts as queued when an asset it stood for is); when it holds, create a
run (``asset_triggered__<time>``), link the events it consumes (``dagrun_asset_event``:
the run's ``triggering_asset_events``) and delete the queue rows it read, in one
transaction. Two schedulers never handle one DAG at once, and the ``(dag_id, run_id)``
key backs that up. ``AssetOrTimeSchedule`` DAGs get these runs besides their timed ones.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.assets import Asset, AssetAlias, BaseAsset
from engine.authoring.schedules import DataInterval
from engine.authoring.timetables.assets import asset_condition
from engine.errors import ConflictError, NotFoundError
from engine.models import (
    AssetAliasAsset,
    AssetAliasModel,
    AssetDagRunQueue,
    AssetEvent,
    AssetModel,
    Dag,
    DagRun,
    DagRunAssetEvent,
    DagRunType,
)
from engine.services.dagversions import latest_dag_version
from engine.services.runs import create_dag_run, make_run_id

logger = logging.getLogger(__name__)


def create_asset_triggered_runs(*, session: Session, now: datetime) -> list[DagRun]:
    """Create a run of every DAG whose queued asset events satisfy its schedule."""
    dag_ids = session.scalars(sa.select(AssetDagRunQueue.target_dag_id).distinct()).all()
    created: list[DagRun] = []
    for dag_id in sorted(dag_ids):
        row = session.scalars(
            sa.select(Dag)
            .where(Dag.dag_id == dag_id, Dag.is_active, sa.not_(Dag.is_paused))
            .with_for_update(skip_locked=True)
        ).one_or_none()
        if row is not None:
            run = _consider(dag_id, session=session, now=now)
            created += [run] if run is not None else []
    return created


def _consider(dag_id: str, *, session: Session, now: datetime) -> DagRun | None:
    try:
        dag, version_id = latest_dag_version(session=session, dag_id=dag_id)
    except NotFoundError:
        return None
    # Locked: a worker queueing a new event for the same asset waits for this transaction
    # (see record_event), so its event is either read here or queued afresh after it.
    queued = session.scalars(
        sa.select(AssetDagRunQueue)
        .where(AssetDagRunQueue.target_dag_id == dag_id)
        .with_for_update()
    ).all()
    condition = asset_condition(dag.schedule)
    if condition is None:  # no longer scheduled on assets: nothing will consume these
        _dequeue(dag_id, [q.asset_id for q in queued], session=session)
        return None
    if not condition.evaluate(_queued_checker([q.asset_id for q in queued], session=session)):
        return None
    events = _unconsumed_events(dag_id, queued, session=session)
    try:
        run = create_dag_run(
            session=session,
            dag=dag,
            dag_version_id=version_id,
            run_id=make_run_id(DagRunType.ASSET_TRIGGERED, now),
            run_type=DagRunType.ASSET_TRIGGERED,
            logical_date=now,
            data_interval=_interval_of(events, now),
            conf=None,
            run_after=now,
            now=now,
        )
    except ConflictError:
        logger.warning("DAG %s: asset-triggered run at %s exists already", dag_id, now)
        return None
    session.add_all(DagRunAssetEvent(dag_run_id=run.id, event_id=e.id) for e in events)
    _dequeue(dag_id, [q.asset_id for q in queued], session=session)
    logger.info("DAG %s: run %s triggered by %s asset event(s)", dag_id, run.run_id, len(events))
    return run


def _queued_checker(asset_ids: Collection[int], *, session: Session) -> _IsQueued:
    keys = {
        (name, uri)
        for name, uri in session.execute(
            sa.select(AssetModel.name, AssetModel.uri).where(AssetModel.id.in_(asset_ids))
        )
    }
    aliases = set(
        session.scalars(
            sa.select(AssetAliasModel.name)
            .join(AssetAliasAsset, AssetAliasAsset.alias_id == AssetAliasModel.id)
            .where(AssetAliasAsset.asset_id.in_(asset_ids))
        )
    )
    return _IsQueued(keys, aliases)


class _IsQueued:
    """Whether an asset or alias of a condition has an event the DAG has not consumed."""

    def __init__(self, keys: set[tuple[str, str]], aliases: set[str]) -> None:
        self._keys, self._aliases = keys, aliases

    def __call__(self, item: BaseAsset) -> bool:
        if isinstance(item, Asset):
            return item.key in self._keys
        return isinstance(item, AssetAlias) and item.name in self._aliases


def _unconsumed_events(
    dag_id: str, queued: Collection[AssetDagRunQueue], *, session: Session
) -> list[AssetEvent]:
    """The events of the queued assets since each was queued, none consumed by an earlier
    run of this DAG (clocks of workers and schedulers may differ a little)."""
    if not queued:
        return []
    consumed = (
        sa.select(DagRunAssetEvent.event_id)
        .join(DagRun, DagRun.id == DagRunAssetEvent.dag_run_id)
        .where(DagRun.dag_id == dag_id, DagRunAssetEvent.event_id == AssetEvent.id)
    )
    since = sa.or_(
        *(
            sa.and_(AssetEvent.asset_id == q.asset_id, AssetEvent.timestamp >= q.created_at)
            for q in queued
        )
    )
    return list(
        session.scalars(
            sa.select(AssetEvent)
            .where(since, ~sa.exists(consumed))
            .order_by(AssetEvent.timestamp, AssetEvent.id)
        ).all()
    )


def _interval_of(events: list[AssetEvent], now: datetime) -> DataInterval:
    """From the first consumed event to the last (Airflow 2's interval of such a run)."""
    if not events:
        return DataInterval(now, now)
    return DataInterval(events[0].timestamp, events[-1].timestamp)


def _dequeue(dag_id: str, asset_ids: list[int], *, session: Session) -> None:
    session.execute(
        sa.delete(AssetDagRunQueue).where(
            AssetDagRunQueue.target_dag_id == dag_id, AssetDagRunQueue.asset_id.in_(asset_ids)
        )
    )
