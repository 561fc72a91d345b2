"""Plugins' extra navigation links (``ui_links``), read once when the app is built.

The webserver loads plugins only for this (and for their timetables, which serialized
DAGs may name): plugins are deployment code, installed by the operator, so importing
them here breaks no promise; DAG files are never imported by the webserver. A broken
plugin is logged and leaves the navigation without plugin links: the UI stays up.
"""

from __future__ import annotations

from engine.config import Settings
from engine.plugins.base import UiLink
from engine.plugins.loading import load_plugins_or_log


def plugin_links(settings: Settings) -> tuple[UiLink, ...]:
    """The ``ui_links`` of the plugins in ``core.plugins_folder``."""
    return load_plugins_or_log(settings.core.plugins_folder).ui_links
