"""A child process whose output is copied into the task's log as it comes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Mapping

TAIL_LINES = 20
"""Last lines of output kept for the caller (the XCom of a command, a failure's quote)."""


def command_environment(
    env: Mapping[str, object] | None, *, append_env: bool = False
) -> dict[str, str] | None:
    """The environment of a command given ``env``: None (inherit ours) without one, else
    ``env`` (values as text) over our whole environment (``append_env``) or our PATH only."""
    if env is None:
        return None
    base = dict(os.environ) if append_env else {"PATH": os.environ.get("PATH", "")}
    return {**base, **{k: str(v) for k, v in env.items()}}


def run_streaming(
    command: list[str], *, env: Mapping[str, str] | None, cwd: str | None = None
) -> tuple[int, deque[str]]:
    """Run ``command``, copying its output to our stdout (the task's log); its exit code
    and last lines. ``env`` None inherits ours. The child runs in its own process group,
    killed with its children if we are interrupted (a timeout)."""
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=None if env is None else dict(env),
        cwd=cwd,
        start_new_session=True,
        text=True,
        errors="replace",
    ) as process:
        try:
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                tail.append(line)
            code = process.wait()
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return code, tail
