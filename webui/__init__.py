"""Loom's webserver: the REST API and the web UI, built by :func:`create_app`."""

from engine.lazy import attach_stub

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
