"""Loom's benchmarks: each prints one JSON line of figures and asserts nothing about time."""
