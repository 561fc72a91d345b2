"""``loom db``: create, upgrade, downgrade, check and clean the metadata database."""

from __future__ import annotations

import click

from engine.cli.common import emit, loom_context, output_option
from engine.config.masking import mask_url
from engine.models import migrate


@click.group("db")
def group() -> None:
    """Create, upgrade, check and clean the metadata database."""


def _url() -> str:
    return loom_context().settings.database.url


def _shown(url: str) -> str:
    return mask_url(url)


@group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Revision to upgrade to.")
def upgrade(revision: str) -> None:
    """Upgrade the schema (creating it if needed), then add builtin roles and default_pool."""
    url = _url()
    now = migrate.upgrade_and_seed(url, revision)
    click.echo(f"database {_shown(url)} is at revision {now or 'base'}")


@group.command("downgrade")
@click.argument("revision")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def downgrade(revision: str, yes: bool) -> None:
    """Downgrade the schema to REVISION (``base`` drops every table, ``-1`` one step)."""
    url = _url()
    if not yes:
        click.confirm(
            f"Downgrade {_shown(url)} to {revision}? Dropped tables lose their data.",
            abort=True,
        )
    migrate.downgrade(url, revision)
    click.echo(f"database {_shown(url)} is at revision {migrate.current(url) or 'base'}")


@group.command("check")
def check() -> None:
    """Exit 1 unless the database is at the newest revision and matches the models."""
    url = _url()
    problems = migrate.check(url)
    for problem in problems:
        click.echo(problem)
    if problems:
        raise click.ClickException(f"database {_shown(url)} is not up to date")
    click.echo(f"database is up to date (revision {migrate.current(url)})")


@group.command("current")
def current() -> None:
    """Print the database's revision (``base`` when it was never migrated)."""
    click.echo(migrate.current(_url()) or "base")


@group.command("clean")
@click.option(
    "--before",
    "before_text",
    required=True,
    metavar="DATE",
    help="Delete what is older than this: an ISO date or date and time (UTC unless it "
    "names an offset), or an age such as 30d, 12h, 2w.",
)
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option(
    "--tables",
    multiple=True,
    metavar="NAMES",
    help="Only these tables (comma-separated, or the option repeated): dag_run, audit_log, "
    "outbox, notification_delivery. Default: all.",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@output_option
def clean(before_text: str, dry_run: bool, tables: tuple[str, ...], yes: bool, output: str) -> None:
    """Delete finished runs (with their task instances, tries, logs and XComs), audit
    entries, delivered outbox messages and settled alert deliveries older than DATE.

    Running and queued runs, runs with a pending dead letter, undelivered outbox messages
    and deliveries still being sent are never deleted. Rows go in batches of 1,000, each
    committed on its own. A summary per table follows.
    """
    from engine.services.cleanup import check_tables, clean, parse_cutoff
    from engine.timeutil import utcnow

    ctx = loom_context()
    cutoff = parse_cutoff(before_text, now=utcnow())
    names = check_tables(name for option in tables for name in option.split(","))
    if not dry_run and not yes:
        click.confirm(
            f"Delete rows of {', '.join(names)} older than {cutoff.isoformat()} "
            f"from {_shown(_url())}?",
            abort=True,
        )
    report = clean(session_factory=ctx.session_factory, before=cutoff, tables=names,
                   dry_run=dry_run)  # fmt: skip
    column = "would_delete" if dry_run else "deleted"
    rows = [{"table": table, column: count} for table, count in report.counts.items()]
    if output == "json":
        emit({"before": cutoff, "dry_run": dry_run, "tables": rows}, output)
        return
    verb = "would be deleted (dry run)" if dry_run else "deleted"
    click.echo(f"rows older than {cutoff.isoformat()} {verb}:")
    emit(rows, output, ["table", column])
