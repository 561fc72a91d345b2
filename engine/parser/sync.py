"""Bringing the database up to date with the DAG folder.

:func:`refresh_dags` parses only what changed and writes ``dag``, ``serialized_dag``,
``dag_file`` and ``import_error`` rows. Like every function here that takes ``session``
it never commits: the caller owns the transaction.

Rules (see docs/parsing.md):

* ``dag.is_paused`` starts from ``is_paused_upon_creation`` when a dag_id is first seen
  and is never overwritten by parsing afterwards.
* A DAG becomes inactive when its file is deleted (or ignored), or when its file
  imports and no longer defines it. A file that fails to import, or a DAG that fails
  validation, keeps the last good version active next to the import error.
* A file's import errors are replaced whenever it is parsed, and removed with it.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.authoring.serialization import dag_hash
from engine.errors import NotFoundError
from engine.models import Dag, DagFile, DagWarning, ParseImportError, SerializedDag
from engine.models.dags import ID_LENGTH
from engine.parser.assets import register_assets
from engine.parser.dagbag import (
    ChangePlan,
    FileStat,
    KnownFile,
    assign_dag_ids,
    claims_of,
    drop_duplicates,
    plan_changes,
)
from engine.parser.discovery import discover_dag_files
from engine.parser.options import ParseOptions
from engine.parser.processor import FileParseResult, parse_files
from engine.parser.shell_safety import WARNING_TYPE as SHELL_WARNING_TYPE
from engine.parser.shell_safety import shell_injection_warnings
from engine.services.dagversions import add_version_if_changed, read_source

logger = logging.getLogger(__name__)


class FileParser(Protocol):
    """Parses files into results: :func:`engine.parser.processor.parse_files`."""

    def __call__(self, paths: Sequence[Path], options: ParseOptions) -> list[FileParseResult]: ...


@dataclass
class RefreshReport:
    """What one refresh did."""

    files: int = 0
    """DAG files found in the folder."""
    parsed: list[str] = field(default_factory=list)
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    dags_added: list[str] = field(default_factory=list)
    dags_updated: list[str] = field(default_factory=list)
    dags_deactivated: list[str] = field(default_factory=list)
    import_errors: dict[str, list[str]] = field(default_factory=dict)
    """Messages per file, for the files parsed in this refresh."""
    import_errors_now: int = 0
    """Import errors the folder has after this refresh, of files parsed now or before."""
    stray_errors_cleared: int = 0
    """Import errors dropped because their file is no longer a DAG file."""
    pending: list[str] = field(default_factory=list)
    """Changed files whose parse is not done yet (a parser that does not wait, such as
    :class:`engine.parser.pool.ParsePool`): kept as they were, stored by a later refresh."""
    duration: float = 0.0


PARSE_LOCK_KEY = 0x4C6F6F6D5061  # "LoomPa"
"""PostgreSQL advisory lock key that one refresh at a time holds."""


def take_parse_lock(*, session: Session, wait: bool) -> bool:
    """True when this transaction may refresh: always on SQLite (one process), on
    PostgreSQL once it holds the advisory lock (released at commit). ``wait`` blocks
    until another refresh commits (``loom dags reparse``); without it a held lock
    answers False at once (a scheduler's pass, which simply tries again later). Two
    refreshes at once would both insert a new file's row."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    if wait:
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(PARSE_LOCK_KEY)))
        return True
    return bool(session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(PARSE_LOCK_KEY))))


