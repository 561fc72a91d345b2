"""``loom assets list|events``: the parsed DAGs' assets with producers and consumers, and
events, as a table and as JSON; an unknown asset is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.authoring.assets import Asset
from engine.models.session import create_db_engine, make_session_factory
from engine.services.assets import EventSource, asset_ids_of, record_event
from engine.timeutil import utcnow
from tests.support.cli import dag_folder, loom, ok

DAGS = """
from datetime import datetime
from engine import DAG, Asset, EmptyOperator

RAW = Asset("s3://lake/raw")
with DAG("ingest", schedule=None, start_date=datetime(2026, 1, 1)):
    EmptyOperator(task_id="land", outlets=[RAW])
with DAG("report", schedule=[RAW]):
    EmptyOperator(task_id="t")
"""


@pytest.fixture
def loom_db(empty_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("LOOM__DATABASE__URL", empty_db_url)
    dag_folder(tmp_path / "dags", monkeypatch, {"assets.py": DAGS})
    return empty_db_url


def test_assets_list_and_events(loom_db: str) -> None:
    listed = json.loads(ok("assets", "list", "--output", "json"))
    assert [(a["uri"], a["producing_tasks"], a["scheduled_dags"]) for a in listed] == [
        ("s3://lake/raw", [{"dag_id": "ingest", "task_id": "land"}], [{"dag_id": "report"}])
    ]
    table = ok("assets", "list")
    assert "ingest.land" in table
    assert "report" in table
    assert json.loads(ok("assets", "events", "--output", "json")) == []
    engine = create_db_engine(loom_db)
    try:
        with make_session_factory(engine).begin() as session:
            asset_id = asset_ids_of([Asset("s3://lake/raw")], session=session)[
                ("s3://lake/raw", "s3://lake/raw")
            ]
            record_event(
                session=session, asset_id=asset_id, extra={"rows": 2}, source=EventSource(),
                now=utcnow(),
            )  # fmt: skip
    finally:
        engine.dispose()
    events = json.loads(ok("assets", "events", "--asset-id", str(asset_id), "-o", "json"))
    assert [(e["uri"], e["extra"]) for e in events] == [("s3://lake/raw", {"rows": 2})]
    missing = loom("assets", "events", "--asset-id", "999999")
    assert missing.exit_code != 0
    assert "asset 999999 not found" in missing.output
