"""``loom db``: create, upgrade, downgrade and check the metadata database."""

from __future__ import annotations

import click

from engine.cli.common import loom_context
from engine.config.masking import mask_url
from engine.models import migrate


@click.group("db")
def group() -> None:
    """Create, upgrade and check the metadata database."""


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
