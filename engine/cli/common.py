"""What every command shares: lazily loaded settings and database, and output rendering."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from engine.durations import human_duration
from engine.errors import InvalidInputError, LoomError
from engine.services.userinput import checked_datetime, loads_json

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from engine.config import Settings
    from engine.models.crypto import Crypter
    from engine.services.namedrows import NamedRows

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class LoomContext:
    """Settings and database, loaded on first use so that ``--help`` never needs them;
    :meth:`close` closes the database's connections when the command ends."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._engine: Engine | None = None
        self._session_factory: sessionmaker[Session] | None = None
        self._crypter: Crypter | None = None
        self.command: str | None = None
        """The ``loom`` subcommand that runs (``"dags"`` for ``loom dags list``)."""

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from engine.config import load_settings

            self._settings = load_settings()
        return self._settings

    @property
    def session_factory(self) -> sessionmaker[Session]:
        if self._session_factory is None:
            from engine.models.session import engine_for, make_session_factory

            self._engine = engine_for(self.settings.database)
            self._session_factory = make_session_factory(self._engine)
        return self._session_factory

    def close(self) -> None:
        """Close the database's pooled connections (SQLite checkpoints its write-ahead log
        when the last one closes), rather than leave them to the exit."""
        if self._engine is not None:
            self._engine.dispose()

    @property
    def crypter(self) -> Crypter:
        """What encrypts and decrypts variables and connections (``core.fernet_key``)."""
        if self._crypter is None:
            from engine.models.crypto import crypter_for

            self._crypter = crypter_for(self.settings)
        return self._crypter

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends cleanly, rolled back otherwise."""
        with self.session_factory.begin() as session:
            yield session


def loom_context() -> LoomContext:
    """The current command's :class:`LoomContext`."""
    obj = click.get_current_context().find_object(LoomContext)
    if obj is None:  # a command invoked outside the ``loom`` group, as in some tests
        obj = LoomContext()
        click.get_current_context().obj = obj
    return obj


def output_option(func: F) -> F:
    """Add ``--output table|json`` to a list or show command."""
    return click.option(
        "--output",
        "-o",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="Output format.",
    )(func)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


DURATION_FIELDS = frozenset({"duration", "parse_duration"})
"""Fields that hold seconds: JSON keeps the number, tables show "1.5s" or "2m 3s"."""


def shown_time(value: datetime) -> str:
    """A timestamp for people: ISO 8601 to the second (JSON keeps the microseconds)."""
    return value.isoformat(timespec="seconds")


def _cell(value: Any, key: str = "") -> str:
    if key in DURATION_FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
        return human_duration(value)
    if isinstance(value, datetime):
        return shown_time(value)
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def render_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as an aligned plain-text table with a header line."""
    cells = [[_cell(row.get(col), col) for col in columns] for row in rows]
    widths = [max([len(col), *(len(r[i]) for r in cells)]) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def emit(data: Any, output: str, columns: Sequence[str] | None = None) -> None:
    """Print ``data`` (a list of rows or one object) as a table or as JSON."""
    if output == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=_plain))
        return
    if isinstance(data, list):
        if not data:
            click.echo("(none)")
            return
        click.echo(render_table(data, columns or list(data[0])))
        return
    width = max((len(k) for k in data), default=0)
    for key, value in data.items():
        click.echo(f"{key.ljust(width)}  {_cell(value, key)}")


def emit_rows(
    output: str,
    columns: Sequence[str],
    read: Callable[[Session], Iterable[T]],
    shown: Callable[[T], dict[str, Any]],
) -> None:
    """Print what ``read`` gives in one transaction, each item as ``shown`` makes it a row,
    as a table of ``columns`` or as JSON."""
    with loom_context().session() as session:
        rows = [shown(item) for item in read(session)]
    emit(rows, output, columns)


def describe_error(exc: LoomError) -> str:
    """An error's message for the terminal, each of several problems on a line of its own."""
    problems = exc.problems if isinstance(exc, InvalidInputError) else {}
    lines = [f"  {field}: {problem}" for field, found in problems.items() for problem in found]
    return "\n".join([str(exc), *lines]) if len(lines) > 1 else str(exc)


def parse_conf(text: str | None, *, option: str = "--conf") -> dict[str, Any]:
    """A run's conf from a JSON object given on the command line (``{}`` when absent)."""
    if text is None:
        return {}
    value = loads_json(text, field=option)
    if not isinstance(value, dict):
        raise InvalidInputError(f"{option} must be a JSON object, such as '{{\"key\": 1}}'")
    return value


def parse_logical_date(text: str | None, *, option: str = "--logical-date") -> datetime | None:
    """An aware datetime from ISO 8601 text (naive means UTC); None when absent."""
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"{option} {text!r} is not an ISO date, such as 2026-01-31 or 2026-01-31T06:00+01:00"
        ) from None
    return checked_datetime(parsed, field=option)


def read_json_file(path: Path) -> Any:
    """The JSON content of ``path`` (an import file); :class:`InvalidInputError` naming the
    file when it is not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise InvalidInputError(f"{path}: not JSON: {error}") from None


def add_delete_command(group: click.Group, rows: NamedRows[Any], *, argument: str) -> None:
    """Add ``delete ARGUMENT`` to ``group``: it deletes the row of ``rows`` so named."""

    @group.command("delete", help=f"Delete {rows.noun} {argument.upper()}.")
    @click.argument(argument)
    def delete(**arguments: str) -> None:
        key = arguments[argument]
        with loom_context().session() as session:
            rows.delete(session, key)
        click.echo(f"{rows.noun} {key} deleted")


def import_file(path: Path, *, what: str, load: Callable[[Session, Crypter, Any], int]) -> None:
    """Read the export file ``path`` and hand its JSON to ``load`` (with a session and the
    crypter), which returns how many ``what`` (``"variables"``) it set; say so."""
    data = read_json_file(path)
    context = loom_context()
    with context.session() as session:
        count = load(session, context.crypter, data)
    click.echo(f"{count} {what} imported")


def add_export_command(
    group: click.Group,
    *,
    what: str,
    summary: str,
    dump: Callable[[Session, Crypter], dict[str, Any]],
) -> None:
    """Add ``export FILE`` to ``group``: it writes what ``dump`` (with a session and the
    crypter) exports to FILE, as :func:`write_json_export` does; ``summary`` is its help."""

    @group.command("export", help=summary)
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    def export(file: Path) -> None:
        context = loom_context()
        with context.session() as session:
            data = dump(session, context.crypter)
        write_json_export(file, data, what=what)


def write_json_export(path: Path, data: dict[str, Any], *, what: str) -> None:
    """Write an export (secrets in clear) to ``path``, readable by its owner only, or to
    standard output for ``-``; ``what`` names the items (``"variables"``)."""
    text = json.dumps(data, indent=2, sort_keys=True)
    if str(path) == "-":
        click.echo(text)
        return
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(0o600)
    click.echo(f"{len(data)} {what} exported to {path}")
