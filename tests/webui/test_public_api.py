"""The webui package's public names."""

from __future__ import annotations

import webui


def test_public_names() -> None:
    assert webui.__all__ == ["create_app"]
