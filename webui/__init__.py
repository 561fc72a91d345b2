"""Loom webui (skeleton: later issues fill it)."""
