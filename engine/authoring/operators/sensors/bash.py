"""BashSensor: poke by running a shell command; exit status 0 means done."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from typing import Any, ClassVar

from engine.authoring.operators.sensors.base import BaseSensorOperator
from engine.authoring.operators.streaming import command_environment


class BashSensorFailed(Exception):  # noqa: N818 - reads as the task's failure reason
    """The command exited with a status that is neither 0 nor ``retry_exit_code``."""


class BashSensor(BaseSensorOperator):
    """Run ``bash_command`` (templated) with ``bash -c`` at each poke: exit status 0 is
    done. Any other status pokes again, unless ``retry_exit_code`` is set: then only that
    status pokes again and any other fails the task, as in Airflow."""

    template_fields: ClassVar[tuple[str, ...]] = ("bash_command", "env")
    template_ext = (".sh", ".bash")

    def __init__(
        self,
        task_id: str,
        bash_command: str,
        *,
        env: Mapping[str, str] | None = None,
        output_encoding: str = "utf-8",
        retry_exit_code: int | None = None,
        cwd: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        if not isinstance(bash_command, str) or not bash_command.strip():
            self.problems.append("bash_command must be a non-empty string")
        self.bash_command = bash_command
        self.env = dict(env) if env is not None else None
        self.output_encoding = output_encoding
        self.retry_exit_code = retry_exit_code
        self.cwd = cwd

    def poke(self, context: Mapping[str, Any]) -> bool:
        done = subprocess.run(
            ["bash", "-c", self.bash_command],
            env=command_environment(self.env),
            cwd=self.cwd,
            capture_output=True,
            check=False,
        )
        output = (done.stdout + done.stderr).decode(self.output_encoding, errors="replace")
        if output.strip():
            print(output.rstrip())  # the task's log
        if done.returncode == 0:
            return True
        if self.retry_exit_code is not None and done.returncode != self.retry_exit_code:
            raise BashSensorFailed(f"command exited with status {done.returncode}")
        return False
