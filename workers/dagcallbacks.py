"""Running a finished run's DAG callbacks in a worker (see :mod:`engine.delivery.callbacks`).

The job carries ids: the run's primary key, its final state and the reason. The worker
reads the run and the file of its DAG version, imports the file (through the process's
:class:`~workers.dagcache.DagCache`), builds the run's context and calls the DAG's
``on_success_callback`` or ``on_failure_callback``. Nothing here writes to the database:
a callback's error, or a DAG file that no longer imports, is logged with its traceback
and changes nothing about the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from engine.authoring.params import resolve_params
from engine.execution.attempt import run_callbacks
from engine.execution.context import RunInfo, build_dag_context
from engine.models import DagRun
from engine.plugins.loading import load_plugins
from engine.services.dagversions import load_run_dags
from engine.state import DagRunState
from workers.claim import run_info
from workers.dagcache import DagCache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Target:
    """The run whose callbacks are due, and the file that defines its DAG."""

    run: RunInfo
    fileloc: str


def run_dag_callbacks(
    *,
    dag_run_id: int,
    state: str,
    reason: str,
    session_factory: Callable[[], Session],
    dag_cache: DagCache,
    dags_folder: Path | None = None,
    plugins_folder: Path | None = None,
    conf_overrides: bool = True,
) -> int:
    """Call the callbacks of run ``dag_run_id`` for ``state``; how many were called.

    ``conf_overrides`` is ``core.dag_run_conf_overrides_params``: whether the context's
    ``params`` take the run's conf, as the run's tasks do."""
    target = _target(session_factory, dag_run_id)
    if target is None:
        logger.warning("dag run %s is gone: its %s callbacks are not run", dag_run_id, state)
        return 0
    what = f"dag run {target.run.dag_id}.{target.run.run_id}"
    try:
        load_plugins(plugins_folder)
        dag = dag_cache.load(target.fileloc, dags_folder=dags_folder).dag(target.run.dag_id)
        params = resolve_params(dag.params, target.run.conf, conf_overrides=conf_overrides)
    except KeyboardInterrupt:
        raise
    except BaseException:  # user code (the DAG file) failed: logged, the run is unchanged
        logger.exception("%s: its DAG could not be loaded; %s callbacks not run", what, state)
        return 0
    succeeded = DagRunState(state) is DagRunState.SUCCESS
    callbacks = dag.on_success_callback if succeeded else dag.on_failure_callback
    context = build_dag_context(dag=dag, run=target.run, params=params, reason=reason)
    kind = f"dag on_{'success' if succeeded else 'failure'}"
    logger.info("%s: running %s %s callback(s)", what, len(callbacks), kind)
    run_callbacks(callbacks, context, kind=kind)
    return len(callbacks)


def _target(session_factory: Callable[[], Session], dag_run_id: int) -> _Target | None:
    with session_factory() as session:
        run = session.get(DagRun, dag_run_id)
        if run is None:
            return None
        found = load_run_dags(session=session, run_ids=[run.id]).get(run.id)
        if found is None:
            return None
        return _Target(run_info(run), found.fileloc)
