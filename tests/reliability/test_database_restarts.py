"""PostgreSQL restarted again and again during a fan-out: no task runs twice.

The deployment runs on a cluster of the test's own (the shared server other tests use is
never restarted). Before finishes were retried, about one restart in five left a task
that had finished ``running`` (its finish failed with the connection); zombie detection
then ran it again as try 2.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from redis import Redis

from tests.support.privatepg import PrivateCluster, private_postgres
from tests.support.processes import Processes
from tests.support.services import redis_url

from .conftest import Db, Loom, migrated_env

REDIS_URL = redis_url(13)

DAG = """
import time
from datetime import datetime, timedelta
from pathlib import Path

from engine import DAG, PythonOperator

OUT = Path({out!r})


def work(ti):
    time.sleep(0.3)
    with OUT.open("a") as f:
        f.write(f"{{ti.run_id}} {{ti.task_id}} {{ti.try_number}}\\n")


with DAG("fanout", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    for n in range({width}):
        PythonOperator(
            task_id=f"t{{n}}", python_callable=work, retries=3, retry_delay=timedelta(seconds=0)
        )
"""

WIDTH = 50
RUNS = 3

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    with private_postgres() as running:
        yield running


@pytest.fixture
def deployment(
    cluster: PrivateCluster,
    tmp_path: Path,
    dags_folder: Path,
    processes: Processes,
    redis13: Redis,
) -> Iterator[Loom]:
    env = migrated_env(
        home=tmp_path / "loom-home",
        database_url=cluster.url,
        redis_url=REDIS_URL,
        dags_folder=dags_folder,
        # Zombie detection is not what this drill is about: a try whose heartbeat the
        # restart delayed must not be failed by it.
        LOOM__SCHEDULER__ZOMBIE_THRESHOLD="30s",
        LOOM__SCHEDULER__HEARTBEAT_INTERVAL="0.5s",
    )
    engine = sa.create_engine(cluster.url, poolclass=sa.pool.NullPool)
    try:
        yield Loom(env=env, processes=processes, db=Db(engine), dags_folder=dags_folder)
    finally:
        engine.dispose()


class Restarts:
    """Restarts the cluster every ``every`` seconds in a thread, alternating a fast
    shutdown and a crash, until stopped."""

    def __init__(self, cluster: PrivateCluster, every: float) -> None:
        self.cluster, self.every = cluster, every
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Restarts:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.cluster.restart("immediate" if self.count % 2 else "fast")
            self.count += 1


def finished_runs(db: Db) -> int | None:
    """How many runs have finished; None while the database is down."""
    try:
        states = db.run_states("fanout")
    except sa.exc.OperationalError:
        return None
    return sum(state in ("success", "failed") for state in states.values())


def test_no_task_runs_twice_over_repeated_database_restarts(
    deployment: Loom, cluster: PrivateCluster, tmp_path: Path
) -> None:
    loom = deployment
    out = tmp_path / "side-effects"
    loom.add_dag("fanout", DAG.format(out=str(out), width=WIDTH))
    loom.reparse()
    for n in range(RUNS):
        loom.trigger("fanout", "--run-id", f"r{n}")
    loom.scheduler()
    for n in range(2):
        loom.worker("--no-fork", name=f"worker-{n}")

    deadline = time.monotonic() + 300
    with Restarts(cluster, every=1.5) as restarts:
        while (finished_runs(loom.db) or 0) < RUNS and time.monotonic() < deadline:
            time.sleep(0.5)
    assert finished_runs(loom.db) == RUNS, "the runs did not finish in 300 s"

    assert restarts.count >= 5, "too few restarts happened during the fan-out"
    executions = Counter(line.rsplit(" ", 1)[0] for line in out.read_text().splitlines())
    assert len(executions) == RUNS * WIDTH
    twice = {task: count for task, count in executions.items() if count > 1}
    assert twice == {}, f"tasks that ran more than once over {restarts.count} restarts"
    assert loom.db.run_states("fanout") == {f"r{n}": "success" for n in range(RUNS)}
