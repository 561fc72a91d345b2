"""The rooms of engine/ keep their promises: cheap leaf imports, authoring without I/O
libraries, lazy re-exports that resolve, and no import of webui/ or workers/."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import engine

ENGINE_DIR = Path(engine.__file__).parent
PARSER_FIXTURES = Path(__file__).parent / "parser" / "fixtures"


def _modules_after(code: str) -> set[str]:
    """The modules loaded by a fresh interpreter that ran ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_a_leaf_import_loads_neither_the_authoring_api_nor_its_libraries() -> None:
    loaded = _modules_after("import engine.errors")
    assert {m for m in loaded if m.startswith("engine")} == {
        "engine",
        "engine.errors",
        "engine.lazy",
    }
    assert not loaded & {"croniter", "jinja2", "networkx", "sqlalchemy"}


def _cli_after(home: Path, url: str, argv: list[str]) -> set[str]:
    """The modules loaded by a fresh ``loom argv`` process on the database at ``url``; it
    must succeed and read no ``loom.commands`` entry point (its command is Loom's own)."""
    return _modules_after(
        "import os\n"
        f"os.environ.update(LOOM_HOME={str(home)!r}, LOOM__DATABASE__URL={url!r},"
        f" LOOM__CORE__DAGS_FOLDER={str(home / 'dags')!r})\n"
        "os.environ.pop('LOOM_CONFIG', None)\n"
        "from engine.cli import registry\n"
        "from engine.cli.main import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit as exit:\n    assert not exit.code\n"
        "assert not registry.plugged_in.cache_info().currsize, 'entry points were read'\n"
    )


def test_listing_dags_loads_only_what_it_reads(tmp_path: Path) -> None:
    """``loom dags list`` starts fast: no PostgreSQL dialect on SQLite, no YAML without a
    loom.yaml, no package metadata or entry point read, no authoring API, only the DAG
    models."""
    from engine.models import migrate

    url = f"sqlite:///{tmp_path / 'loom.db'}"
    migrate.upgrade(url)
    loaded = _cli_after(tmp_path, url, ["dags", "list"])
    assert "engine.cli.dags_cmd" in loaded
    assert {m for m in loaded if m.startswith("engine.models.")} == {
        "engine.models.base",
        "engine.models.dags",
        "engine.models.session",
    }
    assert not {m for m in loaded if m.startswith(("engine.authoring", "engine.services."))} - {
        "engine.services.userinput",
        "engine.services.daglist",
        "engine.services.pagination",
    }
    assert not loaded & {"sqlalchemy.dialects.postgresql", "yaml", "jinja2", "croniter"}


def test_triggering_from_the_cli_reads_only_its_own_schedule_kind(tmp_path: Path) -> None:
    """``loom dags trigger`` of a DAG without a schedule loads neither the other timetables
    (cron, dateutil, assets), nor parsing ``schedule=``, nor trigger rules' setup/teardown
    index, nor the authoring API, nor the parser, nor what the process commands share (the
    trigger lives beside ``loom scheduler``)."""
    from engine.models import migrate

    url = f"sqlite:///{tmp_path / 'loom.db'}"
    migrate.upgrade(url)
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "manual.py").write_text(
        "from datetime import datetime\n"
        "from engine import DAG, EmptyOperator\n"
        "with DAG('manual', schedule=None, start_date=datetime(2026, 1, 1)):\n"
        "    EmptyOperator(task_id='only')\n",
        encoding="utf-8",
    )
    _cli_after(tmp_path, url, ["dags", "reparse"])
    loaded = _cli_after(tmp_path, url, ["dags", "trigger", "manual"])
    assert {"engine.services.runs", "engine.authoring.timetables.simple"} <= loaded
    assert not loaded & {
        "engine.authoring.schedules",
        "engine.authoring.timetables.cron",
        "engine.authoring.timetables.delta",
        "engine.authoring.timetables.assets",
        "engine.authoring.setupteardown_rules",
        "engine.authoring.dag",
        "engine.authoring.baseoperator",
        "engine.parser.sync",
        "engine.cli.process",
        "dateutil",
        "croniter",
        "jinja2",
        "yaml",
        "sqlalchemy.dialects.postgresql",
    }


