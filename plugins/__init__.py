"""Loom plugins (skeleton: later issues fill it)."""
