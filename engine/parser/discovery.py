"""Finding DAG files: every ``*.py`` under the DAG folder that ``.loomignore`` lets through.

A ``.loomignore`` holds gitignore-style patterns. One in the DAG folder applies to the
whole tree; one in a subfolder applies below that subfolder, relative to it. Hidden
folders and ``__pycache__`` are always skipped.

Safe mode (on by default, as in Airflow): a file whose text contains neither ``DAG`` nor
``dag`` cannot define a DAG through Loom's API, so it is not imported at all. Helper
modules kept next to DAG files are then never run on their own.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pathspec

IGNORE_FILE = ".loomignore"
SKIPPED_DIRS = frozenset({"__pycache__"})
DAG_MARKERS = (b"DAG", b"dag")
"""Words one of which every DAG file contains (``DAG(...)``, ``@dag``, ``from engine``...)."""


@dataclass(frozen=True)
class _IgnoreRules:
    """The patterns of one ``.loomignore`` and the folder they are relative to."""

    base: Path
    spec: pathspec.GitIgnoreSpec

    def ignores(self, path: Path, *, is_dir: bool) -> bool:
        relative = path.relative_to(self.base).as_posix()
        # A trailing slash lets "build/" patterns match the folder itself.
        return self.spec.match_file(relative + "/" if is_dir else relative)


def discover_dag_files(folder: Path, *, safe_mode: bool = True) -> list[Path]:
    """Every DAG file under ``folder``, sorted; none when the folder does not exist."""
    folder = folder.resolve()
    if not folder.is_dir():
        return []
    found: list[Path] = []
    rules_by_dir: dict[Path, list[_IgnoreRules]] = {}
    for root, dirnames, filenames in os.walk(folder):
        here = Path(root)
        rules = rules_by_dir.get(here.parent, []) + _read_rules(here)
        rules_by_dir[here] = rules
        dirnames[:] = sorted(d for d in dirnames if _keep_dir(here / d, rules))
        for name in sorted(filenames):
            path = here / name
            if name.endswith(".py") and not _ignored(path, rules, is_dir=False):
                found.append(path)
    if safe_mode:
        found = [path for path in found if might_define_dag(path)]
    return sorted(found)


def might_define_dag(path: Path) -> bool:
    """Safe mode's cheap test: does the file's text mention ``DAG`` or ``dag`` at all?"""
    try:
        content = path.read_bytes()
    except OSError:
        return True  # let the parser report why the file cannot be read
    return any(marker in content for marker in DAG_MARKERS)


def file_hash(path: Path) -> str:
    """The SHA-256 of the file's content, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_rules(folder: Path) -> list[_IgnoreRules]:
    ignore_file = folder / IGNORE_FILE
    if not ignore_file.is_file():
        return []
    lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
    return [_IgnoreRules(folder, pathspec.GitIgnoreSpec.from_lines(lines))]


def _keep_dir(path: Path, rules: list[_IgnoreRules]) -> bool:
    if path.name.startswith(".") or path.name in SKIPPED_DIRS:
        return False
    return not _ignored(path, rules, is_dir=True)


def _ignored(path: Path, rules: list[_IgnoreRules], *, is_dir: bool) -> bool:
    return any(rule.ignores(path, is_dir=is_dir) for rule in rules)
