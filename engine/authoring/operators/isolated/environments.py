"""Virtual environments for tasks: made from a spec, cached by its hash, built once.

A cached environment lives in ``<cache>/venv-<hash>``, the hash of everything that makes
it (:class:`VirtualenvSpec`). It is complete once its marker file (the spec as JSON) is
there: the marker is written last, atomically (a temporary file renamed), so a reader
that finds it needs no lock. A builder holds an exclusive ``flock`` on
``venv-<hash>.lock`` and checks again under it, so two workers wanting the same new
environment build it once; the second waits and reuses it. A directory without a marker
is what a builder that died left behind: the next builder deletes it. (``flock`` is
per machine: workers on several machines need a cache folder of their own each, or a
file system whose locks span machines.)

With no cache folder an environment is built in a temporary folder for one try and
deleted after it, as Airflow does without ``venv_cache_path``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine.scoped import scoped

MARKER = "loom-venv.json"
INSTALL_METHODS = ("auto", "uv", "pip")


class VirtualenvError(RuntimeError):
    """An environment could not be created or its packages installed."""


@dataclass(frozen=True)
class VirtualenvDefaults:
    """The worker's settings for task environments (``virtualenv.*``)."""

    cache_path: Path | None = None
    """Where environments are cached; None builds a fresh one for every try."""
    install_method: str = "auto"
    """``auto`` (uv when found, else venv + pip), ``uv`` or ``pip``."""


_DEFAULTS: ContextVar[VirtualenvDefaults] = ContextVar(
    "loom_virtualenv_defaults",
    default=VirtualenvDefaults(),  # noqa: B039 - frozen, so sharing it is safe
)


def virtualenv_defaults(defaults: VirtualenvDefaults) -> contextlib.AbstractContextManager[None]:
    """Run the block (a try) with ``defaults``; workers and ``loom dags test`` set them."""
    return scoped(_DEFAULTS, defaults)


def current_defaults() -> VirtualenvDefaults:
    return _DEFAULTS.get()


def say(line: str) -> None:
    """A line of the task's log (its stdout), beside the output of pip or uv."""
    sys.stdout.write(line + "\n")


@dataclass(frozen=True)
class VirtualenvSpec:
    """Everything that makes an environment; equal specs share a cached environment."""

    python: str
    """The interpreter the environment is made from (a path, or ``python3.X`` for uv)."""
    python_version: str | None
    requirements: tuple[str, ...] = ()
    system_site_packages: bool = True
    pip_install_options: tuple[str, ...] = ()
    index_urls: tuple[str, ...] | None = None
    worker_packages: tuple[str, ...] = field(default=())
    """The worker's own site-packages, visible with ``system_site_packages`` when the
    worker runs in a virtualenv of the same interpreter."""

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def key(self) -> str:
        return hashlib.sha256(self.as_json().encode("utf-8")).hexdigest()[:16]


def interpreter_for(python_version: str | None) -> tuple[str, tuple[str, ...]]:
    """The interpreter for ``python_version`` (None: the worker's) and, when it is the
    worker's own, the worker's site-packages folders."""
    own = f"{sys.version_info.major}.{sys.version_info.minor}"
    if python_version in (None, own, str(sys.version_info.major)):
        in_venv = sys.prefix != sys.base_prefix
        return sys.executable, tuple(site.getsitepackages()) if in_venv else ()
    found = shutil.which(f"python{python_version}")
    if found is None:
        raise VirtualenvError(
            f"python_version {python_version!r}: no python{python_version} on the worker's "
            "PATH; install that Python on the workers or choose another version"
        )
    return found, ()


def find_uv() -> str | None:
    """``uv`` on PATH, or beside the worker's Python (a virtualenv's bin folder)."""
    beside = Path(sys.executable).parent / "uv"
    return shutil.which("uv") or (str(beside) if os.access(beside, os.X_OK) else None)


Runner = Callable[[list[str]], None]
"""Runs one command with its output in the task's log; raises VirtualenvError on failure."""


