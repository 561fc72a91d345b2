"""Redis for executor tests: database 15 only, flushed before and after each test."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from redis import Redis

from tests.engine.executors.jobs import TEST_REDIS_URL
from tests.support.services import flushed_redis


@pytest.fixture
def redis_conn() -> Iterator[Redis]:
    with flushed_redis(TEST_REDIS_URL) as connection:
        yield connection


@pytest.fixture
def keep_signal_handlers() -> Iterator[None]:
    """An in-process RQ worker installs SIGINT/SIGTERM/SIGALRM handlers; put ours back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)
