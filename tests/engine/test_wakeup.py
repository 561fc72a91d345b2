"""The scheduler's wake-up: NOTIFY on commit only, a listener woken at once."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from engine.models.session import create_db_engine, make_session_factory
from engine.scheduling.wakeup import LocalWaker, PostgresWaker, build_waker, request_wake


@pytest.mark.postgres
def test_a_committed_request_wakes_a_listening_scheduler(postgres_url: str) -> None:
    waker = PostgresWaker(postgres_url)
    engine = create_db_engine(postgres_url)
    sessions = make_session_factory(engine)
    try:
        assert waker.wait(0.2) is False  # listening now, nothing sent
        with sessions() as session, session.begin():
            request_wake(session=session)
            session.rollback()  # a rolled-back change wakes nobody
        assert waker.wait(0.3) is False
        with sessions.begin() as session:
            request_wake(session=session)
        started = time.monotonic()
        assert waker.wait(5.0) is True
        assert time.monotonic() - started < 1.0
    finally:
        waker.close()
        engine.dispose()


def test_a_local_waker_wakes_once_per_wake() -> None:
    waker = LocalWaker()
    threading.Timer(0.05, waker.wake).start()
    assert waker.wait(5.0) is True
    assert waker.wait(0.05) is False


def test_sqlite_gets_a_local_waker_and_requests_are_harmless(sqlite_url: str) -> None:
    assert isinstance(build_waker(sqlite_url), LocalWaker)
    sessions = make_session_factory(create_db_engine(sqlite_url))
    with sessions.begin() as session:
        request_wake(session=session)
        assert session.execute(sa.text("SELECT 1")).scalar() == 1
