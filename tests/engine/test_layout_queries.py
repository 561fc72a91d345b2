"""Queries live in engine/'s services: the edges (the API's modules, the UI's views and
blueprint, auth, the CLI's commands) call services and page what those return, and build
or run no SQL of their own (issue 15). The UI's view models (``webui/ui/viewmodels/``)
are its own read models and keep their queries.

The check reads the source (ast), so it names each offence by file, line and call. A call
counts when it is into SQLAlchemy itself (``sa.select``, ``sa.func.lower``, ``joinedload``),
a method only a statement or a session has (``.where``, ``.options``, ``.scalars``...), or
a name Python's own types share (``join``, ``update``, ``delete``, ``insert``, ``select``)
called on something known to be SQL: a statement, a session (``db.session()``), what an
engine or webui function annotated to return one gave, or a name bound to one of those.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEBUI = ROOT / "webui"
EDGES = sorted(
    [
        *(WEBUI / "api").rglob("*.py"),
        *(WEBUI / "ui" / "views").rglob("*.py"),
        WEBUI / "ui" / "blueprint.py",
        *(WEBUI / "auth").rglob("*.py"),
        *(ROOT / "engine" / "cli").rglob("*.py"),
    ]
)

STATEMENT_METHODS = frozenset(
    {
        "where", "filter", "filter_by", "outerjoin", "select_from", "with_only_columns",
        "group_by", "having", "order_by", "options", "execute", "scalar", "scalars",
    }
)  # fmt: skip
"""Methods of SQLAlchemy's statements and sessions that no type of Python's own has."""
SHARED_METHODS = frozenset({"select", "join", "update", "delete", "insert"})
"""SQL when called on a statement or a session; ``str.join`` or ``dict.update`` otherwise."""
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
SQL_TYPES = frozenset({"Select", "Session", "Query", "Result", "Update", "Delete", "Insert"})
"""Words in an annotation that say a value is SQL."""


def _imports(tree: ast.Module) -> dict[str, str]:
    """Each name the module binds by an import, with the dotted path it stands for."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        owner = _dotted(node.value)
        return None if owner is None else f"{owner}.{node.attr}"
    return None


def _root(node: ast.expr) -> str | None:
    """The name an attribute, call or subscript chain starts from."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


@functools.cache
def _return_annotation(dotted: str, root: Path = ROOT) -> str:
    """What the function ``dotted`` (``package.module.function``) of this repository is
    annotated to return; empty when it is not one. A name a package re-exports (in its
    ``__init__.py`` or the lazy ``__init__.pyi`` stub) is followed to its definition."""
    module, _, name = dotted.rpartition(".")
    base = root / module.replace(".", "/")
    for path in (base.with_suffix(".py"), base / "__init__.py", base / "__init__.pyi"):
        if not path.is_file():
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name == name and node.returns:
                return ast.unparse(node.returns)
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != module:
                # (a package importing its own submodules binds modules, not functions)
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        return _return_annotation(f"{node.module}.{alias.name}", root)
    return ""


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``scope`` outside the functions defined in it (each its own scope)."""
    for child in ast.iter_child_nodes(scope):
        if not isinstance(child, FUNCTIONS):
            yield child
            yield from _own_nodes(child)


def _names_sql(annotation: str) -> bool:
    """Whether an annotation's text names one of :data:`SQL_TYPES` (``sa.Select[Any]``,
    ``Session | None``; not ``FileParseResult``)."""
    return not SQL_TYPES.isdisjoint(re.findall(r"\w+", annotation))


def _says_sql(annotation: ast.expr | None) -> bool:
    return annotation is not None and _names_sql(ast.unparse(annotation))


