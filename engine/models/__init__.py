"""Loom's database models (SQLAlchemy 2, typed), re-exported from one place.

``Base.metadata`` describes the whole schema; the Alembic migrations in ``migrations/``
create exactly it. The names are listed in ``__init__.pyi`` and loaded on use
(:mod:`engine.lazy`): ``from engine.models import Dag`` imports the DAG models alone, so a
command that reads one table does not build every mapped class. Asking for ``Base`` loads
every model module, so that its metadata is the whole schema.
"""

from __future__ import annotations

import importlib
from typing import Any

from engine.lazy import attach_stub

_attribute, __dir__, __all__ = attach_stub(__name__, __file__)

MODEL_MODULES = (
    "engine.models.assets",
    "engine.models.backfills",
    "engine.models.changes",
    "engine.models.dags",
    "engine.models.heartbeats",
    "engine.models.operations",
    "engine.models.runs",
    "engine.models.secrets",
    "engine.models.security",
    "engine.models.triggers",
)
"""Every module that defines tables; each imports the modules its foreign keys name."""


def __getattr__(name: str) -> Any:
    if name == "Base":
        for module in MODEL_MODULES:
            importlib.import_module(module)
    return _attribute(name)
