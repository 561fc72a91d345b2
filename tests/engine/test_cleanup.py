"""``loom db clean`` and :mod:`engine.services.cleanup`: what goes, what stays, in batches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import InvalidInputError
from engine.models import (
    AuditLog,
    DagRun,
    DeadLetter,
    DeadLetterState,
    DeliveryStatus,
    NotificationDelivery,
    OutboxKind,
    OutboxMessage,
    TaskAttempt,
    TaskInstance,
    XCom,
)
from engine.services.audit import Outcome, record
from engine.services.cleanup import TABLES, check_tables, clean, parse_cutoff
from engine.services.runs import trigger_dag
from engine.state import DagRunState, TaskInstanceState
from tests.engine.scheduling.conftest import chain_dag, load
from tests.support.cli import loom

TI = TaskInstanceState
OLD = datetime(2026, 1, 1, tzinfo=UTC)
CUTOFF = datetime(2026, 2, 1, tzinfo=UTC)
NEW = datetime(2026, 3, 1, tzinfo=UTC)

Sessions = sessionmaker[Session]

RUNS: dict[str, tuple[DagRunState, datetime | None, TI]] = {
    # run id: (run state, end date, state of its task instances)
    "old_success": (DagRunState.SUCCESS, OLD, TI.SUCCESS),
    "old_failed": (DagRunState.FAILED, OLD, TI.FAILED),
    "old_running": (DagRunState.RUNNING, None, TI.RUNNING),
    "old_queued": (DagRunState.QUEUED, None, TI.NONE),
    "old_busy": (DagRunState.FAILED, OLD, TI.RUNNING),  # marked failed while a try runs
    "old_parked": (DagRunState.FAILED, OLD, TI.FAILED),  # has a pending dead letter
    "new_success": (DagRunState.SUCCESS, NEW, TI.SUCCESS),
}
PRUNED = {"old_success", "old_failed"}


def _history(sessions: Sessions, folder: Path) -> None:
    """Runs of every kind (see RUNS) with their tries, XComs and dead letters; audit
    entries, outbox messages and deliveries on both sides of CUTOFF."""
    chain_dag(folder, "etl", tasks="'a', 'b'")
    load(sessions, folder)
    with sessions.begin() as session:
        for run_id, (state, end, ti_state) in RUNS.items():
            run = trigger_dag(session=session, dag_id="etl", run_id=run_id, now=OLD)
            session.execute(
                sa.update(DagRun).where(DagRun.id == run.id).values(state=state, end_date=end)
            )
            session.execute(
                sa.update(TaskInstance)
                .where(TaskInstance.dag_run_id == run.id)
                .values(state=ti_state, try_number=1)
            )
            for ti in session.scalars(
                sa.select(TaskInstance).where(TaskInstance.dag_run_id == run.id)
            ):
                session.add(TaskAttempt(task_instance_id=ti.id, try_number=1, state="success",
                                        log="a long log\n" * 10))  # fmt: skip
                session.add(XCom(dag_id="etl", run_id=run_id, task_id=ti.task_id,
                                 key="return_value", value=[1, 2]))  # fmt: skip
            letter = DeadLetterState.PENDING if run_id == "old_parked" else DeadLetterState.REPLAYED
            session.add(DeadLetter(dag_id="etl", run_id=run_id, task_id="a", try_number=1,
                                   payload={}, state=letter, created_at=OLD))  # fmt: skip
        for when in (OLD, NEW):
            record(session=session, action="dag.paused", outcome=Outcome.SUCCESS, now=when)
            for status in DeliveryStatus:
                if status is not DeliveryStatus.FAILED:
                    session.add(OutboxMessage(kind=OutboxKind.NOTIFICATION, payload={},
                                              state=status, created_at=when,
                                              delivered_at=when))  # fmt: skip
                session.add(NotificationDelivery(
                    event_id=f"{when.month}-{status}", event_type="task.failed",
                    channel="webhook", target="ops", payload={}, status=status,
                    next_attempt_at=when, created_at=when,
                ))  # fmt: skip


def _left(sessions: Sessions) -> dict[str, object]:
    with sessions() as session:

        def count(model: object) -> int:
            return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)  # type: ignore[arg-type]

        return {
            "runs": set(session.scalars(sa.select(DagRun.run_id))),
            "xcom_runs": set(session.scalars(sa.select(XCom.run_id))),
            "letter_runs": set(session.scalars(sa.select(DeadLetter.run_id))),
            "task_instance": count(TaskInstance),
            "task_attempt": count(TaskAttempt),
            "audit_log": count(AuditLog),
            "outbox": {(m.state, m.created_at) for m in session.scalars(sa.select(OutboxMessage))},
            "deliveries": {
                (d.status, d.created_at) for d in session.scalars(sa.select(NotificationDelivery))
            },
        }


EXPECTED = {
    "dag_run": 2,
    "task_instance": 4,
    "task_attempt": 4,
    "xcom": 4,
    "task_map": 0,
    "dead_letter": 2,
    "dagrun_asset_event": 0,
    "audit_log": 1,
    "outbox": 1,
    "notification_delivery": 2,
}


def test_clean_deletes_old_finished_history_in_batches_and_keeps_the_rest(
    sessions: Sessions, dags_folder: Path
) -> None:
    _history(sessions, dags_folder)
    before = _left(sessions)

    dry = clean(session_factory=sessions, before=CUTOFF, dry_run=True)
    assert _left(sessions) == before  # a dry run deletes nothing
    assert {t: n for t, n in dry.counts.items() if t != "dag_run_change"} == EXPECTED

    report = clean(session_factory=sessions, before=CUTOFF, batch_size=1)  # many transactions

    assert {t: n for t, n in report.counts.items() if t != "dag_run_change"} == EXPECTED
    left = _left(sessions)
    assert left["runs"] == set(RUNS) - PRUNED
    assert left["xcom_runs"] == set(RUNS) - PRUNED
    assert left["letter_runs"] == set(RUNS) - PRUNED
    assert left["task_instance"] == before["task_instance"] - 4  # type: ignore[operator]
    assert left["task_attempt"] == before["task_attempt"] - 4  # type: ignore[operator]
    assert left["audit_log"] == before["audit_log"] - 1  # type: ignore[operator]
    assert left["outbox"] == {
        (DeliveryStatus.PENDING, OLD),  # still owed: never deleted
        (DeliveryStatus.PENDING, NEW),
        (DeliveryStatus.DELIVERED, NEW),
    }
    assert left["deliveries"] == {
        (DeliveryStatus.PENDING, OLD),  # still being sent
        *((status, NEW) for status in DeliveryStatus),
    }
    again = clean(session_factory=sessions, before=CUTOFF)
    assert again.total == 0


def test_tables_limit_what_is_cleaned(sessions: Sessions, dags_folder: Path) -> None:
    _history(sessions, dags_folder)
    report = clean(session_factory=sessions, before=CUTOFF, tables=["audit_log", "outbox"])
    assert report.counts == {"audit_log": 1, "outbox": 1}
    assert _left(sessions)["runs"] == set(RUNS)


def test_an_unknown_table_is_named_with_the_valid_ones() -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_tables(["dag_run", "logs"])
    assert str(caught.value) == (
        "--tables: unknown table 'logs'; valid tables: dag_run, audit_log, outbox, "
        "notification_delivery"
    )
    assert check_tables(None) == TABLES
    assert check_tables(["outbox", "dag_run"]) == ("dag_run", "outbox")


def test_cutoffs_are_iso_dates_or_ages() -> None:
    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    assert parse_cutoff("2026-01-31", now=now) == datetime(2026, 1, 31, tzinfo=UTC)
    assert parse_cutoff("2026-01-31T06:00+01:00", now=now) == datetime(
        2026, 1, 31, 5, 0, tzinfo=UTC
    )
    assert parse_cutoff("30d", now=now) == now - timedelta(days=30)
    assert parse_cutoff("12h", now=now) == now - timedelta(hours=12)
    assert parse_cutoff("2w", now=now) == now - timedelta(weeks=2)
    for bad in ("yesterday", "30", "-3d", ""):
        with pytest.raises(InvalidInputError, match="--before"):
            parse_cutoff(bad, now=now)


# -- the command -------------------------------------------------------------------------------


def test_the_command_dry_runs_cleans_and_summarizes(
    sessions: Sessions, dags_folder: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _history(sessions, dags_folder)
    monkeypatch.setenv("LOOM__DATABASE__URL", db_url)

    dry = loom("db", "clean", "--before", "2026-02-01", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would be deleted (dry run)" in dry.output
    assert _row(dry.output, "dag_run") == "2"
    assert _left(sessions)["runs"] == set(RUNS)

    refused = loom("db", "clean", "--before", "2026-02-01", stdin="n\n")
    assert refused.exit_code == 1  # not confirmed: aborted
    assert _left(sessions)["runs"] == set(RUNS)

    done = loom("db", "clean", "--before", "2026-02-01", "--tables", "dag_run,outbox", "--yes",
                "-o", "json")  # fmt: skip
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output)
    counts = {row["table"]: row["deleted"] for row in summary["tables"]}
    assert (counts["dag_run"], counts["task_attempt"], counts["outbox"]) == (2, 4, 1)
    assert "audit_log" not in counts
    assert _left(sessions)["runs"] == set(RUNS) - PRUNED


def test_the_command_names_an_unknown_table_and_a_bad_date(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOM__DATABASE__URL", db_url)
    unknown = loom("db", "clean", "--before", "30d", "--tables", "dag_run,logs", "--yes")
    assert unknown.exit_code == 1
    assert "unknown table 'logs'" in unknown.output
    assert "valid tables: dag_run, audit_log, outbox, notification_delivery" in unknown.output
    bad = loom("db", "clean", "--before", "last week", "--yes")
    assert bad.exit_code == 1
    assert "--before 'last week' is neither an ISO date" in bad.output


def _row(output: str, table: str) -> str:
    for line in output.splitlines():
        cells = line.split()
        if cells and cells[0] == table:
            return cells[-1]
    raise AssertionError(f"no row {table} in {output}")
