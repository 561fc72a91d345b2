"""Every process builds its database engine from all of ``database.*``: URL, pool size, echo.

The scheduler, notifier and every CLI command get theirs from ``LoomContext``; standalone,
the webserver and the workers from :func:`engine.db.engine_for`. ``pool_size`` and
``echo`` used to reach the webserver and the workers only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from engine.cli.common import LoomContext
from engine.config import load_settings
from engine.standalone import build_standalone


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
