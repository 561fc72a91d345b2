"""Every process builds its database engine from all of ``database.*``: URL, pool size, echo;
and standalone lets go of its connections when it stops.

The scheduler, notifier and every CLI command get theirs from ``LoomContext``; standalone,
the webserver and the workers from :func:`engine.models.session.engine_for`. ``pool_size`` and
``echo`` used to reach the webserver and the workers only.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.cli.common import LoomContext
from engine.config import load_settings
from engine.runtime.standalone import build_standalone
from tests.support.network import free_port
from tests.support.processes import wait_until
from tests.support.services import POSTGRES_ADMIN_URL


@pytest.fixture
def tuned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("LOOM__DATABASE__URL", f"sqlite:///{tmp_path / 'loom.db'}")
    monkeypatch.setenv("LOOM__DATABASE__POOL_SIZE", "7")
    monkeypatch.setenv("LOOM__DATABASE__ECHO", "true")
    monkeypatch.setenv("LOOM__CORE__DAGS_FOLDER", str(tmp_path / "dags"))
    (tmp_path / "dags").mkdir()
    return tmp_path


def _tuned(engine: Engine) -> bool:
    return engine.pool.size() == 7 and engine.echo is True  # type: ignore[attr-defined]


def test_cli_scheduler_and_notifier_engines_honour_pool_size_and_echo(tuned: Path) -> None:
    engine = LoomContext().session_factory.kw["bind"]
    try:
        assert _tuned(engine)
    finally:
        engine.dispose()


def test_standalone_engine_honours_pool_size_and_echo(tuned: Path) -> None:
    pieces = build_standalone(load_settings())
    engine = pieces.session_factory.kw["bind"]
    try:
        assert _tuned(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_standalone_on_postgres_closes_its_wake_up_listener_when_stopped(
    postgres_url: str, tuned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOM__DATABASE__URL", postgres_url)
    monkeypatch.setenv("LOOM__DATABASE__ECHO", "false")
    monkeypatch.setenv("LOOM__WEBSERVER__PORT", str(free_port()))
    monkeypatch.setenv("LOOM__SCHEDULER__TICK_INTERVAL", "0.2s")
    pieces = build_standalone(load_settings())
    stop = threading.Event()
    thread = threading.Thread(target=pieces.run, args=(stop,), daemon=True)
    thread.start()
    database = postgres_url.rsplit("/", 1)[1]
    admin = sa.create_engine(POSTGRES_ADMIN_URL)
    try:
        wait_until(lambda: _listeners(admin, database) == 1, timeout=30)
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive()
        # The server ends the backend shortly after the client closes its socket.
        wait_until(lambda: _listeners(admin, database) == 0, timeout=10)
    finally:
        stop.set()
        pieces.session_factory.kw["bind"].dispose()
        admin.dispose()


def _listeners(admin: sa.Engine, database: str) -> int:
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND query ILIKE 'LISTEN%'"
    )
    with admin.connect() as conn:
        return int(conn.execute(query, {"db": database}).scalar_one())
