"""``loom standalone``: every Loom process in one, on the embedded defaults.

Migrates the database, then runs the scheduler (main thread), the local executor's
worker processes, the outbox relay, the notifier and the triggerer (threads) until
stopped. Production runs the same pieces as separate processes (``loom scheduler``,
``loom worker``, ``loom notifier``, ``loom triggerer``, ...).
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import secrets
import socket
import threading
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings
from engine.config.schema import LoggingSettings, local_url
from engine.delivery.dispatcher import Dispatcher
from engine.delivery.notifications import build_notifier
from engine.errors import LoomError
from engine.executors.local import LocalExecutor
from engine.models import User
from engine.models.crypto import ensure_key_file
from engine.runtime.database import session_factory_for
from engine.runtime.heartbeat import run_notifier
from engine.runtime.interrupt import Echo, Interrupts, record_interrupted, watch_interrupts
from engine.runtime.processes import (
    SchedulerProcess,
    Service,
    build_scheduler_process,
    build_triggerer,
    start_thread,
)
from engine.runtime.processlog import configure_logging
from engine.runtime.recovery import recover_orphans
from engine.security.users import create_user
from engine.triggering.triggerer import Triggerer

logger = logging.getLogger(__name__)

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD_FILE = "standalone_admin_password"
"""Where standalone keeps the password of the admin it created (in LOOM_HOME, mode 0600)."""

SERVICES_GROUP = "loom.standalone"
"""Entry point group of ``fn(settings, stop_event) -> Thread`` services standalone runs."""


@dataclass(frozen=True)
class Standalone:
    """The pieces of a standalone Loom, built but not started."""

    process: SchedulerProcess
    """The scheduler with its executor, waker and outbox relay."""
    notifier: Dispatcher
    triggerer: Triggerer
    """Runs deferred tasks' triggers (its own asyncio loop, in a thread)."""
    admin_password_file: Path | None = None
    """Where the password of the admin standalone created is; None when users existed."""

    @property
    def settings(self) -> Settings:
        return self.process.settings

    @property
    def session_factory(self) -> sessionmaker[Session]:
        return self.process.session_factory

    def describe(self) -> list[str]:
        """Where everything is, for the start-up banner."""
        s = self.settings
        dead_letters = s.dlq.amqp_url and f"RabbitMQ ({s.dlq.exchange} -> {s.dlq.queue})"
        return [
            f"home:          {s.home}",
            f"config file:   {s.config_file or '(none: embedded defaults)'}",
            f"database:      {s.database.url}",
            f"dags folder:   {s.core.dags_folder}",
            f"executor:      {s.executor.kind} (concurrency {s.executor.concurrency})",
            f"dead letters:  {dead_letters or 'kept in the database'}",
            f"alerts:        {_alert_channels(s)}",
            f"triggerer:     capacity {s.triggerer.capacity}",
            f"web UI:        {local_url(s.webserver.host, s.webserver.port)}/",
            f"REST API:      {local_url(s.webserver.host, s.webserver.port)}/api/v2/docs",
            f"sign in as:    {self._sign_in_hint()}",
        ]

    def _sign_in_hint(self) -> str:
        if self.admin_password_file is None:
            return "an existing user (`loom users list`)"
        return f"{ADMIN_USERNAME}, password in {self.admin_password_file}"

    def run(self, stop: threading.Event, *, now: threading.Event | None = None) -> None:
        """Run until ``stop`` is set; then stop every piece and wait for it (for running
        tasks too, unless ``now`` is set: then their tries end as failed or up for retry)."""
        self.run_interruptibly(Interrupts(stop=stop, now=now or threading.Event()), logger.info)

    def run_interruptibly(self, interrupts: Interrupts, echo: Echo) -> None:
        """:meth:`run`, telling ``echo`` what each interrupt does (:mod:`.interrupt`)."""
        plugged_in = [
            _plugged_in_service(self.settings, entry)
            for entry in entry_points(group=SERVICES_GROUP)
        ]
        beside = [self._start_notifier, self._start_triggerer, *plugged_in]
        recover_orphans(self.settings, self.session_factory)  # left by a killed standalone
        watch_interrupts(interrupts, self.process.executor, echo)
        self.process.run(interrupts.stop, beside=beside)
        executor = self.process.executor
        if isinstance(executor, LocalExecutor):
            record_interrupted(self.session_factory, executor.interrupted(), echo)
        logger.info("standalone stopped")

    def _start_notifier(self, stop: threading.Event) -> threading.Thread:
        return start_thread("loom-notifier", self._run_notifier, stop)

    def _run_notifier(self, stop: threading.Event) -> None:
        run_notifier(
            self.notifier, stop, settings=self.settings, session_factory=self.session_factory
        )

    def _start_triggerer(self, stop: threading.Event) -> threading.Thread:
        return start_thread("loom-triggerer", self.triggerer.run, stop)


