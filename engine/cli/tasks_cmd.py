"""``loom tasks``: read a task's logs, clear tasks so they run again."""

from __future__ import annotations

import time

import click

from engine.cli.common import loom_context
from engine.errors import NotFoundError
from engine.execution.remotelogs import RemoteLogStore, remote_logs_from
from engine.models import TaskInstance
from engine.services.taskchanges import clear_task_instances
from engine.services.taskinstances import get_task_instance, log_chunk
from engine.timeutil import utcnow

FOLLOW_POLL_SECONDS = 1.0


@click.group("tasks")
def group() -> None:
    """Task instances: logs, clear."""


@group.command("logs")
@click.argument("dag_id")
@click.argument("run_id")
@click.argument("task_id")
@click.option(
    "--try", "try_number", type=click.IntRange(min=1), help="Which try (default: latest)."
)
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the try has finished.")
@click.option(
    "--map-index",
    type=click.IntRange(min=-1),
    default=-1,
    show_default=True,
    help="Which instance of a mapped task (-1: the task is not mapped).",
)
def logs_command(
    dag_id: str, run_id: str, task_id: str, try_number: int | None, follow: bool, map_index: int
) -> None:
    """Print the captured log of one try of a task (live, with --follow)."""
    offset = 0
    remote = _remote_store()
    while True:
        with loom_context().session() as session:
            ti = get_task_instance(
                session=session,
                dag_id=dag_id,
                run_id=run_id,
                task_id=task_id,
                map_index=map_index,
            )
            try:
                chunk = log_chunk(
                    session=session, ti=ti, try_number=try_number, offset=offset, remote=remote
                )
            except NotFoundError:
                if not follow or try_number is not None:
                    raise
                chunk = None  # no try has started yet: wait for the first one
        if chunk is not None:
            # Follow the try found first, even if a retry starts before it is printed.
            try_number = chunk.try_number
            if chunk.note is not None:
                click.echo(f"[{chunk.note}]", err=True)
            elif chunk.offset > offset:
                click.echo(
                    f"[... {chunk.offset - offset} characters were cut: the log keeps its tail ...]"
                )
            click.echo(chunk.content, nl=False)
            offset = chunk.next_offset
        if not follow or (chunk is not None and chunk.complete):
            return
        time.sleep(FOLLOW_POLL_SECONDS)


def _remote_store() -> RemoteLogStore | None:
    remote = remote_logs_from(loom_context().settings)
    return None if remote is None else remote.store


@group.command("clear")
@click.argument("dag_id")
@click.argument("run_id")
@click.argument("task_ids", nargs=-1)
@click.option("--downstream", is_flag=True, help="Also clear every task downstream of them.")
@click.option(
    "--map-index",
    type=click.IntRange(min=-1),
    default=None,
    help="Only this instance of the (mapped) tasks named (default: every instance).",
)
def clear_command(
    dag_id: str, run_id: str, task_ids: tuple[str, ...], downstream: bool, map_index: int | None
) -> None:
    """Put tasks (default: all of the run) back to run again, with fresh tries."""
    if map_index is not None and not task_ids:
        raise click.UsageError("--map-index: name the task whose instance to clear")
    with loom_context().session() as session:
        cleared = clear_task_instances(
            session=session,
            dag_id=dag_id,
            run_id=run_id,
            task_ids=list(task_ids) or None,
            downstream=downstream,
            map_index=map_index,
            now=utcnow(),
        )
        names = sorted(_instance_name(ti) for ti in cleared)
    click.echo(f"cleared {len(names)} task(s): {', '.join(names) or '-'}")


def _instance_name(ti: TaskInstance) -> str:
    """A task id, with ``[map_index]`` for an instance of a mapped task."""
    return ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
