"""FileSensor: wait for a file, or a directory with a file in it, to appear."""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from engine.authoring.operators.sensors.base import BaseSensorOperator

DEFAULT_FS_CONN_ID = "fs_default"


class FileSensor(BaseSensorOperator):
    """Done when ``filepath`` (templated; a glob pattern, ``**`` with ``recursive=True``)
    matches a file, or a directory holding a file somewhere below it.

    ``fs_conn_id`` is accepted as ``fs_default`` only (a path relative to the worker's
    working directory); other filesystem connections are not supported yet.
    """

    template_fields: ClassVar[tuple[str, ...]] = ("filepath",)

    def __init__(
        self,
        task_id: str,
        filepath: str,
        *,
        fs_conn_id: str = DEFAULT_FS_CONN_ID,
        recursive: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        if not isinstance(filepath, str) or not filepath:
            self.problems.append("filepath must be a non-empty string")
        if fs_conn_id != DEFAULT_FS_CONN_ID:
            self.problems.append(
                f"fs_conn_id {fs_conn_id!r} is not supported: only {DEFAULT_FS_CONN_ID!r} is"
            )
        self.filepath = filepath
        self.fs_conn_id = fs_conn_id
        self.recursive = recursive

    def poke(self, context: Mapping[str, Any]) -> bool:
        print(f"poking for file {self.filepath}")
        # glob.glob, not Path.glob: the pattern may be absolute.
        for path in glob.glob(self.filepath, recursive=self.recursive):  # noqa: PTH207
            if Path(path).is_file():
                return True
            if any(files for _, _, files in os.walk(path)):
                return True
        return False

    def serialize_fields(self) -> dict[str, Any]:
        return {
            **super().serialize_fields(),
            "filepath": self.filepath,
            "recursive": self.recursive,
        }
