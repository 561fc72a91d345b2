"""Loom settings for tests, validated from a mapping: no loom.yaml, no real environment."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.config import Settings


def make_settings(
    url: str,
    home: Path,
    *,
    dags_folder: Path | None = None,
    secret_key: str | None = None,
    **sections: Mapping[str, Any] | None,
) -> Settings:
    """Settings on database ``url`` with LOOM_HOME ``home``.

    ``sections`` set keys of one section each (``scheduler={"parallelism": 1}``; None
    leaves the section at its defaults); their keys join the ones the named arguments
    set in the same section.
    """
    base: dict[str, dict[str, Any]] = {"database": {"url": url}}
    if dags_folder is not None:
        base["core"] = {"dags_folder": str(dags_folder)}
    if secret_key is not None:
        base["webserver"] = {"secret_key": secret_key}
    data = {name: {**base.get(name, {}), **(sections.get(name) or {})} for name in base | sections}
    return Settings.model_validate({"home": str(home), **data})
