"""Folding a dead process's multiprocess metric files into one archive per kind.

In prometheus_client's multiprocess mode every process writes its own files
(``counter_<pid>.db``, ``histogram_<pid>.db``, ``gauge_<mode>_<pid>.db``) and the endpoint
adds them all up at each scrape. A worker that forks children (a pre-forked pool recycles
one every N tries) would leave a file set per child forever: scrapes slow down and the
folder grows without bound. :func:`retire_process` keeps the totals and drops the files:
counters, histograms and summaries are added into ``<kind>_archive.db`` (their samples
are sums, so adding is exact); a dead process's gauges are dropped, except ``sum``-mode
ones, added into ``gauge_sum_archive.db``; ``live*`` gauges go as ``mark_process_dead``
removes them.

Several worker processes may retire children at once into the same folder: the fold
holds an exclusive ``flock`` on ``archive.lock``. A scrape that reads the folder while a
fold is between adding and deleting may count that child once more for that one scrape.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import mark_process_dead

from engine.metrics.exposition import MULTIPROC_ENV

_SUMMED = ("counter", "histogram", "summary")
"""Kinds whose samples add up across processes."""


def retire_process(pid: int, directory: str | None = None) -> None:
    """Fold the metric files of dead process ``pid`` into the archives and delete them.

    A no-op outside multiprocess mode (``directory`` defaults to the environment's).
    """
    name = directory or os.environ.get(MULTIPROC_ENV)
    if not name or not Path(name).is_dir():
        return
    folder = Path(name)
    mark_process_dead(pid, name)  # type: ignore[no-untyped-call]
    with (folder / "archive.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for kind in _SUMMED:
            _fold(folder / f"{kind}_{pid}.db", folder / f"{kind}_archive.db")
        _fold(folder / f"gauge_sum_{pid}.db", folder / "gauge_sum_archive.db")
        for gauge in folder.glob(f"gauge_*_{pid}.db"):
            gauge.unlink()


def _fold(dead: Path, archive: Path) -> None:
    if not dead.exists():
        return
    values = MmapedDict.read_all_values_from_file(str(dead))  # type: ignore[no-untyped-call]
    target = MmapedDict(str(archive))  # type: ignore[no-untyped-call]
    try:
        for key, value, timestamp, _pos in values:
            total, _ = target.read_value(key)  # type: ignore[no-untyped-call]
            target.write_value(key, total + value, timestamp)  # type: ignore[no-untyped-call]
    finally:
        target.close()  # type: ignore[no-untyped-call]
    dead.unlink()