def test_triggering_a_run_loads_neither_the_authoring_api_nor_the_delivery_models() -> None:
    loaded = _modules_after("import engine.services.runs")
    assert "engine.authoring.serialization" in loaded
    assert not loaded & {
        "engine.authoring.dag",
        "engine.authoring.baseoperator",
        "engine.models.operations",
        "engine.models.security",
        "sqlalchemy.dialects.postgresql",
    }


def test_the_scheduler_and_standalone_processes_load_no_validation_or_queue_library() -> None:
    """The scheduler's process (and standalone's, which also runs the webserver, relay,
    notifier and triggerer as threads) parses DAG files only in forked children: the
    parser child's module, its validation (networkx) and, with the local executor, rq and
    redis stay out of it; the forkserver preloads what the children need. Standalone
    migrates in a child of its own: Alembic stays out too. The webserver loads networkx
    on its first graph, Redis and RabbitMQ clients on the first health probe of them."""
    loaded = _modules_after(
        "import engine.runtime.standalone, engine.runtime.processes, webui.app, webui.serve\n"
        "from engine.executors import LocalExecutor, build_callback_transport\n"
        "from engine.config import load_settings\n"
        "LocalExecutor(1)\n"
        "build_callback_transport(load_settings())\n"
        "from engine.parser import ParseOptions, parse_file\n"
        "from pathlib import Path\n"
        f"folder = Path({str(PARSER_FIXTURES / 'containment')!r})\n"
        "assert parse_file(folder / 'good.py', ParseOptions(folder, timeout=30)).dags"
    )
    assert "engine.scheduling.scheduler" in loaded
    assert not loaded & {
        "engine.parser.child",
        "engine.authoring.validation",
        "networkx",
        "rq",
        "engine.executors.rq_executor",
        "alembic",
        "pika",
        "redis",
    }


def test_the_authoring_api_imports_no_database_web_or_queue_library() -> None:
    loaded = _modules_after("import engine\nfor name in engine.__all__: getattr(engine, name)")
    assert "engine.authoring.dag" in loaded
    assert not loaded & {"sqlalchemy", "flask", "rq", "redis", "pika", "psycopg"}


def test_every_public_name_resolves_to_what_its_module_defines() -> None:
    from engine.authoring.dag import DAG
    from engine.authoring.taskflow import task

    assert engine.DAG is DAG
    assert engine.task is task
    assert set(dir(engine)) == set(engine.__all__)
    for name in engine.__all__:
        assert getattr(engine, name) is not None


def test_an_unknown_name_is_an_attribute_error_that_names_it() -> None:
    with pytest.raises(AttributeError, match="'TaskGroupp'"):
        engine.TaskGroupp  # noqa: B018
    with pytest.raises(ImportError, match="TaskGroupp"):
        exec("from engine import TaskGroupp")


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_engine_imports_nothing_of_webui_or_workers() -> None:
    offenders = {
        str(path.relative_to(ENGINE_DIR)): found
        for path in ENGINE_DIR.rglob("*.py")
        if (found := _imported_packages(path) & {"webui", "workers"})
    }
    assert offenders == {}


def test_authoring_imports_no_other_room_of_the_engine() -> None:
    allowed = {
        "engine.authoring",
        "engine.errors",
        "engine.state",
        "engine.lazy",
        "engine.durations",
        "engine.priority",
        "engine.timeutil",
        "engine.scoped",
    }
    offenders = {}
    for path in (ENGINE_DIR / "authoring").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            if module.startswith("engine.") and not module.startswith(tuple(allowed)):
                offenders[path.name] = module
    assert offenders == {}
