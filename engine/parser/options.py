"""How DAG files are parsed: the options every parse function takes, in one record.

A :class:`ParseOptions` crosses into each parser child (pickled with the child's
arguments), so it holds plain values only; its module is a leaf that
:mod:`engine.parser.processor` imports, and the forkserver thus has it loaded before any
child unpickles one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.config import Settings


@dataclass(frozen=True)
class ParseOptions:
    """Where DAG files live and how a child imports one."""

    dags_folder: Path
    """Put on ``sys.path`` before a file is imported, so that it can import its neighbours."""
    timeout: float
    """Seconds one file may take to import before it becomes an import error."""
    parallelism: int = 1
    """How many files are parsed at once."""
    plugins_folder: Path | None = None
    """Plugins every child loads before the file (None: no plugins)."""
    cron_data_intervals: bool = False
    """What a cron string as ``schedule`` becomes (``scheduler.create_cron_data_intervals``)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseOptions:
        """The options ``core.*`` and ``scheduler.create_cron_data_intervals`` say."""
        core = settings.core
        return cls(
            dags_folder=core.dags_folder,
            timeout=core.parse_timeout.total_seconds(),
            parallelism=core.parse_parallelism,
            plugins_folder=core.plugins_folder,
            cron_data_intervals=settings.scheduler.create_cron_data_intervals,
        )
