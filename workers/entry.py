"""The function RQ workers (and the local executor's processes) call for each job.

A job carries ids only: ``run_job(ti_id=.., try_number=..)`` runs a try,
``run_dag_callbacks(request_id=.., dag_run_id=.., state=.., reason=..)`` a finished run's
DAG callbacks. What the runner needs
besides (settings, the database engine, where to submit follow-up tries) is built once
per worker process by :func:`warm_up`, before jobs fork from it, and reused by every
job; the database engine drops connections inherited across a fork.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings, load_settings
from engine.config.masking import forget_secrets
from engine.execution import secrets
from engine.execution.remotelogs import RemoteLogs, remote_logs_from
from engine.executors import Executor, worker_executor
from engine.models.crypto import crypter_for
from engine.runtime.database import session_factory_for
from engine.scheduling.maintenance import fail_dead_try
from engine.timeutil import utcnow
from workers.context import RunnerContext, RunnerSettings
from workers.dagcache import DagCache
from workers.dagcallbacks import run_dag_callbacks as _run_dag_callbacks
from workers.runner import run_task

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Process:
    """What every job of one worker process shares."""

    settings: Settings
    session_factory: sessionmaker[Session]
    executor: Executor
    dag_cache: DagCache
    remote_logs: RemoteLogs | None


def run_job(ti_id: int, try_number: int) -> str | None:
    """Run one try of one task instance; returns its final state, or None if not claimed."""
    shared = warm_up()
    ctx = RunnerContext(
        session_factory=shared.session_factory,
        executor=shared.executor,
        settings=RunnerSettings.from_settings(shared.settings),
        dag_cache=shared.dag_cache,
        remote_logs=shared.remote_logs,
    )
    forget_secrets()  # a reused process (the local executor's) masks only this try's reads
    state = run_task(ti_id, try_number, ctx=ctx)
    return None if state is None else str(state.value)


def run_dag_callbacks(request_id: int, dag_run_id: int, state: str, reason: str) -> int:
    """Run the DAG callbacks a finished run asked for (outbox request ``request_id``);
    returns how many were called."""
    shared = warm_up()
    logger.debug("callback request %s for dag run %s", request_id, dag_run_id)
    return _run_dag_callbacks(
        dag_run_id=dag_run_id,
        state=state,
        reason=reason,
        session_factory=shared.session_factory,
        dag_cache=shared.dag_cache,
        dags_folder=shared.settings.core.dags_folder,
        plugins_folder=shared.settings.core.plugins_folder,
        conf_overrides=shared.settings.core.dag_run_conf_overrides_params,
    )


def fail_lost_try(ti_id: int, try_number: int, *, pid: int) -> bool:
    """Fail try ``try_number`` of ``ti_id`` if process ``pid`` of this host, seen dead by
    its worker, still holds it running; whether it did. Called by the worker process."""
    shared = warm_up()
    with shared.session_factory() as session, session.begin():
        failed = fail_dead_try(
            session=session, ti_id=ti_id, try_number=try_number,
            hostname=socket.gethostname(), pid=pid, now=utcnow(),
        )  # fmt: skip
    return failed is not None


@functools.cache
def warm_up() -> _Process:
    """Load settings and create the database engine, once per process."""
    settings = load_settings()
    session_factory = session_factory_for(settings, forks=True)  # RQ forks work horses
    # Variable.get and BaseHook.get_connection in tasks reach the database through these.
    secrets.configure(
        secrets.SecretsStore(session_factory, crypter_for(settings), secrets.backend_for(settings))
    )
    logger.debug("worker process %s ready", os.getpid())
    return _Process(
        settings=settings,
        session_factory=session_factory,
        executor=worker_executor(settings),
        dag_cache=DagCache(cron_data_intervals=settings.scheduler.create_cron_data_intervals),
        remote_logs=remote_logs_from(settings),
    )