def refresh_dags(
    *,
    session: Session,
    options: ParseOptions,
    now: datetime,
    force: bool = False,
    parser: FileParser = parse_files,
) -> RefreshReport:
    """Parse the changed files of ``options.dags_folder`` and write what they define.

    Raises :class:`NotFoundError` when the folder does not exist: an unmounted volume
    must not read as "every DAG was deleted".
    """
    dags_folder = options.dags_folder
    if not dags_folder.is_dir():
        raise NotFoundError(f"DAG folder {dags_folder} does not exist; nothing was changed")
    started = time.monotonic()
    known = known_files(session=session)
    owners = active_owners(session=session)
    paths = discover_dag_files(dags_folder)
    plan = plan_changes(paths, known, force=force)
    parse = functools.partial(parser, options=options)
    results, claims, winners = _parse_and_assign(plan, known, owners, parse)
    report = RefreshReport(files=len(paths), parsed=sorted(results), deleted=plan.deleted)
    report.pending = sorted(str(path) for path in plan.to_parse if str(path) not in results)
    report.unchanged = len(paths) - len(results) - len(report.pending)
    _write(plan, known, results, claims, session=session, now=now, report=report)
    _deactivate(_lost_dag_ids(owners, winners, results), report, session=session)
    report.stray_errors_cleared = _clear_stray_import_errors(
        {str(path) for path in paths}, session=session
    )
    session.flush()
    report.import_errors_now = _count_import_errors(session=session)
    report.duration = time.monotonic() - started
    _log_refresh(dags_folder, report)
    return report


def _log_refresh(dags_folder: Path, report: RefreshReport) -> None:
    """INFO when the refresh changed something (a file parsed or gone, import errors
    cleared), else DEBUG: a quiet folder does not fill the log every parse interval."""
    changed = report.parsed or report.deleted or report.stray_errors_cleared
    logger.log(
        logging.INFO if changed else logging.DEBUG,
        "refreshed %s: %s files, %s parsed, %s deleted, %s import errors",
        dags_folder, report.files, len(report.parsed), len(report.deleted),
        report.import_errors_now,
    )  # fmt: skip


def _count_import_errors(*, session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(ParseImportError)) or 0


# -- reading what the database remembers --------------------------------------------------


def known_files(*, session: Session) -> dict[str, KnownFile]:
    """Every ``dag_file`` row as a :class:`KnownFile`, by path."""
    rows = session.scalars(sa.select(DagFile))
    return {
        row.path: KnownFile(row.path, FileStat(row.size, row.mtime), row.file_hash, row.dag_ids)
        for row in rows
    }


def active_owners(*, session: Session) -> dict[str, str]:
    """Each active dag_id → the file that defines it."""
    rows = session.execute(sa.select(Dag.dag_id, Dag.fileloc).where(Dag.is_active))
    return {row.dag_id: row.fileloc for row in rows}


# -- deciding -----------------------------------------------------------------------------

_Parse = Callable[[Sequence[Path]], list[FileParseResult]]


def _parse_and_assign(
    plan: ChangePlan, known: Mapping[str, KnownFile], owners: Mapping[str, str], parse: _Parse
) -> tuple[dict[str, FileParseResult], dict[str, list[str]], dict[str, str]]:
    """Parse the changed files, then give each dag_id to one file.

    An unchanged file that now gets a dag_id it did not own (the owner lost it) is
    parsed as well: its DAG was never stored, so only parsing can provide it. A file the
    parser has no result for yet keeps the claims of its last parse.
    """
    results = {str(r.path): r for r in parse(plan.to_parse)} if plan.to_parse else {}
    pending = [str(p) for p in plan.to_parse if str(p) not in results and str(p) in known]
    claims = _claims(results, [*plan.unchanged, *pending], known, owners)
    winners = assign_dag_ids(claims, owners)
    orphans = [
        path
        for path in plan.unchanged
        if any(winners[d] == path and owners.get(d) != path for d in claims[path])
    ]
    if orphans:
        results |= {str(r.path): r for r in parse([Path(p) for p in orphans])}
        held = [p for p in [*plan.unchanged, *pending] if p not in results]
        claims = _claims(results, held, known, owners)
        winners = assign_dag_ids(claims, owners)
    results = {path: drop_duplicates(result, winners) for path, result in results.items()}
    return results, claims, winners


def _claims(
    results: Mapping[str, FileParseResult],
    unchanged: Sequence[str],
    known: Mapping[str, KnownFile],
    owners: Mapping[str, str],
) -> dict[str, list[str]]:
    claims = {path: list(known[path].dag_ids) for path in unchanged}
    for path, result in results.items():
        previous = known[path].dag_ids if path in known else []
        claims[path] = claims_of(result, previous=previous, owners=owners)
    return claims


