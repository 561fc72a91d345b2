"""Tries orphaned on this host: ``running`` here, but their process is gone.

When ``loom standalone`` or a ``loom worker`` dies by ``kill -9`` (or the machine's OOM
killer), its running tries keep their state until zombie detection notices their silent
heartbeat (``scheduler.zombie_threshold``, a minute by default). When Loom starts again on
the same host it knows better at once: a try recorded on this hostname whose pid no longer
exists cannot be running. :func:`recover_orphaned_tries` fails those through the zombie
path (normal retry rules, dead letters, alerts), ended at their last heartbeat.

A pid that exists is left alone, whoever owns it now: a reused pid only delays the try to
zombie detection. Processes that share a hostname but not a pid namespace (containers on
the host network) would see each other's live pids as dead: ``core.recover_orphaned_tries``
turns the check off there.

:func:`fail_stopped_tries` ends the tries whose process Loom itself just stopped (a second
Ctrl-C in ``loom standalone``) the same way, at once, with error type ``Interrupted``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.execution.outcomes import record_failure
from engine.models import TaskInstance
from engine.scheduling.maintenance import fail_dead_tries
from engine.services.dagversions import load_run_dags
from engine.state import TaskInstanceState

logger = logging.getLogger(__name__)


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (one of another user counts). A zombie
    does not: a killed worker's child stays one for good under an init that does not reap
    (some container runtimes), and it runs no task."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (macOS), or it just ended
        return False
    # The state follows the command name, which is in parentheses and may hold any text.
    return stat.rpartition(")")[2].split()[:1] in (["Z"], ["X"])


def recover_orphaned_tries(
    *,
    session: Session,
    hostname: str,
    now: datetime,
    alive: Callable[[int], bool] = pid_alive,
) -> list[TaskInstance]:
    """Fail every try running on ``hostname`` whose process is not ``alive``; returns them."""
    running = session.scalars(
        sa.select(TaskInstance)
        .where(
            TaskInstance.state == TaskInstanceState.RUNNING,
            TaskInstance.hostname == hostname,
            TaskInstance.pid.is_not(None),
        )
        .order_by(TaskInstance.id)
        .with_for_update(skip_locked=True)
    ).all()
    orphans = [ti for ti in running if ti.pid is not None and not alive(ti.pid)]
    return fail_dead_tries(session=session, tis=orphans, now=now, reason=_gone)


def _gone(ti: TaskInstance) -> str:
    return f"its process {ti.pid} on {ti.hostname} is gone (found when Loom started again there)"


INTERRUPTED_ERROR = "Interrupted"
"""The error type of a try that ``loom standalone`` stopped on a second Ctrl-C."""


def fail_stopped_tries(
    *, session: Session, tries: Sequence[tuple[int, int]], now: datetime, message: str
) -> list[tuple[TaskInstance, TaskInstanceState]]:
    """End each of ``tries`` (``(ti_id, try_number)``, its process just stopped by us) as
    failed with error type ``Interrupted``: ``up_for_retry`` while tries remain, else
    ``failed``. Returns each one ended with its new state; a try that finished meanwhile
    (no longer running at that number) is left alone."""
    by_id = dict(tries)
    running = session.scalars(
        sa.select(TaskInstance)
        .where(TaskInstance.id.in_(by_id), TaskInstance.state == TaskInstanceState.RUNNING)
        .order_by(TaskInstance.id)
        .with_for_update()
    ).all()
    current = [ti for ti in running if ti.try_number == by_id[ti.id]]
    dags = load_run_dags(session=session, run_ids={ti.dag_run_id for ti in current})
    ended = []
    for ti in current:
        found = dags.get(ti.dag_run_id)
        task = found.dag.tasks.get(ti.task_id) if found is not None else None
        if task is None:
            logger.warning(
                "stopped try %s.%s.%s: its task is gone", ti.dag_id, ti.run_id, ti.task_id
            )
            continue
        state = record_failure(
            session=session, ti=ti, task=task, error_type=INTERRUPTED_ERROR,
            message=message, traceback=None, now=now,
        )  # fmt: skip
        ended.append((ti, state))
    return ended
