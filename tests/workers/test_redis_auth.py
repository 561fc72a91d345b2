"""``redis.url`` with credentials: a Redis ACL user works in every process that connects
(executor, ``loom worker`` and its scheduler, metrics, health), is masked where shown, and
a wrong password is one clear error. Against Redis database 7 (this package's own)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from engine.errors import ConfigError
from engine.executors import RQExecutor, TaskJob
from engine.metrics.state import QueueDepths
from engine.runtime.redisconn import connect
from engine.services.health import HEALTHY, UNHEALTHY, check_redis
from tests.engine.executors.jobs import RECORD_FILE_ENV, read_records
from tests.support.processes import LOOM, REPO
from tests.support.services import flushed_redis, redis_url

pytestmark = pytest.mark.redis

ADMIN_URL = redis_url(7)
SERVER = ADMIN_URL.removeprefix("redis://")
"""Host, port and database."""
USER = "loomtest"
PASSWORD = "s/e@c:ret"
"""Holds the characters a URL must percent-encode."""
URL = f"redis://{USER}:{quote(PASSWORD, safe='')}@{SERVER}"
WRONG_URL = f"redis://{USER}:{quote('wrong/pass', safe='')}@{SERVER}"
SHOWN = f"redis://{USER}@{SERVER}"
"""How an error names the server: user, host, port and database, no password."""
RECORD_JOB = "tests.engine.executors.jobs.record_in_file"


@pytest.fixture
def acl_user() -> Iterator[str]:
    """A Redis ACL user with Loom's permissions (deleted afterwards); its URL."""
    with flushed_redis(ADMIN_URL) as admin:
        admin.execute_command(
            "ACL", "SETUSER", USER, "reset", "on", f">{PASSWORD}", "~*", "&*", "+@all"
        )
        try:
            yield URL
        finally:
            admin.execute_command("ACL", "DELUSER", USER)


def test_an_acl_user_runs_the_executor_worker_round_trip(acl_user: str, tmp_path: Path) -> None:
    records = tmp_path / "records"
    executor = RQExecutor(acl_user, job_func=RECORD_JOB)
    executor.start()
    executor.submit(TaskJob(1, 1, "dag", "run", "t1", "default"))
    assert executor.has_job("1:1")
    assert _depths(acl_user)["loom.default"] == 1.0

    done = _loom(tmp_path, "worker", "--burst", "--entry-point", RECORD_JOB, url=acl_user)

    assert done.returncode == 0, done.stderr
    assert read_records(records) == ["1:1"]
    assert not executor.has_job("1:1")
    assert _depths(acl_user)["loom.default"] == 0.0
    assert check_redis(acl_user).status == HEALTHY
    assert connect(acl_user).acl_whoami() == USER


def test_config_show_masks_the_password(acl_user: str, tmp_path: Path) -> None:
    shown = _loom(tmp_path, "config", "show", url=acl_user)

    assert shown.returncode == 0, shown.stderr
    assert f"redis.url = redis://{USER}:***@{SERVER}" in shown.stdout.splitlines()
    assert quote(PASSWORD, safe="") not in shown.stdout


def test_a_wrong_password_is_one_clear_error(acl_user: str, tmp_path: Path) -> None:
    message = f"Redis at {SHOWN} refused the user name or password"
    with pytest.raises(ConfigError, match=message):
        RQExecutor(WRONG_URL).start()
    assert check_redis(WRONG_URL).status == UNHEALTHY

    for concurrency in ("1", "2"):
        done = _loom(tmp_path, "worker", "--burst", "--concurrency", concurrency, url=WRONG_URL)
        assert done.returncode == 1
        assert message in done.stderr
        assert "Traceback" not in done.stderr
        assert "wrong" not in done.stderr


def test_an_unencoded_password_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError) as refused:
        connect(f"redis://{USER}:{PASSWORD}@{SERVER}")
    assert str(refused.value).startswith(
        f"redis.url: redis://{USER}:***@{SERVER} is not a Redis URL Loom can read"
    )
    assert "percent-encoded" in str(refused.value)
    assert "s/e" not in str(refused.value)
    assert "ret" not in str(refused.value).split("Loom can read")[0]


def _depths(url: str) -> dict[str, float]:
    [family] = QueueDepths(url).read()
    return {sample.labels["queue"]: sample.value for sample in family.samples}


def _loom(tmp_path: Path, *args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOOM")},
        "LOOM_HOME": str(tmp_path / "home"),
        "LOOM__DATABASE__URL": f"sqlite:///{tmp_path / 'loom.db'}",
        "LOOM__REDIS__URL": url,
        "LOOM__METRICS__WORKER_PORT": "0",
        "PYTHONPATH": str(REPO),
        RECORD_FILE_ENV: str(tmp_path / "records"),
    }
    return subprocess.run(
        [LOOM, *args], cwd=REPO, env=env, timeout=120, capture_output=True, text=True
    )
