"""Loom's webserver: the REST API and the web UI, built by :func:`create_app`."""

from webui.app import create_app as create_app

__all__ = ["create_app"]
