"""``loom`` commands run in this process through Click's test runner."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from engine.cli.common import LoomContext
from engine.cli.main import cli


def loom(*args: str, stdin: str | None = None) -> Result:
    """Run ``loom ARGS``; the command's database engine is closed afterwards (PostgreSQL)."""
    contexts: list[LoomContext] = []
    real = LoomContext.__init__

    def remember(self: LoomContext) -> None:
        real(self)
        contexts.append(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LoomContext, "__init__", remember)
        result = CliRunner().invoke(cli, list(args), input=stdin)
    for context in contexts:
        if context._session_factory is not None:
            context._session_factory.kw["bind"].dispose()
    return result


def invoke(command: click.Command, args: list[str]) -> Result:
    """Run one of ``loom``'s commands by itself with a context of its own; its database
    engine is closed afterwards."""
    context = LoomContext()
    try:
        return CliRunner().invoke(command, args, obj=context)
    finally:
        context.session_factory.kw["bind"].dispose()


def ok(*args: str) -> str:
    """Run ``loom ARGS``, which must succeed; its output."""
    result = loom(*args)
    assert result.exit_code == 0, result.output
    return result.output


def dag_folder(folder: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> Path:
    """``folder``, made and holding ``files`` (name: source), as the DAG folder of the
    ``loom`` commands of the test, with the database migrated and the folder parsed."""
    folder.mkdir()
    for name, source in files.items():
        (folder / name).write_text(source)
    monkeypatch.setenv("LOOM__CORE__DAGS_FOLDER", str(folder))
    ok("db", "upgrade")
    ok("dags", "reparse")
    return folder
