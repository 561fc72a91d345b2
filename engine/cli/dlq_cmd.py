"""``loom dlq``: list, show, replay and discard dead letters."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Any

import click

from engine.cli.common import emit, loom_context, output_option

if TYPE_CHECKING:
    from engine.cli.common import LoomContext
    from engine.models import DeadLetter

LIST_COLUMNS = ["id", "state", "dag_id", "run_id", "task_id", "try_number", "error", "created_at"]
STATES = ["pending", "replayed", "discarded"]


@click.group("dlq")
def group() -> None:
    """Dead letters: task instances that failed for good."""


@group.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only dead letters in this state.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@output_option
def list_command(state: str | None, limit: int, offset: int, output: str) -> None:
    """List dead letters, newest first."""
    from engine.models import DeadLetterState
    from engine.services.deadletters import list_dead_letters

    with loom_context().session() as session:
        listed = list_dead_letters(
            session=session,
            state=DeadLetterState(state) if state else None,
            limit=limit,
            offset=offset,
        )
        data = [_summary(row) for row in listed]
    emit(data, output, LIST_COLUMNS)


@group.command("show")
@click.argument("dead_letter_id", type=int)
@output_option
def show_command(dead_letter_id: int, output: str) -> None:
    """Show one dead letter with its error and traceback."""
    from engine.services.deadletters import get_dead_letter

    with loom_context().session() as session:
        row = get_dead_letter(session=session, id=dead_letter_id)
        data = _detail(row, full=output == "json")
    emit(data, output)


@group.command("replay")
@click.argument("dead_letter_id", type=int)
def replay_command(dead_letter_id: int) -> None:
    """Run the dead letter's task again with fresh tries."""
    from engine.services.deadletters import replay_dead_letter
    from engine.timeutil import utcnow

    ctx = loom_context()
    with ctx.session() as session:
        row = replay_dead_letter(session=session, id=dead_letter_id, now=utcnow(), by=_actor())
        what = f"{row.dag_id}.{row.run_id}.{row.task_id}"
    click.echo(f"replayed dead letter {dead_letter_id}: {what} will run again")
    _relay_now(ctx)


@group.command("discard")
@click.argument("dead_letter_id", type=int)
def discard_command(dead_letter_id: int) -> None:
    """Resolve the dead letter without running anything again."""
    from engine.services.deadletters import discard_dead_letter
    from engine.timeutil import utcnow

    ctx = loom_context()
    with ctx.session() as session:
        discard_dead_letter(session=session, id=dead_letter_id, now=utcnow(), by=_actor())
    click.echo(f"discarded dead letter {dead_letter_id}")
    _relay_now(ctx)


def _relay_now(ctx: LoomContext) -> None:
    """One relay pass, so that RabbitMQ forgets the message now rather than at the next pass."""
    from engine.delivery.relay import build_relay
    from engine.timeutil import utcnow

    relay = build_relay(ctx.settings, ctx.session_factory)
    try:
        report = relay.run_once(utcnow())
    finally:
        relay.close()
    if report.failed:
        click.echo(
            "warning: RabbitMQ could not be updated now; the outbox relay will retry", err=True
        )


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (containers)
        return "cli"


def _summary(row: DeadLetter) -> dict[str, Any]:
    error = (row.payload or {}).get("error") or {}
    return {
        "id": row.id,
        "state": row.state,
        "dag_id": row.dag_id,
        "run_id": row.run_id,
        "task_id": row.task_id,
        "try_number": row.try_number,
        "error": error.get("type"),
        "created_at": row.created_at,
        "published": row.published,
    }


def _detail(row: DeadLetter, *, full: bool) -> dict[str, Any]:
    payload = row.payload or {}
    error = payload.get("error") or {}
    data = _summary(row)
    data.update(
        error_message=error.get("message"),
        worker_host=payload.get("worker_host"),
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
    )
    if full:
        data["payload"] = payload
    else:
        data["traceback_tail"] = error.get("traceback_tail")
    return data
