"""``loom notifier --once``: one pass from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import cli
from engine.models import migrate
from engine.models.session import create_db_engine, make_session_factory
from tests.engine.notifications.conftest import Receiver, add_event


def test_one_pass_delivers_and_reports(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'loom.db'}"
    migrate.upgrade_and_seed(url)
    engine = create_db_engine(url)
    try:
        add_event(make_session_factory(engine), notify=("ops",))
    finally:
        engine.dispose()
    monkeypatch.setenv("LOOM__DATABASE__URL", url)
    monkeypatch.setenv("LOOM__WEBHOOKS__OPS__URL", receiver.url)

    result = CliRunner().invoke(cli, ["notifier", "--once", "-o", "json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["events"], report["delivered"]) == (1, 1)
    assert len(receiver.requests) == 1
    assert "X-Loom-Signature" not in receiver.requests[0].headers  # no secret: unsigned
