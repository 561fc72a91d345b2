"""BashOperator and ``@task.bash``: run a shell command; its last line of output becomes
the XCom."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from engine.authoring.baseoperator import BaseOperator
from engine.authoring.operators.python import bind_callable, context_kwargs, dotted_name
from engine.authoring.operators.streaming import command_environment, run_streaming
from engine.authoring.signals import SkipTask
from engine.authoring.templating import Reference, environment_for, render_value

logger = logging.getLogger(__name__)


class BashCommandFailed(Exception):  # noqa: N818 - reads as the task's failure reason
    """The command exited with a non-zero status."""


class BashOperator(BaseOperator):
    """Run ``bash_command`` (templated) with ``bash -c``.

    Exit status 0 succeeds; ``skip_on_exit_code`` (99 by default) ends the task as
    skipped; anything else fails it. Output is streamed to the task's log.
    """

    template_fields: ClassVar[tuple[str, ...]] = ("bash_command", "env", "cwd")
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

    def execute(self, context: Mapping[str, Any]) -> str | None:
        return self.run_command(self.bash_command)

    def run_command(self, command: str) -> str | None:
        """Run ``command``; its last line of output, or :class:`SkipTask` / a failure."""
        env = command_environment(self.env, append_env=self.append_env)
        code, tail = run_streaming(["bash", "-c", command], env=env, cwd=self.cwd)
        if code == self.skip_on_exit_code:
            raise SkipTask(f"command exited with {code}")
        if code != 0:
            raise BashCommandFailed(f"command exited with status {code}")
        return tail[-1].rstrip("\n") if tail else None


class BashDecoratedOperator(BashOperator):
    """``@task.bash``: the function's return value is the command, rendered as a template
    and run like a BashOperator's (``env``, ``append_env``, ``cwd``, ``skip_on_exit_code``).
    An empty or blank command, or one that is not a string, fails the task."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "op_args",
        "op_kwargs",
        "bash_command",
        "env",
        "cwd",
    )

    def __init__(
        self,
        task_id: str,
        python_callable: Callable[..., Any],
        *,
        op_args: Sequence[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        multiple_outputs: bool = False,
        **kwargs: Any,
    ) -> None:
        # Airflow ignores multiple_outputs here (the XCom is one line of output); so do we.
        super().__init__(task_id, bash_command=_SET_WHEN_RUN, **kwargs)
        self.python_callable, self.op_args, self.op_kwargs = bind_callable(
            python_callable, op_args, op_kwargs, problems=self.problems
        )

    def execute(self, context: Mapping[str, Any]) -> str | None:
        kwargs = context_kwargs(self.python_callable, self.op_args, self.op_kwargs, context)
        command = self.python_callable(*self.op_args, **kwargs)
        if not isinstance(command, str) or not command.strip():
            raise TypeError(
                f"@task.bash function {self.task_id!r} must return a non-empty string "
                f"(the command to run); it returned {command!r}"
            )
        self.bash_command = render_value(
            command,
            context,
            where=f"bash_command of task {self.task_id!r}",
            environment=environment_for(self.dag),  # the DAG's macros and filters
        )
        return self.run_command(self.bash_command)

    def serialize_fields(self) -> dict[str, Any]:
        return {
            "python_callable": dotted_name(self.python_callable),
            "op_args": self.op_args,
            "op_kwargs": self.op_kwargs,
            "env": self.env,
            "cwd": self.cwd,
        }


_SET_WHEN_RUN = "(set when the task runs: the @task.bash function returns the command)"