def _lost_dag_ids(
    owners: Mapping[str, str],
    winners: Mapping[str, str],
    results: Mapping[str, FileParseResult],
) -> list[str]:
    """Active dag_ids that no file defines any more (or only one that cannot load it)."""
    lost = []
    for dag_id, owner in owners.items():
        winner = winners.get(dag_id)
        if winner == owner:
            continue
        result = results.get(winner) if winner else None
        if result is None or dag_id not in result.dag_ids:
            lost.append(dag_id)
    return sorted(lost)


# -- writing ------------------------------------------------------------------------------


def _write(
    plan: ChangePlan,
    known: Mapping[str, KnownFile],
    results: Mapping[str, FileParseResult],
    claims: Mapping[str, list[str]],
    *,
    session: Session,
    now: datetime,
    report: RefreshReport,
) -> None:
    for path, result in sorted(results.items()):
        _save_file(result, plan.stats.get(path), claims[path], session=session, now=now)
        if result.errors:
            report.import_errors[path] = [error.message for error in result.errors]
    loaded = [(data, result) for result in results.values() for data in result.dags]
    _save_dags(loaded, session=session, now=now, report=report)
    for path in plan.unchanged:
        if path not in results and plan.stats[path] != known[path].stat:
            _touch_file(path, plan.stats[path], session=session)
    for path in plan.deleted:
        _forget_file(path, session=session)


def _save_file(
    result: FileParseResult,
    stat: FileStat | None,
    claims: list[str],
    *,
    session: Session,
    now: datetime,
) -> None:
    path = str(result.path)
    _replace_import_errors(result, session=session, now=now)
    if stat is None:  # vanished while being parsed: forgotten until it comes back
        session.execute(sa.delete(DagFile).where(DagFile.path == path))
        return
    row = session.get(DagFile, path)
    if row is None:
        row = DagFile(path=path)
        session.add(row)
    row.file_hash = result.file_hash
    row.size, row.mtime = stat.size, stat.mtime
    row.dag_ids = list(claims)
    row.last_parsed_at = now
    row.parse_duration = result.duration
    row.has_import_error = bool(result.errors)


def _replace_import_errors(result: FileParseResult, *, session: Session, now: datetime) -> None:
    path = str(result.path)
    session.execute(sa.delete(ParseImportError).where(ParseImportError.filename == path))
    for error in result.errors:
        logger.warning("import error in %s: %s", path, error.message.splitlines()[0])
        session.add(
            ParseImportError(
                filename=path,
                message=error.message,
                traceback=error.traceback,
                file_hash=result.file_hash or None,
                created_at=now,
            )
        )


def _touch_file(path: str, stat: FileStat, *, session: Session) -> None:
    row = session.get(DagFile, path)
    if row is not None:
        row.size, row.mtime = stat.size, stat.mtime


def _forget_file(path: str, *, session: Session) -> None:
    logger.info("DAG file %s is gone", path)
    session.execute(sa.delete(DagFile).where(DagFile.path == path))
    session.execute(sa.delete(ParseImportError).where(ParseImportError.filename == path))


def _clear_stray_import_errors(current: set[str], *, session: Session) -> int:
    """Delete the import errors of files that are no longer DAG files (deleted, ignored);
    how many."""
    filenames = session.scalars(sa.select(ParseImportError.filename)).all()
    stray = [name for name in filenames if name not in current]
    if stray:
        session.execute(sa.delete(ParseImportError).where(ParseImportError.filename.in_(stray)))
    return len(stray)


