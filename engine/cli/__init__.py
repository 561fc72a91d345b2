"""The ``loom`` command line: one module per noun, each a thin edge over the engine."""

from __future__ import annotations

from engine.cli.main import cli, main

__all__ = ["cli", "main"]
