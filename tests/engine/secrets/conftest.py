"""Each test starts with no secret registered for masking, and leaves none behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.config.masking import forget_secrets


@pytest.fixture(autouse=True)
def _no_registered_secrets() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()
