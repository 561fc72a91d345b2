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
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.models import TaskInstance
from engine.scheduling.maintenance import fail_dead_tries
from engine.state import TaskInstanceState


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
