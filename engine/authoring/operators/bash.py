"""BashOperator: run a shell command; its last line of output becomes the XCom."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from typing import Any, ClassVar

from engine.authoring.baseoperator import BaseOperator
from engine.authoring.signals import SkipTask
from engine.authoring.templating import Reference

logger = logging.getLogger(__name__)


class BashCommandFailed(Exception):  # noqa: N818 - reads as the task's failure reason
    """The command exited with a non-zero status."""


class BashOperator(BaseOperator):
    """Run ``bash_command`` (templated) with ``bash -c``.

    Exit status 0 succeeds; ``skip_on_exit_code`` (99 by default) ends the task as
    skipped; anything else fails it. Output is streamed to the task's log.
    """

    template_fields = ("bash_command", "env", "cwd")
    template_ext = (".sh", ".bash")
    template_fields_renderers: ClassVar[dict[str, str]] = {"bash_command": "bash", "env": "json"}

    def __init__(
        self,
        task_id: str,
        bash_command: str,
        *,
        env: Mapping[str, str] | None = None,
        append_env: bool = False,
        cwd: str | None = None,
        skip_on_exit_code: int | None = 99,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        if isinstance(bash_command, Reference):
            pass  # an upstream value or a mapped group's argument, known when the task runs
        elif not isinstance(bash_command, str) or not bash_command.strip():
            self.problems.append("bash_command must be a non-empty string")
        self.bash_command = bash_command
        self.env = dict(env) if env is not None else None
        self.append_env = append_env
        self.cwd = cwd
        self.skip_on_exit_code = skip_on_exit_code

    def _environment(self) -> dict[str, str] | None:
        if self.env is None:
            return None
        base = dict(os.environ) if self.append_env else {"PATH": os.environ.get("PATH", "")}
        return {**base, **{k: str(v) for k, v in self.env.items()}}

    def execute(self, context: Mapping[str, Any]) -> str | None:
        with subprocess.Popen(
            ["bash", "-c", self.bash_command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self._environment(),
            cwd=self.cwd,
            start_new_session=True,  # one process group, so a timeout stops the whole tree
            text=True,
            errors="replace",
        ) as process:
            try:
                last_line = _stream_output(process)
                code = process.wait()
            finally:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        if code == self.skip_on_exit_code:
            raise SkipTask(f"command exited with {code}")
        if code != 0:
            raise BashCommandFailed(f"command exited with status {code}")
        return last_line


def _stream_output(process: subprocess.Popen[str]) -> str | None:
    """Copy the command's output to our stdout (the task log); return its last line."""
    last_line = None
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(line)
        last_line = line.rstrip("\n")
    return last_line
