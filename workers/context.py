"""What the runner is given: its settings, connections, identity and clock."""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from engine.authoring.operators.isolated.environments import VirtualenvDefaults
from engine.config import Settings
from engine.execution.remotelogs import RemoteLogs
from engine.executors.base import Executor
from engine.runtime.virtualenvs import virtualenv_defaults_from
from engine.timeutil import utcnow
from workers.dagcache import DagCache


@dataclass(frozen=True)
class RunnerSettings:
    """The few configuration values a runner needs."""

    max_log_bytes: int = 1_048_576
    """``core.max_log_bytes``: the most of a try's log that is kept (its tail)."""
    log_stream_interval: timedelta = timedelta(seconds=1)
    """``core.log_stream_interval``: how often a running try's new output is stored."""
    max_xcom_bytes: int = 1_048_576
    """``core.max_xcom_bytes``: the largest XCom value, as JSON."""
    max_map_length: int = 1024
    """``core.max_map_length``: the most elements a mapped task may expand over."""
    heartbeat_interval: timedelta = timedelta(seconds=5)
    """``scheduler.heartbeat_interval``: how often a running try heartbeats."""
    parallelism: int = 32
    """``scheduler.parallelism``: fast-follow queues no more than this many in all."""
    dags_folder: Path | None = None
    """``core.dags_folder``, put on ``sys.path`` for DAG files' own imports."""
    plugins_folder: Path | None = None
    """``core.plugins_folder``: loaded once per process, before the first DAG file."""
    virtualenv: VirtualenvDefaults = field(default_factory=VirtualenvDefaults)
    """``virtualenv.*``: where virtualenv tasks' environments are cached, how built."""
    dag_run_conf_overrides_params: bool = True
    """``core.dag_run_conf_overrides_params``: conf values replace the params' defaults."""
    parse_timeout: timedelta = timedelta(seconds=30)
    """``core.parse_timeout``: the longest import of a DAG file whose task has no
    ``execution_timeout``."""
    finish_retry_timeout: timedelta = timedelta(minutes=5)
    """``core.finish_retry_timeout``: how long a finish the database failed is retried."""

    @classmethod
    def from_settings(cls, settings: Settings) -> RunnerSettings:
        return cls(
            max_log_bytes=settings.core.max_log_bytes,
            log_stream_interval=settings.core.log_stream_interval,
            max_xcom_bytes=settings.core.max_xcom_bytes,
            max_map_length=settings.core.max_map_length,
            heartbeat_interval=settings.scheduler.heartbeat_interval,
            parallelism=settings.scheduler.parallelism,
            dags_folder=settings.core.dags_folder,
            plugins_folder=settings.core.plugins_folder,
            virtualenv=virtualenv_defaults_from(settings),
            dag_run_conf_overrides_params=settings.core.dag_run_conf_overrides_params,
            finish_retry_timeout=settings.core.finish_retry_timeout,
            parse_timeout=settings.core.parse_timeout,
        )


@dataclass
class RunnerContext:
    """Everything :func:`workers.runner.run_task` depends on, passed in."""

    session_factory: Callable[[], Session]
    executor: Executor | None
    """Where fast-follow jobs are submitted; None: no fast-follow, the scheduler queues."""
    settings: RunnerSettings = field(default_factory=RunnerSettings)
    hostname: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    clock: Callable[[], datetime] = utcnow
    dag_cache: DagCache = field(default_factory=DagCache)
    rng: random.Random | None = None
    """Randomness of the retry jitter (a seeded one in tests)."""
    remote_logs: RemoteLogs | None = None
    """Where finished tries' logs are uploaded (``logging.remote_base_url``); None: off."""
