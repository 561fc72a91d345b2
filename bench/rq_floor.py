"""The raw RQ floor: no-op jobs through the worker class Loom uses, without Loom.

``rq.SimpleWorker`` in burst mode with the JSON serializer and RQ's scheduler, listening
to Loom's three queues, as ``loom worker --no-fork`` does. The jobs are enqueued first;
each worker process waits for a start signal, then drains the queue. Jobs per second run
from the first worker's start to the last worker's end.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from bench._infra import PYTHON, REDIS_URL, emit, processes, redis_database, temp_dir

QUEUES = ("loom.high", "loom.default", "loom.low")
GO_KEY = "bench:floor:go"


def noop() -> None:
    """The job: nothing."""


def run(jobs: int, workers: int) -> dict[str, Any]:
    """Drain ``jobs`` no-op jobs with ``workers`` SimpleWorker processes."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    with redis_database() as connection, temp_dir("loom-bench-floor-") as tmp:
        queue = Queue("loom.default", connection=connection, serializer=JSONSerializer)
        batch = 500
        for start in range(0, jobs, batch):
            queue.enqueue_many(
                [
                    Queue.prepare_data("bench.rq_floor.noop", result_ttl=60, timeout=-1)
                    for _ in range(start, min(jobs, start + batch))
                ]
            )
        command = [PYTHON, "-m", "bench.rq_floor", "worker", REDIS_URL]
        with processes([command] * workers, env=_env(), log_dir=tmp) as procs:
            _wait_ready(connection, workers)
            connection.rpush(GO_KEY, *["go"] * workers)
            for proc in procs:
                proc.wait(timeout=300)
            spans = [json.loads(line) for line in _result_lines(tmp, workers)]
        left = queue.count
    done = sum(span["done"] for span in spans)
    if done != jobs:
        # Another process flushed or drained the Redis database under the floor (it is
        # shared): such a repetition once gave 28,000 jobs/s. Dropped, not averaged in.
        raise RuntimeError(f"the floor's workers ran {done} of {jobs} jobs ({REDIS_URL} shared?)")
    first = min(span["start"] for span in spans)
    last = max(span["end"] for span in spans)
    elapsed = last - first
    return {
        "workers": workers,
        "jobs": jobs,
        "left_in_queue": left,
        "seconds": round(elapsed, 3),
        "jobs_per_second": round(jobs / elapsed, 1),
        "jobs_done": done,
    }


def _env() -> dict[str, str]:
    import os

    from bench._infra import REPO

    return {**os.environ, "PYTHONPATH": str(REPO)}


def _wait_ready(connection: Any, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while int(connection.get("bench:floor:ready") or 0) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("floor workers did not start")
        time.sleep(0.02)


def _result_lines(folder: Any, count: int) -> list[str]:
    lines = []
    for number in range(count):
        text = (folder / f"proc-{number}.log").read_text()
        found = [line for line in text.splitlines() if line.startswith('{"start"')]
        if not found:
            raise RuntimeError(f"floor worker {number} printed no result:\n{text[-2000:]}")
        lines.append(found[-1])
    return lines


def worker_main(redis_url: str) -> None:
    """One worker process: build the worker, wait for the signal, drain in burst mode."""
    from redis import Redis
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer

    connection = Redis.from_url(redis_url)
    queues = [Queue(name, connection=connection, serializer=JSONSerializer) for name in QUEUES]
    worker = SimpleWorker(queues, connection=connection, serializer=JSONSerializer)
    done = _count_successes(worker)
    connection.incr("bench:floor:ready")
    connection.blpop([GO_KEY], timeout=60)
    started = time.time()
    worker.work(burst=True, with_scheduler=True, logging_level="WARNING")
    print(json.dumps({"start": started, "end": time.time(), "done": done[0]}), flush=True)


def _count_successes(worker: Any) -> list[int]:
    """Count the jobs ``worker`` finishes, in memory (no Redis round trip added)."""
    done = [0]
    handle = worker.handle_job_success

    def counted(*args: Any, **kwargs: Any) -> Any:
        done[0] += 1
        return handle(*args, **kwargs)

    worker.handle_job_success = counted
    return done


def once(jobs: int = 2000, workers: int = 2) -> dict[str, Any]:
    """One repetition of the floor (``make bench`` interleaves three with Loom's runs)."""
    return run(jobs, workers)


def figures(two: list[dict[str, Any]], one: list[dict[str, Any]]) -> dict[str, Any]:
    """The floor's line: median and spread of the 2-worker repetitions (the ratios' base),
    and of the 1-worker ones."""
    from bench.repeat import spread

    line: dict[str, Any] = {
        "benchmark": "rq_floor",
        "worker_class": "rq.SimpleWorker (burst, JSONSerializer)",
        "jobs": two[0]["jobs"] if two else None,
    }
    for label, samples in (("2_workers", two), ("1_worker", one)):
        rates = [sample["jobs_per_second"] for sample in samples]
        line[f"jobs_per_second_{label}"] = spread(rates, 1)["median"] if rates else None
        line[f"jobs_per_second_{label}_spread"] = spread(rates, 1) if rates else None
    line["left_in_queue"] = sum(sample["left_in_queue"] for sample in two + one)
    line["target"] = None
    return line


def main(jobs: int = 2000, repetitions: int = 3) -> dict[str, Any]:
    """The floor alone (``python -m bench.rq_floor``): ``repetitions`` of each."""
    two = [run(jobs, 2) for _ in range(repetitions)]
    one = [run(jobs, 1) for _ in range(repetitions)]
    return emit(figures(two, one))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "worker":
        worker_main(sys.argv[2])
    else:
        main()