class _Reader:
    """What one module's source calls that builds or runs SQL."""

    def __init__(self, tree: ast.Module, root: Path) -> None:
        self.root = root
        self.imports = _imports(tree)
        self.local_defs = {node.name: node for node in tree.body if isinstance(node, FUNCTIONS)}
        self.sqlalchemy = {
            name for name, path in self.imports.items() if path.split(".")[0] == "sqlalchemy"
        }

    def returns_sql(self, func: ast.expr) -> bool:
        dotted = _dotted(func)
        if dotted is None:
            return False
        first, _, rest = dotted.partition(".")
        if first in self.local_defs and not rest:
            return _says_sql(self.local_defs[first].returns)
        if first not in self.imports:
            return False
        path = self.imports[first] + (f".{rest}" if rest else "")
        return _names_sql(_return_annotation(path, self.root))

    def is_sql(self, node: ast.expr, names: set[str]) -> bool:
        """Whether ``node`` is a statement, a session or a result (as far as the source
        tells)."""
        if isinstance(node, ast.Name):
            return node.id in names or node.id in self.sqlalchemy
        if _root(node) in self.sqlalchemy:
            return True
        if isinstance(node, ast.Call):
            if self.returns_sql(node.func):
                return True
            return self.calls_sql(node.func, names)
        return False

    def calls_sql(self, func: ast.expr, names: set[str]) -> bool:
        """Whether calling ``func`` builds or runs SQL."""
        if _root(func) in self.sqlalchemy:
            return True
        if not isinstance(func, ast.Attribute):
            return False
        if func.attr in STATEMENT_METHODS:
            return True
        return func.attr in SHARED_METHODS and self.is_sql(func.value, names)

    def sql_names(self, scope: ast.AST) -> set[str]:
        """Names in ``scope`` bound to SQL: parameters annotated so, assignments from it."""
        names: set[str] = set()
        if isinstance(scope, FUNCTIONS):
            params = [*scope.args.posonlyargs, *scope.args.args, *scope.args.kwonlyargs]
            names.update(arg.arg for arg in params if _says_sql(arg.annotation))
        assignments = [node for node in _own_nodes(scope) if isinstance(node, ast.Assign)]
        while True:
            more = {
                target.id
                for node in assignments
                if self.is_sql(node.value, names)
                for target in node.targets
                if isinstance(target, ast.Name)
            } - names
            if not more:
                return names
            names |= more

    def offences(self, scope: ast.AST) -> Iterator[tuple[int, str]]:
        names = self.sql_names(scope)
        for node in _own_nodes(scope):
            if isinstance(node, ast.Call) and self.calls_sql(node.func, names):
                yield node.lineno, f"{ast.unparse(node.func)}()"


def sql_built_in(source: str, root: Path = ROOT) -> list[str]:
    """``line: call`` for each call in ``source`` that builds or runs SQL, in line order
    (the functions it imports are looked up below ``root``)."""
    tree = ast.parse(source)
    reader = _Reader(tree, root)
    scopes = [tree, *(node for node in ast.walk(tree) if isinstance(node, FUNCTIONS))]
    found = {offence for scope in scopes for offence in reader.offences(scope)}
    return [f"{line}: {call}" for line, call in sorted(found)]


def test_the_edges_build_no_sql() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{offence}"
        for path in EDGES
        for offence in sql_built_in(path.read_text(encoding="utf-8"))
    ]
    assert not offences, "SQL in an edge; give it a service:\n" + "\n".join(offences)


def test_the_check_finds_sql_and_leaves_strings_and_dicts_alone() -> None:
    source = """
import sqlalchemy as sqla
from sqlalchemy.orm import joinedload
from engine.models import Dag
from engine.services.daglist import DagFilter, dag_query
from webui import db

def listed(text, figures: dict, lines: list, session: "Session") -> object:
    names = ", ".join(["a", "b"])
    figures.update(a=1)
    lines.insert(0, names)
    stmt = dag_query(DagFilter(), session=db.session())
    narrowed = stmt.join(Dag)
    db.session().delete(narrowed)
    session.update(Dag)
    return sqla.func.lower(text), joinedload(Dag.owner), narrowed.where(Dag.is_paused)
"""
    assert sql_built_in(source) == [
        "13: stmt.join()",
        "14: db.session().delete()",
        "15: session.update()",
        "16: joinedload()",
        "16: narrowed.where()",
        "16: sqla.func.lower()",
    ]


def test_the_check_follows_a_package_s_re_exports(tmp_path: Path) -> None:
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__init__.pyi").write_text(
        "from shop.queries import orders as orders\nfrom shop.parse import read as read\n"
    )
    (package / "queries.py").write_text("def orders() -> sa.Select[Any]: ...\n")
    (package / "parse.py").write_text("def read() -> FileParseResult: ...\n")
    source = """
from shop import orders, read

def listed() -> object:
    return orders().join(read().join())
"""
    assert sql_built_in(source, root=tmp_path) == ["5: orders().join()"]
