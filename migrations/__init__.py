"""Loom's Alembic environment and numbered, reversible revisions.

:mod:`engine.models.migrate` drives them; this package only says where its scripts are
and how Alembic compares the models, so that ``env.py`` needs nothing of the driver and
the two never import each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.models import Base

SCRIPT_LOCATION = Path(__file__).parent
"""The folder of ``env.py`` and ``versions/``."""


def migration_options(dialect_name: str) -> dict[str, Any]:
    """Options for ``context.configure`` shared by ``env.py`` and the schema check."""
    return {
        "target_metadata": Base.metadata,
        "compare_type": True,
        "render_as_batch": dialect_name == "sqlite",
    }
