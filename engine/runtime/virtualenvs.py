"""The ``virtualenv.*`` settings as the virtualenv operators take them, for the processes
that run tasks (workers, ``loom dags test``)."""

from __future__ import annotations

from engine.authoring.operators.isolated.environments import VirtualenvDefaults
from engine.config import Settings


def virtualenv_defaults_from(settings: Settings) -> VirtualenvDefaults:
    """Where task environments are cached and how they are built, from ``settings``."""
    return VirtualenvDefaults(
        cache_path=settings.virtualenv.cache_path,
        install_method=settings.virtualenv.install_method,
    )
