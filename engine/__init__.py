"""Loom's authoring API: everything a DAG file imports.

from engine import DAG, task
"""

from engine.lazy import attach_stub

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
