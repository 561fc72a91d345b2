"""A real Loom deployment for the browser tests, and Debian's Chromium to drive it.

One deployment for the whole package: PostgreSQL (a fresh database), ``loom scheduler``,
``loom worker`` on Redis database 10, and ``loom webserver`` (gunicorn) on a free port,
each a real process. Users of every role are created with ``loom users create``.
Playwright launches /usr/bin/chromium (``playwright install`` cannot download here);
without it the tests are skipped, and fail in CI.

Every test saves a screenshot of each page it visits (:func:`shoot`) into
``artifacts/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support.network import answers, free_port
from tests.support.processes import (
    LOOM,
    REPO,
    loom_cli,
    processes_under,
    wait_until,
)
from tests.support.services import IN_CI, redis_url, require_service, rq_deployment

CHROMIUM = os.environ.get("LOOM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
REDIS_URL = redis_url(int(os.environ.get("LOOM_TEST_REDIS_DB", "10")))
"""Database 10 unless ``LOOM_TEST_REDIS_DB`` names another (test runs side by side)."""
SECRET = "browser-tests-secret-key-long-enough-for-hs256"
PASSWORD = "a-long-browser-password"
USERS = {"admin": "Admin", "op": "Op", "user": "User", "viewer": "Viewer"}
SIGN_INS_ALLOWED = "1000 per minute"
SCREENSHOTS = REPO / "artifacts" / "screenshots"

DAG_FILE = textwrap.dedent(
    """
    import os
    from datetime import datetime, timedelta
    from pathlib import Path

    from engine import DAG, BashOperator, Param, PythonOperator

    def check_marker():
        marker = Path(os.environ["LOOM_BROWSER_MARKER"])
        print(f"looking for {marker.name}")
        if not marker.exists():
            raise RuntimeError("the marker file is missing")
        print("the marker is there")

    with DAG("greet", schedule=None, start_date=datetime(2026, 1, 1), tags=["demo"],
             description="Says hello, then done",
             params={"name": Param("world", type="string")}) as greet:
        hello = BashOperator(task_id="hello", bash_command="echo hello {{ params.name | sh }}")
        done = BashOperator(task_id="done", bash_command="sleep 2; echo done")
        hello >> done

    with DAG("fragile", schedule=None, start_date=datetime(2026, 1, 1), tags=["demo"],
             description="Fails until its marker file exists") as fragile:
        check = PythonOperator(task_id="check", python_callable=check_marker, retries=0)
        report = BashOperator(task_id="report", bash_command="echo reported")
        check >> report

    with DAG("nightly", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False,
             tags=["etl"], description="A scheduled DAG, paused",
             is_paused_upon_creation=True) as nightly:
        BashOperator(task_id="extract", bash_command="echo extract",
                     execution_timeout=timedelta(minutes=5))
    """
)


def require_browser() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"no Chromium at {CHROMIUM} (scripts/ensure-browser.sh installs Debian's)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


FERNET_KEY = "lWq7pJx7h2v6yUZ1oF0Q3c4YH9m8t5r2s1a0b9c8d7e="


@pytest.fixture(scope="session")
def base_url() -> None:
    """Pages are opened by full URL (pytest-base-url's own fixture warns on pytest 9)."""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    require_browser()
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


@dataclass
class Deployment:
    """The running Loom the browser talks to."""

    url: str
    env: dict[str, str]
    marker: Path

    def loom(self, *args: str, stdin: str | None = None) -> str:
        result = loom_cli(self.env, *args, stdin=stdin)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    @property
    def dags_folder(self) -> Path:
        return Path(self.env["LOOM__CORE__DAGS_FOLDER"])

    def add_dags(self, filename: str, source: str, dag_id: str) -> str:
        """Write ``source`` into the DAG folder as ``filename`` and parse it; ``dag_id``,
        once ``loom dags list`` shows it."""
        (self.dags_folder / filename).write_text(source)
        self.loom("dags", "reparse")

        def parsed() -> bool:
            listed = json.loads(self.loom("dags", "list", "-o", "json"))
            return any(d["dag_id"] == dag_id for d in listed)

        wait_until(parsed, 60, what=f"{dag_id} parsed")
        return dag_id

    def run_to_end(self, dag_id: str, run_id: str, state: str, timeout: float) -> str:
        """Unpause ``dag_id``, trigger ``run_id`` and wait until it ends in ``state``."""
        self.loom("dags", "unpause", dag_id)
        self.loom("dags", "trigger", dag_id, "--run-id", run_id)

        def finished() -> bool:
            listed = json.loads(self.loom("runs", "list", dag_id, "-o", "json"))
            return any(r["run_id"] == run_id and r["state"] == state for r in listed)

        wait_until(finished, timeout, what=f"run {run_id} of {dag_id}")
        return run_id


def parsed_dag(filename: str, source: str, dag_id: str) -> Any:
    """A test module's fixture: the DAG file ``source``, added as ``filename`` and parsed
    once for the module's tests; ``dag_id``."""

    @pytest.fixture(scope="module")
    def dag(loom: Deployment) -> str:
        return loom.add_dags(filename, source, dag_id)

    return dag


def finished_run(
    filename: str, source: str, dag_id: str, *, run_id: str, state: str, timeout: float
) -> Any:
    """A test module's fixture: the DAG file ``source``, added as ``filename`` and parsed,
    and the run ``run_id`` of ``dag_id`` run once for the module's tests until it ends in
    ``state``; the run's id."""

    @pytest.fixture(scope="module")
    def run(loom: Deployment) -> str:
        loom.add_dags(filename, source, dag_id)
        return loom.run_to_end(dag_id, run_id, state, timeout=timeout)

    return run


@pytest.fixture(scope="session")
def loom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    require_browser()
    require_service("redis")
    root = tmp_path_factory.mktemp("browser-loom")
    dags = root / "dags"
    dags.mkdir()
    (dags / "browser_dags.py").write_text(DAG_FILE)
    (dags / "broken.py").write_text("from engine import DAG\ndef oops(:\n")
    port = free_port()
    with rq_deployment(
        root,
        redis_url=REDIS_URL,
        dags_folder=dags,
        LOOM__CORE__LOG_STREAM_INTERVAL="0.3s",
        LOOM__SCHEDULER__TICK_INTERVAL="0.3s",
        LOOM__SCHEDULER__PARSE_INTERVAL="1s",
        LOOM__WEBSERVER__SECRET_KEY=SECRET,
        LOOM__CORE__FERNET_KEY=FERNET_KEY,  # variables and connections encrypted at rest
        # every test signs in from 127.0.0.1, faster than the default 20 a minute allows;
        # the limits themselves are tested in tests/webui/test_login_throttle.py
        LOOM__LOGIN__CLIENT_LIMIT=SIGN_INS_ALLOWED,
        LOOM__WEBSERVER__PORT=str(port),
        LOOM__WEBSERVER__BASE_URL=f"http://127.0.0.1:{port}",
        LOOM_BROWSER_MARKER=str(root / "marker"),
    ) as env:
        deployment = Deployment(f"http://127.0.0.1:{port}", env, root / "marker")
        deployment.loom("db", "upgrade")
        deployment.loom("dags", "reparse")  # the DAGs are there before the first page
        for username, role in USERS.items():
            deployment.loom(
                "users", "create", "--username", username, "--role", role, "--password-stdin",
                stdin=PASSWORD,
            )  # fmt: skip
        with processes_under(root) as processes:
            processes.start([LOOM, "scheduler"], env, name="scheduler")
            processes.start([LOOM, "worker"], env, name="worker")
            processes.start([LOOM, "webserver", "--workers", "2"], env, name="webserver")
            wait_until(lambda: answers(f"{deployment.url}/login"), 60, what="the webserver")
            yield deployment


@pytest.fixture(autouse=True)
def _no_content_security_policy_violation(page: Page) -> Iterator[None]:
    """Every page works under Loom's Content-Security-Policy: Chromium reports each
    refused script, style, frame or connection on the console."""
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield
    assert refused == []


def sign_in(page: Page, loom: Deployment, username: str) -> None:
    """Sign in through the login form (which lands on the home page), then open the DAG
    list."""
    page.goto(f"{loom.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Home", exact=True)).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="DAGs").click()
    expect(page.get_by_role("heading", name="DAGs", exact=True)).to_be_visible()


def open_as(page: Page, loom: Deployment, username: str, path: str) -> None:
    """Sign in as ``username``, then open the page at ``path``."""
    sign_in(page, loom, username)
    page.goto(f"{loom.url}{path}")


def shoot(page: Page, name: str) -> None:
    """Save a screenshot of the page as it is now into artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