def _save_dags(
    loaded: list[tuple[dict[str, Any], FileParseResult]],
    *,
    session: Session,
    now: datetime,
    report: RefreshReport,
) -> None:
    outcomes = {
        str(data["dag_id"]): _save_dag_row(data, str(result.path), session=session, now=now)
        for data, result in loaded
    }
    session.flush()  # serialized_dag rows reference the dag rows
    sources = _SourceReader()
    for data, result in loaded:
        dag_id = str(data["dag_id"])
        digest = dag_hash(data)
        _replace_dag_warnings(data, session=session, now=now)
        content_changed = _save_serialized(data, digest, result, session=session)
        register_assets(data, session=session)
        add_version_if_changed(
            data,
            digest,
            fileloc=str(result.path),
            file_hash=result.file_hash,
            source=functools.partial(sources.read, result),
            session=session,
            now=now,
        )
        if content_changed or outcomes[dag_id] == "moved":
            # The scheduler's "next run due" hint was computed from the old schedule (or
            # while the DAG was inactive): let it work the date out afresh.
            session.get_one(Dag, dag_id).next_dagrun_create_after = None
        if outcomes[dag_id] == "added":
            report.dags_added.append(dag_id)
        elif content_changed or outcomes[dag_id] == "moved":
            report.dags_updated.append(dag_id)
    report.dags_added.sort()
    report.dags_updated.sort()


def _replace_dag_warnings(data: dict[str, Any], *, session: Session, now: datetime) -> None:
    dag_id = str(data["dag_id"])
    session.execute(sa.delete(DagWarning).where(DagWarning.dag_id == dag_id))
    found = shell_injection_warnings(data)
    if found:
        logger.info("DAG %s: %s warning(s): %s", dag_id, len(found), found[0])
        session.add(
            DagWarning(
                dag_id=dag_id,
                warning_type=SHELL_WARNING_TYPE,
                message="\n".join(found),
                timestamp=now,
            )
        )


def _save_dag_row(data: dict[str, Any], path: str, *, session: Session, now: datetime) -> str:
    """Insert or update the ``dag`` row: "added", "moved" (file or activity) or "same"."""
    dag_id = str(data["dag_id"])
    row = session.get(Dag, dag_id)
    if row is None:
        # First sight: the only time parsing decides whether the DAG is paused.
        row = Dag(dag_id=dag_id, is_paused=bool(data["is_paused_upon_creation"]))
        session.add(row)
        logger.info("DAG %s added from %s", dag_id, path)
        outcome = "added"
    else:
        outcome = "same" if row.is_active and row.fileloc == path else "moved"
    row.fileloc = path
    row.description = data["description"]
    row.owner = str(data["owner"])[:ID_LENGTH]
    row.tags = list(data["tags"])
    row.schedule = str(data["schedule_display"])[:ID_LENGTH]
    row.max_active_runs = data["max_active_runs"]
    row.max_active_tasks = data["max_active_tasks"]
    row.is_active = True
    row.last_parsed_at = now
    return outcome


class _SourceReader:
    """Each parsed file's text, read once (when one of its DAGs gets a new version)."""

    def __init__(self) -> None:
        self._texts: dict[str, str | None] = {}

    def read(self, result: FileParseResult) -> str | None:
        path = str(result.path)
        if path not in self._texts:
            self._texts[path] = read_source(path, result.file_hash)
        return self._texts[path]


def _save_serialized(
    data: dict[str, Any], digest: str, result: FileParseResult, *, session: Session
) -> bool:
    """Insert or update the ``serialized_dag`` row; True when its content changed."""
    dag_id = str(data["dag_id"])
    row = session.get(SerializedDag, dag_id)
    if row is None:
        row = SerializedDag(dag_id=dag_id, data=data, dag_hash=digest)
        session.add(row)
        changed = True
    else:
        changed = row.dag_hash != digest
        if changed:
            row.data, row.dag_hash = data, digest
    row.fileloc = str(result.path)
    row.file_hash = result.file_hash
    return changed


def _deactivate(dag_ids: list[str], report: RefreshReport, *, session: Session) -> None:
    for dag_id in dag_ids:
        logger.info("DAG %s deactivated: its file no longer defines it", dag_id)
    if dag_ids:
        session.execute(sa.update(Dag).where(Dag.dag_id.in_(dag_ids)).values(is_active=False))
    report.dags_deactivated = list(dag_ids)
