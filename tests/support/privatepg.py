"""A PostgreSQL cluster of one test's own, to restart at will without disturbing the
shared server other tests use.

``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres``
user (its directory is made under the system's temporary folder, which that user can
reach); as any other user it is that user's. The server listens on 127.0.0.1 at a free
port, its Unix socket in its own directory, with trust authentication.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.network import free_port


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's binaries folder, None when there is none."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=_major_version)
    return found[-1].parent if found else None


def _major_version(path: Path) -> int:
    return int(path.parents[1].name.split(".")[0])


@dataclass
class PrivateCluster:
    """A running cluster: its URL, and the means to restart it."""

    bin: Path
    data: Path
    port: int
    as_postgres: bool

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def restart(self, mode: str = "fast") -> None:
        """``pg_ctl restart -m mode`` (fast: clients cut off; immediate: as a crash)."""
        self._pg_ctl("restart", "-m", mode, "-o", self._options())

    def start(self) -> None:
        self._pg_ctl("start", "-o", self._options())

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("stop", "-m", mode)

    def _options(self) -> str:
        return f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}"

    def _pg_ctl(self, *args: str) -> None:
        log = str(self.data / "server.log")
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", log, "-w", *args])

    def _run(self, args: Sequence[str]) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if self.as_postgres else list(args)
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {result.stdout}{result.stderr}")


@contextmanager
def private_postgres() -> Iterator[PrivateCluster]:
    """A fresh cluster on a free port (skips the test when PostgreSQL is not installed);
    stopped and deleted on the way out."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="loom-private-pg-"))
    data = root / "data"
    if as_postgres:
        shutil.chown(root, user="postgres", group="postgres")
    cluster = PrivateCluster(bin=bin_dir, data=data, port=free_port(), as_postgres=as_postgres)
    try:
        cluster._run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "--no-sync", "-E", "UTF8"]
        )  # fmt: skip
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("fsync = off\nmax_connections = 100\n")
        cluster.start()
        yield cluster
    finally:
        if (data / "postmaster.pid").exists():
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
