"""The one forkserver of a Loom process, from which every child that runs DAG code forks.

Parser children (one per DAG file), the local executor's pool processes and the DAG
callback processes of ``loom standalone`` all fork from the same multiprocessing
*forkserver*: a lean process that imported Loom once, never opened a connection and runs
no thread. A child shares those imported pages with the server and every sibling
(copy-on-write) instead of importing Loom again in a fresh interpreter, which costs each
``spawn``-ed process ~70 MB of its own and a second of start-up.

The modules the server imports are decided before it starts: :data:`DAG_CODE_MODULES`
(what a DAG file imports) plus whatever a user of the server asked for with
:func:`preload` before then (the local executor asks for its job function's module). A
module asked for once the server runs is imported by each child that needs it instead:
correct, only slower.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import threading
from dataclasses import dataclass
from multiprocessing.context import ForkServerContext
from pathlib import Path

import engine
from engine.lazy import stub_exports

logger = logging.getLogger(__name__)

DAG_CODE_MODULES = [
    "engine.cli",
    "engine.parser.child",
    "engine.parser.processor",
    *sorted(set(stub_exports(Path(engine.__file__).with_suffix(".pyi")).values())),
]
"""Imported by the server before it forks anything: the modules of everything ``from
engine import ...`` offers a DAG file (``engine`` itself loads them lazily), and the
parser child's own module and the processor (which names the children's target: a child
unpickles it by reference, so a module not preloaded is imported by every child, ~14 ms).

``engine.cli`` is here for a CPython quirk: the forkserver never preloads ``__main__``
(the main path is not passed to it), so each child re-runs the parent's main script.
For the ``loom`` console script that is ``from engine.cli import main``: already loaded,
it costs nothing; not loaded, it would cost ~30 ms per child.
"""

_lock = threading.Lock()
_requested: list[str] = []
_started = False


def preload(*modules: str) -> None:
    """Ask for ``modules`` to be imported by the server (if it has not started yet)."""
    with _lock:
        if _started:
            missing = [name for name in modules if name not in _preloaded()]
            if missing:
                logger.debug("forkserver already running; %s imported per child", missing)
            return
        _requested.extend(name for name in modules if name not in _requested)


def context() -> ForkServerContext:
    """The forkserver context, its server started (the first call boots it)."""
    global _started
    with _lock:
        if not _started:
            _boot()
            _started = True
    return _context()


@dataclass(frozen=True)
class Surroundings:
    """The parent's environment and working directory when it started a child: a forked
    child would otherwise have the server's, from when the server started (a ``spawn``-ed
    one gets the parent's). The child calls :meth:`enter` first."""

    environ: dict[str, str]
    cwd: str

    @classmethod
    def now(cls) -> Surroundings:
        return cls(environ=dict(os.environ), cwd=str(Path.cwd()))

    def enter(self) -> None:
        os.environ.clear()
        os.environ.update(self.environ)
        os.chdir(self.cwd)


@functools.cache
def _context() -> ForkServerContext:
    return multiprocessing.get_context("forkserver")


PAUSE_MODULE, FREEZE_MODULE = "engine.runtime.gcpause", "engine.runtime.gcfreeze"
"""Imported first and last by the server: no collection between them, then what the
modules between them created is frozen (see the two modules)."""


def _preloaded() -> list[str]:
    extra = [name for name in _requested if name not in DAG_CODE_MODULES]
    return [PAUSE_MODULE, *DAG_CODE_MODULES, *extra, FREEZE_MODULE]


def _boot() -> None:
    _context().set_forkserver_preload(_preloaded())
    # Booted now, so that its start (importing Loom, a second or more on a busy machine)
    # is not charged to the first child's timeout.
    multiprocessing.forkserver.ensure_running()
