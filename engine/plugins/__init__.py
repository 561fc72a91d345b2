"""Plugins: deployment code in ``core.plugins_folder`` that adds operators, template macros
and filters, timetables, listeners and UI links to every process that runs DAG code.

* :mod:`engine.plugins.base`: :class:`LoomPlugin`, what a plugin file declares.
* :mod:`engine.plugins.loading`: importing and checking the folder, once per process.
* :mod:`engine.plugins.listeners`: telling listeners about task instance state changes.

See docs/plugins.md.
"""

from engine.lazy import attach_stub

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
