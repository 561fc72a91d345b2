"""FileTrigger: fire when a file (or a glob pattern) shows up."""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from engine.authoring.triggers.base import BaseTrigger, TriggerEvent, classpath_of


def matching_file(pattern: str, *, recursive: bool) -> str | None:
    """The first path matching ``pattern`` that is a file or a directory with a file
    somewhere below it; None when there is none. Shared with :class:`FileSensor`."""
    # glob.glob, not Path.glob: the pattern may be absolute.
    for path in glob.glob(pattern, recursive=recursive):  # noqa: PTH207
        if Path(path).is_file() or any(files for _, _, files in os.walk(path)):
            return path
    return None


class FileTrigger(BaseTrigger):
    """Check for ``filepath`` every ``poke_interval`` seconds; fire with ``True`` once it
    matches (Airflow's payload)."""

    def __init__(self, filepath: str, *, recursive: bool = False, poke_interval: float = 5.0):
        super().__init__()
        if not isinstance(filepath, str) or not filepath:
            raise ValueError("filepath must be a non-empty string")
        self.filepath = filepath
        self.recursive = bool(recursive)
        self.poke_interval = float(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {
            "filepath": self.filepath,
            "recursive": self.recursive,
            "poke_interval": self.poke_interval,
        }
        return classpath_of(FileTrigger), kwargs

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            # The file system may block (a network mount): off the loop.
            found = await asyncio.to_thread(matching_file, self.filepath, recursive=self.recursive)
            if found is not None:
                yield TriggerEvent(True)
                return
            await asyncio.sleep(self.poke_interval)
