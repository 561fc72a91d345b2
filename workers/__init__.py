"""Loom workers (skeleton: later issues fill it)."""