@contextlib.contextmanager
def environment(spec: VirtualenvSpec, defaults: VirtualenvDefaults, run: Runner) -> Iterator[Path]:
    """The Python of an environment for ``spec``: cached, or temporary for the block."""
    if defaults.cache_path is not None:
        folder, _ = ensure_cached(spec, defaults.cache_path, defaults.install_method, run)
        yield folder / "bin" / "python"
        return
    with tempfile.TemporaryDirectory(prefix="loom-venv-") as tmp:
        folder = Path(tmp) / "venv"
        build(folder, spec, defaults.install_method, run)
        yield folder / "bin" / "python"


def ensure_cached(spec: VirtualenvSpec, cache: Path, method: str, run: Runner) -> tuple[Path, bool]:
    """The cached environment of ``spec`` and whether this call built it."""
    folder = cache / f"venv-{spec.key()}"
    if _complete(folder, spec):
        say(f"Reusing the virtual environment {folder}")
        return folder, False
    cache.mkdir(parents=True, exist_ok=True)
    with _locked(cache / f"venv-{spec.key()}.lock"):
        if _complete(folder, spec):  # another worker built it while we waited
            say(f"Reusing the virtual environment {folder}")
            return folder, False
        if folder.exists():
            say(f"Deleting the unfinished virtual environment {folder}")
            shutil.rmtree(folder)
        try:
            build(folder, spec, method, run)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        _write_marker(folder, spec)
    say(f"Created the virtual environment {folder}")
    return folder, True


def _complete(folder: Path, spec: VirtualenvSpec) -> bool:
    marker = folder / MARKER
    try:
        return marker.read_text(encoding="utf-8") == spec.as_json()
    except FileNotFoundError:
        return False


def _write_marker(folder: Path, spec: VirtualenvSpec) -> None:
    tmp = folder / f".{MARKER}.{os.getpid()}"
    tmp.write_text(spec.as_json(), encoding="utf-8")
    tmp.replace(folder / MARKER)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or we die
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build(folder: Path, spec: VirtualenvSpec, method: str, run: Runner) -> None:
    """Create the environment of ``spec`` in ``folder`` and install its requirements."""
    uv = _uv_for(method)
    say(f"Creating a virtual environment in {folder} with {'uv' if uv else 'venv'}")
    run(_create_command(folder, spec, uv))
    python = folder / "bin" / "python"
    if spec.worker_packages and spec.system_site_packages:
        _add_worker_packages(python, spec.worker_packages)
    if spec.requirements:
        requirements = folder / "requirements.txt"
        requirements.write_text("\n".join(spec.requirements) + "\n", encoding="utf-8")
        run(_install_command(python, requirements, spec, uv))


def _uv_for(method: str) -> str | None:
    if method == "pip":
        return None
    uv = find_uv()
    if uv is None and method == "uv":
        raise VirtualenvError(
            "virtualenv.install_method is uv, but no uv executable is on the worker's PATH "
            "or beside its Python"
        )
    return uv


def _create_command(folder: Path, spec: VirtualenvSpec, uv: str | None) -> list[str]:
    system = ["--system-site-packages"] if spec.system_site_packages else []
    if uv:
        return [uv, "venv", "--seed", "--python", spec.python, *system, str(folder)]
    without_pip = [] if spec.requirements else ["--without-pip"]  # nothing to install
    return [spec.python, "-m", "venv", *system, *without_pip, str(folder)]


def _install_command(
    python: Path, requirements: Path, spec: VirtualenvSpec, uv: str | None
) -> list[str]:
    indexes: list[str] = []
    for n, url in enumerate(spec.index_urls or ()):
        indexes += ["--index-url" if n == 0 else "--extra-index-url", url]
    options = [*indexes, *spec.pip_install_options, "-r", str(requirements)]
    if uv:
        return [uv, "pip", "install", "--python", str(python), *options]
    return [str(python), "-m", "pip", "install", *options]


def _add_worker_packages(python: Path, folders: tuple[str, ...]) -> None:
    """Make the worker's own packages importable after the environment's own: a worker in
    a virtualenv has its packages there, not in the system site that
    ``--system-site-packages`` adds (``addsitedir`` also runs their ``.pth`` files)."""
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    lines = [f"import site; site.addsitedir({folder!r})" for folder in folders]
    (Path(purelib) / "zz-loom-worker-packages.pth").write_text("\n".join(lines) + "\n")
