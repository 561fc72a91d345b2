"""A whole DAG folder: which files changed, and which file gets each dag_id.

Nothing here touches the database: :mod:`engine.parser.sync` reads what the database
remembers into :class:`KnownFile` records and the current owner of each dag_id, asks
these functions what to do, and writes the outcome.

A dag_id belongs to one file. When several files define it, the file that already owns
it (in the database) keeps it, else the first in sorted path order; each other file
gets an import error that names both files.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.parser.discovery import discover_dag_files, file_hash
from engine.parser.options import ParseOptions
from engine.parser.processor import FileParseResult, ImportErrorInfo, parse_files


@dataclass(frozen=True)
class FileStat:
    """A file's size and modification time: the cheap test for a change."""

    size: int
    mtime: float

    @classmethod
    def of(cls, path: Path) -> FileStat:
        stat = path.stat()
        return cls(stat.st_size, stat.st_mtime)


@dataclass(frozen=True)
class KnownFile:
    """What the database remembers of a file from its last parse."""

    path: str
    stat: FileStat
    file_hash: str
    dag_ids: list[str]
    """The dag_ids the file claims (see :func:`claims_of`)."""


@dataclass(frozen=True)
class ChangePlan:
    """What to do with each file of the folder."""

    to_parse: list[Path]
    unchanged: list[str]
    """Same content as last parsed (possibly touched: see ``stats``)."""
    deleted: list[str]
    """Known files that are gone (or now ignored)."""
    stats: dict[str, FileStat] = field(default_factory=dict)
    """Size and mtime of every current file, to remember for the next comparison."""


def plan_changes(
    paths: Sequence[Path], known: Mapping[str, KnownFile], *, force: bool = False
) -> ChangePlan:
    """Split ``paths`` into files to parse and unchanged ones; find deleted files.

    A file is unchanged when its size and mtime are the remembered ones, or, if not,
    when its SHA-256 still is; ``force`` parses every file.
    """
    to_parse: list[Path] = []
    unchanged: list[str] = []
    stats: dict[str, FileStat] = {}
    for path in paths:
        key = str(path)
        try:
            stats[key] = FileStat.of(path)
        except OSError:  # vanished since discovery: the parser reports it
            to_parse.append(path)
            continue
        if force or not _same_content(path, stats[key], known.get(key)):
            to_parse.append(path)
        else:
            unchanged.append(key)
    deleted = sorted(set(known) - {str(path) for path in paths})
    return ChangePlan(to_parse, unchanged, deleted, stats)


def _same_content(path: Path, stat: FileStat, known: KnownFile | None) -> bool:
    if known is None:
        return False
    if stat == known.stat:
        return True
    try:
        return file_hash(path) == known.file_hash
    except OSError:
        return False


def claims_of(
    result: FileParseResult, *, previous: Sequence[str], owners: Mapping[str, str]
) -> list[str]:
    """The dag_ids a freshly parsed file claims.

    Its valid DAGs, plus the DAGs it already owned that cannot be loaded now (the file
    failed to import, or the DAG failed validation): their last good version stays
    until the file defines them correctly or stops defining them.
    """
    path = str(result.path)
    kept = previous if not result.imported else result.invalid_dag_ids
    owned = [dag_id for dag_id in kept if owners.get(dag_id) == path]
    return sorted({*result.dag_ids, *owned})


def assign_dag_ids(
    claims: Mapping[str, Sequence[str]], owners: Mapping[str, str]
) -> dict[str, str]:
    """Each claimed dag_id → the file that gets it (the owner, else the first path)."""
    claimants: dict[str, list[str]] = defaultdict(list)
    for path in sorted(claims):
        for dag_id in claims[path]:
            claimants[dag_id].append(path)
    winners = {}
    for dag_id, paths in claimants.items():
        owner = owners.get(dag_id)
        winners[dag_id] = owner if owner in paths else paths[0]
    return winners


def drop_duplicates(result: FileParseResult, winners: Mapping[str, str]) -> FileParseResult:
    """``result`` without the DAGs another file gets, each replaced by an import error."""
    path = str(result.path)
    kept = [data for data in result.dags if winners.get(str(data["dag_id"]), path) == path]
    if len(kept) == len(result.dags):
        return result
    errors = [
        ImportErrorInfo(
            f"{path}: DAG {dag_id!r} is already defined in {winners[dag_id]};"
            " a dag_id must be unique across files"
        )
        for dag_id in result.dag_ids
        if winners.get(dag_id, path) != path
    ]
    return replace(result, dags=kept, errors=[*result.errors, *errors])


def parse_folder(options: ParseOptions, *, safe_mode: bool = True) -> list[FileParseResult]:
    """Parse every DAG file of ``options.dags_folder`` and apply the cross-file checks (no
    database)."""
    paths = discover_dag_files(options.dags_folder, safe_mode=safe_mode)
    results = parse_files(paths, options)
    winners = assign_dag_ids({str(r.path): r.dag_ids for r in results}, {})
    return [drop_duplicates(result, winners) for result in results]
