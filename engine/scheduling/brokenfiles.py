"""Hold the tasks of DAGs whose file does not import now: they stay ``scheduled`` (not
queued, no try spent) until the parser has seen the file import again.

A worker imports the DAG file to run a try; queueing tries of a file that fails to import
would only burn their retries one after another. See
:mod:`engine.services.brokenfiles` for what "does not import" means.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from engine.scheduling.submission import Waiting
from engine.services.brokenfiles import broken_dags

logger = logging.getLogger(__name__)


def hold_broken(waiting: list[Waiting], *, session: Session) -> list[Waiting]:
    """``waiting`` without the instances of DAGs whose file does not import now."""
    if not waiting:
        return waiting
    broken = broken_dags(session=session, dag_ids={ti.dag_id for ti in waiting})
    if not broken:
        return waiting
    kept = [ti for ti in waiting if ti.dag_id not in broken]
    logger.debug(
        "holding %s task instances of DAGs whose file does not import: %s",
        len(waiting) - len(kept), ", ".join(sorted(broken)),
    )  # fmt: skip
    return kept
