"""How every Loom process reaches its database: one session factory per process, on the
engine the ``database`` settings describe (URL, pool size, statement echo)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from engine.models.session import engine_for, make_session_factory

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from engine.config import Settings


def session_factory_for(settings: Settings, *, forks: bool = False) -> sessionmaker[Session]:
    """Sessions on the database of ``settings``.

    ``forks``: the process forks children that use the database too (an RQ worker's work
    horses); each child then drops the pooled connections it inherited instead of
    sharing them with its parent.
    """
    engine = engine_for(settings.database)
    if forks:
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    return make_session_factory(engine)
