"""FileSensor: wait for a file, or a directory with a file in it, to appear."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from engine.authoring.operators.sensors.base import BaseSensorOperator
from engine.authoring.signals import FailTask
from engine.authoring.triggers.file import FileTrigger, matching_file

DEFAULT_FS_CONN_ID = "fs_default"


class FileSensor(BaseSensorOperator):
    """Done when ``filepath`` (templated; a glob pattern, ``**`` with ``recursive=True``)
    matches a file, or a directory holding a file somewhere below it.

    ``deferrable=True`` waits on a :class:`FileTrigger` in a triggerer (bounded by
    ``timeout``). ``fs_conn_id`` is accepted as ``fs_default`` only (a path relative to the worker's
    working directory); other filesystem connections are not supported yet.
    """

    template_fields: ClassVar[tuple[str, ...]] = ("filepath",)
    can_defer: ClassVar[bool] = True

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
        return matching_file(self.filepath, recursive=self.recursive) is not None

    def trigger_for(self, context: Mapping[str, Any]) -> FileTrigger:
        return FileTrigger(
            self.filepath, recursive=self.recursive, poke_interval=self.poke_interval
        )

    def execute_complete(self, context: Mapping[str, Any], event: Any = None) -> Any:
        if not event:
            raise FailTask(f"{self.task_id} failed: {self.filepath} was not found")
        return None

    def serialize_fields(self) -> dict[str, Any]:
        return {**super().serialize_fields(), "recursive": self.recursive}