def _plugged_in_service(settings: Settings, entry: EntryPoint) -> Service:
    """A service another package plugs in (the webserver, from ``webui``) through the
    ``loom.standalone`` entry points: engine/ never imports them."""

    def start(stop: threading.Event) -> threading.Thread:
        thread: threading.Thread = entry.load()(settings, stop)
        logger.info("standalone: %s started", entry.name)
        return thread

    return start


STANDALONE_PARSE_PARALLELISM = 1
"""DAG files standalone parses at once unless ``core.parse_parallelism`` is set: each
parse child holds ~45 MB of its own beside the executor's pool on the same machine."""


def check_port_free(host: str, port: int) -> None:
    """Fail, naming the port and how to choose another, when ``host:port`` is taken
    (before standalone starts anything: a second standalone must not touch the first's
    database, migrations or tries)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise LoomError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
            raise LoomError(
                f"port {port} is in use: another Loom? use --port or LOOM__WEBSERVER__PORT"
            ) from None


def with_web_address(
    settings: Settings, *, host: str | None, port: int | None, access_log: bool | None = None
) -> Settings:
    """``settings`` with the webserver keys given on the command line (``--host``,
    ``--port``, ``--access-log``) where given."""
    given = (("host", host), ("port", port), ("access_log", access_log))
    update: dict[str, object] = {key: value for key, value in given if value is not None}
    if not update:
        return settings
    web = settings.webserver
    # Validated again, not copied: an unset base_url follows the new address there.
    webserver = type(web).model_validate(
        {key: getattr(web, key) for key in web.model_fields_set} | update
    )
    return settings.model_copy(update={"webserver": webserver})


def standalone_settings(settings: Settings) -> Settings:
    """``settings`` with standalone's defaults where the user set nothing: one DAG file
    parsed at a time, no access log."""
    if "parse_parallelism" not in settings.core.model_fields_set:
        core = settings.core.model_copy(update={"parse_parallelism": STANDALONE_PARSE_PARALLELISM})
        settings = settings.model_copy(update={"core": core})
    if "access_log" not in settings.webserver.model_fields_set:
        webserver = settings.webserver.model_copy(update={"access_log": False})
        settings = settings.model_copy(update={"webserver": webserver})
    return settings


def build_standalone(settings: Settings) -> Standalone:
    """Migrate the database and build the scheduler, executor, relay, notifier and
    triggerer (on :func:`standalone_settings`)."""
    settings = standalone_settings(settings)
    migrate_in_a_child(settings.database.url, settings.logging)
    if not settings.core.fernet_key:
        ensure_key_file(Path(settings.home))  # encrypted at rest out of the box
    session_factory = session_factory_for(settings)
    admin_password_file = ensure_admin(session_factory, Path(settings.home))
    return Standalone(
        # the first Ctrl-C waits for running tasks as long as they run; the second stops them
        process=build_scheduler_process(settings, session_factory, executor_stop_timeout=None),
        notifier=build_notifier(settings, session_factory),
        triggerer=build_triggerer(settings, session_factory),
        admin_password_file=admin_password_file,
    )


def migrate_in_a_child(url: str, logging_settings: LoggingSettings) -> None:
    """Migrate and seed the database in a process of its own: Alembic and the migration
    scripts (~14 MB) are needed once, at start, and would otherwise stay loaded in this
    long-running process."""
    process = multiprocessing.get_context("spawn").Process(
        target=_migrate, args=(url, logging_settings), name="loom-migrate"
    )
    process.start()
    process.join()
    if process.exitcode != 0:
        raise LoomError(
            f"migrating the database {url} failed (exit code {process.exitcode});"
            " the error is printed above"
        )


def _migrate(url: str, logging_settings: LoggingSettings) -> None:
    from engine.models.migrate import current, upgrade_and_seed

    configure_logging(logging_settings)
    if logging_settings.level != "DEBUG":  # Alembic's lines at every start, one per step
        logging.getLogger("alembic").setLevel(logging.WARNING)
    before = current(url)
    after = upgrade_and_seed(url)
    if after != before:
        logger.info("database %s migrated from %s to %s", url, before or "empty", after)


def _alert_channels(settings: Settings) -> str:
    channels = []
    if settings.smtp.host:
        channels.append(f"e-mail via {settings.smtp.host}:{settings.smtp.port}")
    if settings.webhooks:
        channels.append(f"webhooks {', '.join(sorted(settings.webhooks))}")
    return "; ".join(channels) or "none configured (smtp, webhooks)"


def ensure_admin(session_factory: sessionmaker[Session], home: Path) -> Path | None:
    """On a database without users, create ``admin`` (role Admin) with a random password
    kept in LOOM_HOME, so that a fresh ``make run`` can be signed in to; the file, or None
    when there were users already (then nothing is created or changed)."""
    path = home / ADMIN_PASSWORD_FILE
    with session_factory.begin() as session:
        if session.scalar(sa.select(sa.func.count()).select_from(User)):
            return path if path.exists() else None
        password = secrets.token_urlsafe(18)
        create_user(
            session=session, username=ADMIN_USERNAME, password=password, role_names=["Admin"]
        )
        home.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(password + "\n")
    logger.info("created user %s; its password is in %s", ADMIN_USERNAME, path)
    return path
