"""The plugins this process loaded, and what they add together.

Kept apart from :mod:`engine.plugins.loading` so that the task context can read the
active plugins' macros without importing the loader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from engine.authoring.timetables.serialized import timetable_key
from engine.plugins.base import UiLink
from engine.plugins.checks import CheckedPlugin


@dataclass(frozen=True)
class PluginRegistry:
    """The plugins of one folder, checked, and what they add together."""

    plugins: tuple[CheckedPlugin, ...] = ()

    @property
    def macros(self) -> dict[str, SimpleNamespace]:
        """``macros.<plugin name>`` in templates: each plugin's functions as attributes."""
        return {p.name: SimpleNamespace(**p.macros) for p in self.plugins if p.macros}

    @property
    def template_filters(self) -> dict[str, Callable[..., Any]]:
        return {name: f for p in self.plugins for name, f in p.template_filters.items()}

    @property
    def timetables(self) -> dict[str, type[Any]]:
        """Timetable classes by the name serialized DAGs record (``module.Class``)."""
        return {timetable_key(t): t for p in self.plugins for t in p.timetables}

    @property
    def listeners(self) -> tuple[object, ...]:
        return tuple(listener for p in self.plugins for listener in p.listeners)

    @property
    def ui_links(self) -> tuple[UiLink, ...]:
        return tuple(link for p in self.plugins for link in p.ui_links)


_active = PluginRegistry()


def active_plugins() -> PluginRegistry:
    """The plugins this process loaded (none until ``load_plugins`` succeeded)."""
    return _active


def set_active(registry: PluginRegistry) -> None:
    """Make ``registry`` what :func:`active_plugins` returns (see ``load_plugins``)."""
    global _active
    _active = registry
