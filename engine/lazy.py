"""Lazy re-exports: a package names its public API in ``__init__.pyi`` and loads it on use.

A package's ``__init__.py`` calls :func:`attach_stub`; its ``__init__.pyi`` holds the
re-exports as ordinary ``from module import Name as Name`` lines. Type checkers read the
stub, so the names keep their types; at run time a name's module is imported the first
time the name is used. The list of public names is written once, in the stub, and a
leaf import such as ``import engine.errors`` no longer loads the authoring API.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any


def stub_exports(stub: Path) -> dict[str, str]:
    """``{public name: module it comes from}``, read from the stub's import lines."""
    exports: dict[str, str] = {}
    for node in ast.parse(stub.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                exports[alias.asname or alias.name] = node.module
    return exports


def attach_stub(
    package: str, init_file: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``, from its stub."""
    exports = stub_exports(Path(init_file).with_suffix(".pyi"))

    def get_attribute(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(importlib.import_module(package), name, value)
        return value

    def list_names() -> list[str]:
        return sorted(exports)

    return get_attribute, list_names, sorted(exports)
