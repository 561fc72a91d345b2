"""``loom rotate-fernet-key``: re-encrypt stored secrets with the newest Fernet key."""

from __future__ import annotations

import click

from engine.cli.common import loom_context
from engine.services.fernet_rotation import rotate_fernet_key


@click.command("rotate-fernet-key")
def command() -> None:
    """Re-encrypt variables and connection secrets with the first key of core.fernet_key.

    Set core.fernet_key to NEW,OLD, run this, then drop OLD from the setting.
    """
    context = loom_context()
    with context.session() as session:
        count = rotate_fernet_key(session=session, crypter=context.crypter)
    click.echo(f"re-encrypted {count} variables and connections")
