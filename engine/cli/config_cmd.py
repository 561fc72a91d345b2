"""``loom config``: show the effective configuration, secrets masked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import click

from engine.cli.common import emit, loom_context, output_option


@click.group("config")
def group() -> None:
    """Inspect Loom's configuration (loom.yaml and LOOM__* variables)."""


@group.command("show")
@output_option
def show(output: str) -> None:
    """Print the effective configuration: defaults, loom.yaml, then environment."""
    settings = loom_context().settings
    data = settings.masked()
    if output == "json":
        emit(data, output)
        return
    click.echo(f"# config file: {settings.config_file or '(defaults, no loom.yaml)'}")
    del data["config_file"]  # the header line above says it
    for key, value in sorted(_flatten(data)):
        click.echo(f"{key} = {_render(value)}")


def _flatten(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``section.key`` pairs; an empty mapping (no webhooks) still shows as ``{}``."""
    for key, value in data.items():
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _render(value: Any) -> str:
    # Strings as written in loom.yaml; everything else, and an empty string, as JSON.
    return value if isinstance(value, str) and value else json.dumps(value)
