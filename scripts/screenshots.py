"""Regenerate the README's screenshots (docs/ui/*.png) from the example DAGs.

Run it with the venv's python from the repository's root (it needs the dev extras'
Playwright and Debian's Chromium, ``/usr/bin/chromium`` or ``$LOOM_CHROMIUM``)::

    .venv/bin/python scripts/screenshots.py

It starts ``loom standalone`` on a temporary home with a copy of ``dags/``, triggers a few
runs, waits for them to end, signs in as the admin standalone created and saves each page
the README shows. The examples never fail for good, so the copy gets one more file,
``always_fails.py``, whose task fails its only try: the dead letter page needs one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a file: the repository's own packages, tests.support too

from tests.support.network import answers, free_port  # noqa: E402

LOOM = str(Path(sys.executable).parent / "loom")
OUT = REPO / "docs" / "ui"
CHROMIUM = os.environ.get("LOOM_CHROMIUM", "/usr/bin/chromium")
VIEWPORT: ViewportSize = {"width": 1366, "height": 800}

ALWAYS_FAILS = textwrap.dedent(
    """
    from datetime import datetime
    from engine import DAG, BashOperator

    with DAG("always_fails", schedule=None, start_date=datetime(2026, 1, 1),
             tags=["example"], description="Calls a service that never answers") as dag:
        BashOperator(task_id="call_service", retries=0,
                     bash_command="echo calling the service; exit 3")
    """
)

RUNS = [
    ("task_groups", "docs_1"),
    ("task_groups", "docs_2"),
    ("task_groups", "docs_3"),
    ("flaky_retry", "docs_flaky"),
    ("always_fails", "docs_fails"),
]
"""(dag_id, run_id) triggered and waited for."""


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: gave up waiting for {what}")
        time.sleep(0.5)


class Standalone:
    """``loom standalone`` on a temporary home, and the ``loom`` CLI on the same database."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        dags = home / "dags"
        shutil.copytree(REPO / "dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
        (dags / "always_fails.py").write_text(ALWAYS_FAILS)
        self.env = {
            **os.environ,
            "LOOM_HOME": str(home),
            "LOOM__CORE__DAGS_FOLDER": str(dags),
            "LOOM__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "LOOM__WEBSERVER__PORT": str(self.port),
            "PYTHONPATH": str(REPO),  # this checkout's code, wherever the venv points
        }
        self.env.pop("LOOM_CONFIG", None)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.home / "standalone.log").open("wb")
        self.process = subprocess.Popen(
            [LOOM, "standalone"], env=self.env, cwd=self.home, stdout=log, stderr=log
        )
        wait_until(lambda: answers(f"{self.url}/login"), 120, "the web UI")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGINT)  # the second Ctrl-C: stop now
            self.process.wait(30)

    def loom(self, *args: str) -> str:
        done = subprocess.run(
            [LOOM, *args], env=self.env, cwd=self.home, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"screenshots: loom {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        runs = json.loads(self.loom("runs", "list", dag_id, "-o", "json"))
        return next((r["state"] for r in runs if r["run_id"] == run_id), None)

    def admin_password(self) -> str:
        return (self.home / "standalone_admin_password").read_text().strip()


def trigger_and_wait(loom: Standalone) -> None:
    wait_until(
        lambda: "always_fails" in loom.loom("dags", "list"), 120, "the example DAGs to parse"
    )
    for dag_id, run_id in RUNS:
        loom.loom("dags", "unpause", dag_id)
        loom.loom("dags", "trigger", dag_id, "--run-id", run_id)
    for dag_id, run_id in RUNS:

        def ended(dag_id: str = dag_id, run_id: str = run_id) -> bool:
            return loom.run_state(dag_id, run_id) in ("success", "failed")

        wait_until(ended, 180, f"run {run_id} of {dag_id}")


def shoot(page: Page, url: str, name: str, at: str | None = None) -> None:
    """Open ``url`` and save the window, scrolled to the element ``at`` if given."""
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if at is not None:
        page.evaluate("(s) => document.querySelector(s).scrollIntoView()", at)
    page.screenshot(path=str(OUT / f"{name}.png"))
    print(f"screenshots: docs/ui/{name}.png")


def take_screenshots(loom: Standalone) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport=VIEWPORT, color_scheme="light")
        page.goto(f"{loom.url}/login")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(loom.admin_password())
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{loom.url}/")
        base = loom.url
        shoot(page, f"{base}/dags", "dags")
        shoot(page, f"{base}/dags/task_groups", "grid")
        shoot(page, f"{base}/dags/task_groups/graph?run_id=docs_3", "graph")
        shoot(page, f"{base}/dags/task_groups/runs/docs_3", "run")
        shoot(
            page,
            f"{base}/dags/flaky_retry/runs/docs_flaky/tasks/flaky?try=1",
            "failed-task-log",
            at="#log-heading",
        )
        page.goto(f"{base}/dead-letters")
        letter = page.locator("main a[href*='/dead-letters/']").first.get_attribute("href")
        shoot(page, f"{base}{letter}", "dead-letter")
        browser.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="loom-screenshots-") as home:
        loom = Standalone(Path(home))
        loom.start()
        try:
            trigger_and_wait(loom)
            take_screenshots(loom)
        finally:
            loom.stop()


if __name__ == "__main__":
    main()
