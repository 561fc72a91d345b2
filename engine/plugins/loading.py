"""Loading ``core.plugins_folder``: import every plugin file once per process, check what
it declares, and make it take effect here.

Each ``*.py`` directly in the folder (not one starting with ``_``) is imported under its
own name (``plugins/ops.py`` becomes module ``ops``) with the folder on ``sys.path``, so
a DAG file imports a plugin's operators the way Airflow 2+ users do:
``from ops import MyOperator``. Every :class:`LoomPlugin` subclass a file defines is
checked; the first problem stops the loading with a :class:`PluginError` naming the
file, the attribute and the problem, and the process keeps that error (it is raised
again on every later call) instead of running with half of its plugins.

What takes effect: template filters and timetables are registered with the authoring
API (:mod:`engine.authoring.templating`, :mod:`engine.authoring.schedules`); macros and
listeners are read from :func:`engine.plugins.registry.active_plugins` by the task
context and the worker.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
from pathlib import Path
from types import ModuleType

from engine.authoring import schedules, templating
from engine.authoring.macros import BUILTIN_MACROS
from engine.errors import PluginError
from engine.plugins.base import LoomPlugin
from engine.plugins.checks import CheckedPlugin, check_plugin
from engine.plugins.registry import PluginRegistry, active_plugins, set_active

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded: dict[Path, PluginRegistry | PluginError] = {}
_imported_modules: list[str] = []


def load_plugins(folder: Path | None) -> PluginRegistry:
    """Load the plugins of ``folder`` into this process, once; later calls reuse the result.

    A folder that does not exist holds no plugins; None loads nothing. Raises
    :class:`PluginError` when a plugin file fails to import or to pass its checks.
    """
    if folder is None:
        return active_plugins()
    key = folder.resolve()
    with _lock:
        if key not in _loaded:
            try:
                _loaded[key] = _read_folder(key)
            except PluginError as exc:
                _loaded[key] = exc
        outcome = _loaded[key]
        if isinstance(outcome, PluginRegistry) and outcome is not active_plugins():
            _activate(outcome)
    if isinstance(outcome, PluginError):
        raise PluginError(str(outcome))
    return outcome


def load_plugins_or_log(folder: Path | None) -> PluginRegistry:
    """:func:`load_plugins` for a service that must stay up (scheduler, webserver): a
    broken plugin is logged with its traceback, and the process goes on without plugins."""
    try:
        return load_plugins(folder)
    except PluginError:
        logger.exception("plugins of %s not loaded; going on without them", folder)
        return PluginRegistry()


def forget_plugins() -> None:
    """Undo :func:`load_plugins` (for tests): registrations, modules and cached results."""
    with _lock:
        templating.set_plugin_filters({})
        schedules.set_plugin_timetables({})
        for name in _imported_modules:
            sys.modules.pop(name, None)
        _imported_modules.clear()
        _loaded.clear()
        set_active(PluginRegistry())


def plugin_files(folder: Path) -> list[Path]:
    """The plugin files of ``folder``, in name order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def put_on_path(folder: Path) -> None:
    """Make the modules of plugin folder ``folder`` importable by name (once)."""
    if folder.is_dir() and str(folder) not in sys.path:
        # Appended, not prepended: a plugin file must not shadow a library module.
        sys.path.append(str(folder))


def _read_folder(folder: Path) -> PluginRegistry:
    put_on_path(folder)
    checked: list[CheckedPlugin] = []
    for path in plugin_files(folder):
        module = _import(path)
        checked += [check_plugin(cls, path) for cls in _plugin_classes(module)]
    _check_unique(checked)
    logger.info("loaded %s plugin(s) from %s", len(checked), folder)
    return PluginRegistry(tuple(checked))


def _import(path: Path) -> ModuleType:
    name = path.stem
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__file__", None) != str(path):
        raise PluginError(
            f"{path}: its module name {name!r} is already taken by "
            f"{getattr(existing, '__file__', None) or 'a built-in module'}; rename the file"
        )
    if existing is not None:
        return existing
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    _imported_modules.append(name)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise PluginError(f"{path}: failed to import: {type(exc).__name__}: {exc}") from exc
    return module


def _plugin_classes(module: ModuleType) -> list[type[LoomPlugin]]:
    """The plugin classes the module itself defines (not those it imports)."""
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, LoomPlugin)
        and value is not LoomPlugin
        and value.__module__ == module.__name__
    ]


def _check_unique(plugins: list[CheckedPlugin]) -> None:
    """Names shared across plugins would make one silently replace the other."""
    seen_names: dict[str, CheckedPlugin] = {}
    seen_filters: dict[str, CheckedPlugin] = {}
    builtin = templating.builtin_filter_names()
    for plugin in plugins:
        if plugin.macros and plugin.name in BUILTIN_MACROS:
            raise PluginError(
                f"{plugin.file}: plugin {plugin.class_name}: name {plugin.name!r} is taken by "
                f"the built-in macros.{plugin.name}"
            )
        first = seen_names.setdefault(plugin.name, plugin)
        if first is not plugin:
            raise PluginError(
                f"{plugin.file}: plugin {plugin.class_name}: name {plugin.name!r} is taken "
                f"by plugin {first.class_name} of {first.file}"
            )
        for name in plugin.template_filters:
            if name in builtin:
                raise PluginError(
                    f"{plugin.file}: plugin {plugin.class_name}: template_filters: "
                    f"{name!r} is a built-in filter, which a plugin may not replace"
                )
            first = seen_filters.setdefault(name, plugin)
            if first is not plugin:
                raise PluginError(
                    f"{plugin.file}: plugin {plugin.class_name}: template_filters: "
                    f"{name!r} is defined by plugin {first.class_name} of {first.file} too"
                )


def _activate(registry: PluginRegistry) -> None:
    templating.set_plugin_filters(registry.template_filters)
    schedules.set_plugin_timetables(registry.timetables)
    set_active(registry)
