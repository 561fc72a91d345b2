"""A dead process's multiprocess metric files are folded into archives: the folder stays
bounded and the totals stay whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

from engine.metrics.retired import retire_process

TRIES = mmap_key("loom_tries", "loom_tries_total", ["state"], ["success"], "Tries.")
LIVE = mmap_key("loom_busy", "loom_busy", [], [], "Busy.")


def _write(path: Path, key: str, value: float) -> None:
    values = MmapedDict(str(path))
    values.write_value(key, value, 0.0)
    values.close()


def _total(folder: Path, sample: str) -> float:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(folder))
    return sum(s.value for metric in registry.collect() for s in metric.samples if s.name == sample)


def test_retired_processes_leave_an_archive_and_their_counts(tmp_path: Path) -> None:
    for pid, count in ((111, 3.0), (222, 4.0), (333, 5.0)):
        _write(tmp_path / f"counter_{pid}.db", TRIES, count)
        _write(tmp_path / f"gauge_livesum_{pid}.db", LIVE, 1.0)
        _write(tmp_path / f"gauge_all_{pid}.db", LIVE, 1.0)
    assert _total(tmp_path, "loom_tries_total") == 12.0

    retire_process(111, str(tmp_path))
    retire_process(222, str(tmp_path))

    left = sorted(p.name for p in tmp_path.glob("*.db"))
    assert left == ["counter_333.db", "counter_archive.db", "gauge_all_333.db",
                    "gauge_livesum_333.db"]  # fmt: skip
    assert _total(tmp_path, "loom_tries_total") == 12.0


def test_retiring_outside_multiprocess_mode_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    retire_process(111)  # no folder: nothing to do, no error
