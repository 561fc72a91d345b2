"""A Redis server of one test process's own, for parallel runs.

Test modules keep a Redis database number each (``redis_url(11)``) and flush it around
their tests. Under pytest-xdist two workers would flush each other's queues, so every
worker beyond the first starts a server of its own at a free port and points
``redis_url`` there (``tests/conftest.py``); the first worker, and a serial run, use the
shared server on 6379.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.support.network import free_port
from tests.support.processes import wait_until

START_TIMEOUT = 15.0


class PrivateRedis:
    """A running ``redis-server`` on 127.0.0.1 that keeps nothing on disk."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "a parallel test run gives each worker its own Redis, and redis-server "
                "is not on PATH: install it, or run the tests serially (pytest -n 0)"
            )
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        log = folder / "redis.log"
        self._process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(folder),
             "--logfile", str(log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        what = f"redis-server on port {self.port} to answer (its log: {log})"
        try:
            wait_until(lambda: self._answers(log), START_TIMEOUT, interval=0.02, what=what)
        except BaseException:
            self.stop()
            raise

    def _answers(self, log: Path) -> bool:
        if self._process.poll() is not None:
            raise RuntimeError(f"redis-server on port {self.port} did not start; see {log}")
        with Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5) as client:
            try:
                return bool(client.ping())
            except RedisConnectionError:
                return False

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
