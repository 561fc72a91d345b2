"""At start-up, fail the tries an earlier process on this host left ``running`` when it
died (see :mod:`engine.scheduling.orphans`): ``loom standalone`` and ``loom worker`` call
:func:`recover_orphans` before they take work."""

from __future__ import annotations

import logging
import socket

from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings
from engine.scheduling.orphans import recover_orphaned_tries
from engine.timeutil import utcnow

logger = logging.getLogger(__name__)


def recover_orphans(settings: Settings, session_factory: sessionmaker[Session]) -> int:
    """Fail this host's orphaned tries (committed); how many. A database error is logged
    and ignored: zombie detection still fails those tries, later."""
    if not settings.core.recover_orphaned_tries:
        return 0
    hostname = socket.gethostname()
    try:
        with session_factory() as session, session.begin():
            failed = recover_orphaned_tries(session=session, hostname=hostname, now=utcnow())
    except Exception:
        logger.exception("recovering the tries orphaned on %s failed", hostname)
        return 0
    for ti in failed:
        logger.info(
            "orphaned try %s.%s.%s try %s (pid %s) failed at start-up",
            ti.dag_id, ti.run_id, ti.task_id, ti.try_number, ti.pid,
        )  # fmt: skip
    return len(failed)
