"""The shape of Loom's configuration: value types that name the form they expect, the
section models, and :class:`Settings`, which holds them all.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from engine.config.masking import mask_paths, mask_value
from engine.durations import format_duration, parse_duration
from engine.errors import InvalidInputError

# --- value types: each failure names the form it expects ------------------------------


def _form_error(form: str) -> PydanticCustomError:
    return PydanticCustomError("loom_form", "{form}", {"form": form})


def _duration(value: object) -> object:
    if isinstance(value, timedelta):
        parsed = value
    elif isinstance(value, str | int | float):
        try:
            parsed = parse_duration(value)
        except InvalidInputError:
            raise _form_error("a duration such as 5, 2.5s, 1m") from None
    else:
        raise _form_error("a duration such as 5, 2.5s, 1m")
    if parsed <= timedelta(0):  # a zero interval or timeout would spin or never wait
        raise _form_error("a duration longer than zero, such as 5, 2.5s, 1m")
    return parsed


def _not_bool(value: object) -> object:
    if isinstance(value, bool):  # Python counts True as 1; a port of "yes" is a typo
        raise _form_error("an integer")
    return value


def _int_range(low: int, high: int | None = None) -> AfterValidator:
    form = f"an integer from {low} to {high}" if high else f"an integer of at least {low}"

    def check(value: int) -> int:
        if value < low or (high is not None and value > high):
            raise _form_error(form)
        return value

    return AfterValidator(check)


def _url(prefixes: tuple[str, ...], form: str, *, optional: bool = False) -> AfterValidator:
    def check(value: str) -> str:
        if optional and value == "":
            return value
        lowered = value.lower()
        if not any(lowered.startswith(p) and len(value) > len(p) for p in prefixes):
            raise _form_error(form)
        return value

    return AfterValidator(check)


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (LookupError, ValueError, OSError):  # unknown, malformed, or a tz folder
        raise _form_error("a time zone name such as UTC or Europe/Berlin") from None
    return value


def _folded(fold: Callable[[str], str]) -> BeforeValidator:
    return BeforeValidator(lambda value: fold(value) if isinstance(value, str) else value)


def _comma_list(value: object) -> object:
    if isinstance(value, str):  # environment variables carry lists as "a, b, c"
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _event_names(value: list[str]) -> list[str]:
    # Imported here, not at the top: engine.delivery.notifications imports this package.
    from engine.delivery.notifications.events import EventType

    known = [event.value for event in EventType]
    if any(name not in known for name in value):
        raise _form_error(f"a list of event names from {', '.join(known)}")
    return value


def _rate_limits(value: str) -> str:
    # Imported here: reading the configuration need not load the rate limiting library.
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise _form_error("rate limits such as '20 per minute; 100 per hour'") from None
    return value


def _addresses(value: list[str]) -> list[str]:
    if any("@" not in address or address.strip() != address for address in value):
        raise _form_error("a list of e-mail addresses such as ops@example.com")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
Count = Annotated[int, BeforeValidator(_not_bool), _int_range(1)]
Port = Annotated[int, BeforeValidator(_not_bool), _int_range(1, 65535)]
PortOrOff = Annotated[int, BeforeValidator(_not_bool), _int_range(0, 65535)]
NonNegative = Annotated[int, BeforeValidator(_not_bool), _int_range(0)]
SpoolBytes = Annotated[int, BeforeValidator(_not_bool), _int_range(1, 5_368_709_120)]
DatabaseUrl = Annotated[
    str,
    _url(
        ("sqlite:///", "postgresql://", "postgresql+psycopg://"),
        "a database URL starting with sqlite:/// or postgresql+psycopg://",
    ),
]
RedisUrl = Annotated[
    str,
    _url(
        ("redis://", "rediss://", "unix://"), "a URL starting with redis://, rediss:// or unix://"
    ),
]
AmqpUrl = Annotated[
    str,
    _url(
        ("amqp://", "amqps://"), "empty or a URL starting with amqp:// or amqps://", optional=True
    ),
]
HttpUrl = Annotated[str, _url(("http://", "https://"), "a URL starting with http:// or https://")]
TimeZoneName = Annotated[str, AfterValidator(_timezone)]
RateLimits = Annotated[str, AfterValidator(_rate_limits)]
StrList = Annotated[list[str], BeforeValidator(_comma_list)]
EventNames = Annotated[list[str], BeforeValidator(_comma_list), AfterValidator(_event_names)]
Addresses = Annotated[list[str], BeforeValidator(_comma_list), AfterValidator(_addresses)]


# --- sections ----------------------------------------------------------------------------


class _Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        defer_build=True,
        coerce_numbers_to_str=True,  # an unquoted YAML password of digits is still a password
    )


def _cpu_count() -> int:
    return os.cpu_count() or 2


class CoreSettings(_Section):
    """What every process shares: where DAGs live and how they are parsed."""

    dags_folder: Path = Field(default=Path("dags"), validate_default=True)
    """Folder of DAG files; a relative path is resolved against the working directory."""
    plugins_folder: Path = Field(default=Path("plugins"), validate_default=True)
    """Folder of plugin files, loaded by every process that runs DAG code; resolved like
    dags_folder. A folder that does not exist holds no plugins."""
    parse_timeout: Duration = timedelta(seconds=30)
    """Longest time one DAG file may take to import before it becomes an import error."""
    parse_parallelism: Count = Field(default_factory=_cpu_count)
    """How many DAG files are parsed at once (child processes); in the scheduler's parse
    loop a file still importing after 2 s gives its slot to the next one."""
    default_timezone: TimeZoneName = "UTC"
    """Time zone of schedules and dates that do not name one."""
    max_log_bytes: Count = 1_048_576
    """Largest task log kept per try."""
    log_stream_interval: Duration = timedelta(seconds=1)
    """How often a running try's new output is copied to the database, to be followed live."""
    max_xcom_bytes: Count = 1_048_576
    """Largest XCom value (serialized JSON) a task may return."""
    max_map_length: Count = 1024
    """Most elements a task may return for a mapped task to expand over (more fails it)."""
    recover_orphaned_tries: bool = True
    """At start, ``loom standalone`` and ``loom worker`` fail the tries left running on
    this host by a process that is gone (its pid does not exist), without waiting for
    zombie detection; false where processes share a hostname but not a pid namespace."""
    finish_retry_timeout: Duration = timedelta(minutes=5)
    """How long a worker keeps retrying, with capped exponential backoff, the finish of a
    try that failed because the database went away (a restart, a failover); the try's
    heartbeats go on meanwhile. Past it the try is left to zombie detection."""
    max_consecutive_failed_dag_runs_per_dag: NonNegative = 0
    """Pause a DAG after this many failed runs in a row, unless the DAG sets its own
    ``max_consecutive_failed_dag_runs``; 0 never pauses (Airflow's key and default)."""
    retention_days: NonNegative = 0
    """Once a day the scheduler deletes finished runs (with their task instances, tries,
    logs and XComs), audit entries, delivered outbox messages and settled alert deliveries
    older than this many days (what ``loom db clean`` deletes); 0 keeps everything."""
    fernet_key: str = ""
    """Fernet key(s) that encrypt variables' values and connections' passwords and extras
    in the database; comma-separated, the newest first, to rotate (``loom
    rotate-fernet-key``). Empty: the key in <LOOM_HOME>/fernet_key if there is one
    (standalone writes it), otherwise values are stored unencrypted, with a warning."""
    dag_run_conf_overrides_params: bool = True
    """A run's conf overrides its params' defaults in what tasks see as ``params``
    (Airflow's key and default); false: conf is still checked, tasks see the defaults."""
    test_connection: Annotated[
        Literal["Disabled", "Enabled", "Hidden"], _folded(lambda text: text.strip().capitalize())
    ] = "Disabled"
    """Whether the API may test connections (``POST /connections/test``), Airflow's key and
    values: Disabled (default), Enabled, Hidden (disabled too; Airflow also hides its
    button). Testing makes the webserver reach the connection's host."""

    @field_validator("dags_folder", "plugins_folder")
    @classmethod
    def _absolute(cls, value: Path, info: ValidationInfo) -> Path:
        cwd = (info.context or {}).get("cwd") or Path.cwd()
        return (Path(cwd) / value.expanduser()).resolve()


class DatabaseSettings(_Section):
    """The database, Loom's source of truth."""

    url: DatabaseUrl
    """SQLAlchemy URL; default sqlite:///<LOOM_HOME>/loom.db."""
    pool_size: Count = 5
    """Connections kept open per process (PostgreSQL)."""
    echo: bool = False
    """Log every SQL statement (debugging only)."""


class ExecutorSettings(_Section):
    """Where task instances run."""

    kind: Annotated[Literal["local", "rq"], _folded(str.lower)] = "local"
    """local: in-process workers (standalone); rq: RQ workers through Redis."""
    concurrency: Count = 2
    """Task instances the local executor runs at once."""


class RedisSettings(_Section):
    """Redis, the transport of the rq executor; the webservers' shared sign-in rate limits."""

    url: RedisUrl = "redis://127.0.0.1:6379/0"
    """Redis URL of the RQ queues and, when set (or with the rq executor), of the sign-in
    rate limits; credentials as redis://user:password@host:port/db."""


class DlqSettings(_Section):
    """Where task instances that finally failed are parked."""

    amqp_url: AmqpUrl = ""
    """RabbitMQ URL; empty keeps dead letters in the database."""
    exchange: str = "loom.dlx"
    """Exchange dead letters are published to."""
    queue: str = "loom.dead_letters"
    """Queue bound to the exchange that holds dead letters."""


class SchedulerSettings(_Section):
    """The scheduler loop."""

    tick_interval: Duration = timedelta(seconds=1)
    """Pause between two scheduler ticks (a wake-up cuts it short)."""
    zombie_threshold: Duration = timedelta(seconds=60)
    """A running task instance whose heartbeat is older than this is a zombie; a worker or
    notifier whose own heartbeat is older reads as silent on the home page."""
    parallelism: Count = 32
    """Most task instances queued or running at once, across all DAGs."""
    heartbeat_interval: Duration = timedelta(seconds=5)
    """How often workers record a heartbeat for their running task instances, and workers
    and notifiers one of their own."""
    parse_interval: Duration = timedelta(seconds=1.5)
    """How often DAG files are re-scanned for changes."""
    create_cron_data_intervals: bool = False
    """What a cron string or preset as ``schedule`` becomes when a DAG file is parsed: false
    (Airflow 3's default) a ``CronTriggerTimetable``, a run at each tick; true a
    ``CronDataIntervalTimetable``, a run per interval between ticks (Airflow 2)."""


class TriggererSettings(_Section):
    """``loom triggerer``: the process that runs deferred tasks' triggers."""

    capacity: Count = 1000
    """Most triggers one triggerer runs at once (Airflow's ``triggerer.capacity``)."""
    poll_interval: Duration = timedelta(seconds=1)
    """How often a triggerer heartbeats, claims new triggers and records fired ones."""
    heartbeat_threshold: Duration = timedelta(seconds=30)
    """A triggerer silent this long is gone: another one takes over its triggers."""


class WorkerSettings(_Section):
    """``loom worker``'s processes."""

    max_tries_per_child: Count = 100
    """With ``--fork``: tries one forked child runs before a fresh one replaces it (bounds
    what a leaking task can grow; a changed DAG file or a dead child replaces it too)."""


def local_url(host: str, port: int) -> str:
    """The web UI's address as a browser on this machine opens it."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


class WebserverSettings(_Section):
    """The web UI and the REST API."""

    host: str = "127.0.0.1"
    """Address the webserver listens on."""
    port: Port = 8080
    """TCP port the webserver listens on."""
    secret_key: str = ""
    """Key that signs sessions and JWTs; must be set in production."""
    workers: Count = 2
    """Webserver worker processes (gunicorn); one per core."""
    threads: Count = 8
    """Request threads per worker process (gunicorn's ``gthread`` worker): a thread waiting
    on PostgreSQL lets another use the core. Each worker's database pool holds at least
    this many connections."""
    keepalive: Duration = timedelta(seconds=5)
    """How long an idle client connection is kept open for its next request."""
    base_url: HttpUrl = "http://127.0.0.1:8080"
    """Public URL of the web UI, used in links in e-mails and webhooks. Unset, it follows
    ``host`` and ``port`` (``http://127.0.0.1:<port>`` when listening on every address)."""
    access_token_ttl: Duration = timedelta(minutes=15)
    """Lifetime of a JWT access token."""
    refresh_token_ttl: Duration = timedelta(days=7)
    """Lifetime of a JWT refresh token."""
    proxy_fix: NonNegative = 0
    """Reverse proxies in front of the webserver whose X-Forwarded-For and -Proto are trusted."""
    access_log: bool = True
    """One log line per request; ``loom standalone`` turns it off unless set (``--access-log``)."""

    @model_validator(mode="after")
    def _base_url_follows_the_address(self) -> WebserverSettings:
        if "base_url" not in self.model_fields_set:
            # Frozen, and not a field the user set: written past pydantic's guard.
            object.__setattr__(self, "base_url", local_url(self.host, self.port))
        return self


class LoginSettings(_Section):
    """Sign-in throttling, for the API and the web UI alike: rate limits per client address
    and for all clients, and locks after failed passwords per username and address."""

    client_limit: RateLimits = "20 per minute; 100 per hour"
    """Sign-in attempts one client address may make, whatever the usernames and passwords."""
    global_limit: RateLimits = "20 per second"
    """Sign-in attempts of all clients together: bounds the CPU that password checks take."""
    free_failures: Count = 5
    """Failed passwords in a row for one username from one address before that address is
    locked out of that username."""
    lock_base: Duration = timedelta(seconds=30)
    """First lock of a username for one address; doubles with each further failure."""
    lock_max: Duration = timedelta(minutes=15)
    """Longest lock of a username for one address."""
    forget_after: Duration = timedelta(days=1)
    """An address's failures for a username are forgotten after this long without any."""
    account_failures: Count = 50
    """Failed passwords for one username from all addresses within ``account_window`` that
    lock it for every address for ``account_lock``."""
    account_window: Duration = timedelta(minutes=10)
    """Window in which ``account_failures`` are counted."""
    account_lock: Duration = timedelta(minutes=1)
    """How long a username is locked for every address once ``account_failures`` is reached."""


class SmtpSettings(_Section):
    """The mail server alerts are sent through; an empty host sends no e-mail."""

    host: str = ""
    """SMTP server; empty disables e-mail."""
    port: Port = 25
    """SMTP server port."""
    starttls: bool = False
    """Upgrade the connection with STARTTLS."""
    ssl: bool = False
    """Connect with TLS from the start (SMTPS, usually port 465)."""
    user: str = ""
    """User name to log in with; empty skips login."""
    password: str = ""
    """Password to log in with."""
    mail_from: str = "loom@localhost"
    """Sender address of alerts."""
    timeout: Duration = timedelta(seconds=10)
    """Network timeout of one delivery attempt."""
    max_attempts: Count = 8
    """Delivery attempts of one e-mail before it is given up."""


class WebhookSettings(_Section):
    """One HTTP endpoint that receives event notifications as JSON."""

    url: HttpUrl
    """Endpoint that receives a POST per event (required)."""
    secret: str = ""
    """Shared secret that signs each request; empty sends unsigned requests."""
    timeout: Duration = timedelta(seconds=10)
    """Network timeout of one delivery attempt."""
    max_attempts: Count = 8
    """Delivery attempts before the notification is given up."""
    events: EventNames = Field(default_factory=list)
    """Events to send (such as task.failed, dag_run.failed); empty sends all."""


class AlertsSettings(_Section):
    """Who hears about events when a task or DAG names no one, and the notifier's pace."""

    email: Addresses = Field(default_factory=list)
    """Recipients of alerts of tasks and DAGs that set no ``email`` of their own."""
    notify: StrList = Field(default_factory=list)
    """Webhooks (names under ``webhooks``) of tasks and DAGs that set no ``notify``."""
    poll_interval: Duration = timedelta(seconds=1)
    """Pause of the notifier between two passes that found nothing to deliver."""
    concurrency: Count = 4
    """Deliveries a notifier sends at once (threads), at most one per target, so that a
    slow receiver does not hold up the others."""


def _remote_log_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if value and not re.fullmatch(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/\S*)?", value):
        raise _form_error("empty, or an S3 URL such as s3://bucket/prefix")
    return value


class LoggingSettings(_Section):
    """Log output of Loom's processes."""

    level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], _folded(str.upper)] = "INFO"
    """Lowest level logged."""
    format: Annotated[Literal["text", "json"], _folded(str.lower)] = "text"
    """text for people, json (one object per line) for log collectors."""
    remote_base_url: Annotated[str, AfterValidator(_remote_log_url)] = ""
    """Where finished tries' logs are uploaded, ``s3://bucket/prefix`` (any S3-compatible
    store); the database then keeps only their tail. Empty: logs stay in the database.
    Credentials come from the standard AWS environment and configuration files."""
    remote_endpoint_url: str = ""
    """The S3 API's address for an S3-compatible store (MinIO, moto, Ceph); empty: AWS's."""
    remote_tail_bytes: Count = 65_536
    """How much of the end of an uploaded log the database keeps (UTF-8 bytes)."""
    remote_max_bytes: SpoolBytes = 1_073_741_824
    """The most of one try's log a worker spools to its temporary directory for the upload
    (UTF-8 bytes, at most 5 GiB, one S3 PUT); a longer log keeps its first this many bytes
    in the store and its tail in the database."""


class MetricsSettings(_Section):
    """Prometheus endpoints of the scheduler, workers and notifier (the webserver serves
    /metrics on its own port). A port of 0 serves none."""

    host: str = "127.0.0.1"
    """Address the metrics endpoints listen on (0.0.0.0 in containers)."""
    scheduler_port: PortOrOff = 9101
    """Port of ``loom scheduler``'s /metrics."""
    worker_port: PortOrOff = 9102
    """Port of ``loom worker``'s /metrics."""
    notifier_port: PortOrOff = 9103
    """Port of ``loom notifier``'s /metrics."""
    triggerer_port: PortOrOff = 9104
    """Port of ``loom triggerer``'s /metrics."""


class VirtualenvSettings(_Section):
    """Virtual environments of PythonVirtualenvOperator / ``@task.virtualenv`` tasks."""

    cache_path: Path | None = None
    """Folder where environments are cached by a hash of their requirements, Python and
    options (default <LOOM_HOME>/venvs; relative to the working directory); empty: a new
    environment for every try, deleted after it."""
    install_method: Annotated[Literal["auto", "uv", "pip"], _folded(str.lower)] = "auto"
    """auto: uv when it is on PATH (or beside the worker's Python), else venv + pip."""

    @field_validator("cache_path", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("cache_path")
    @classmethod
    def _absolute_cache(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        cwd = (info.context or {}).get("cwd") or Path.cwd()
        return None if value is None else (Path(cwd) / value.expanduser()).resolve()


def _json_object(value: object) -> object:
    """A JSON object given as text (an environment variable) becomes a dict."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return {}
    try:
        return json.loads(value)
    except ValueError:
        raise _form_error('a JSON object such as {"connections_prefix": "/loom"}') from None


def _class_path(value: str) -> str:
    if value and not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", value):
        raise _form_error("a class path such as package.module.ClassName")
    return value


class SecretsSettings(_Section):
    """Where tasks look for connections and variables between the environment and the
    database (Airflow's ``[secrets]``)."""

    backend: Annotated[str, AfterValidator(_class_path)] = ""
    """Class path of a secrets backend, e.g.
    ``engine.execution.ssm_backend.SystemsManagerParameterStoreBackend``; empty: none."""
    backend_kwargs: Annotated[dict[str, Any], BeforeValidator(_json_object)] = Field(
        default_factory=dict
    )
    """Keyword arguments of the backend's class (a mapping, or JSON text)."""


class Settings(_Section):
    """Loom's effective configuration. Build it with :func:`load_settings`."""

    home: Path
    """LOOM_HOME, absolute: where the embedded setup keeps its files (not a loom.yaml key)."""
    config_file: Path | None = None
    """The loom.yaml that was read, if any."""
    core: CoreSettings = Field(default_factory=CoreSettings)
    database: DatabaseSettings
    executor: ExecutorSettings = Field(default_factory=ExecutorSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    dlq: DlqSettings = Field(default_factory=DlqSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    triggerer: TriggererSettings = Field(default_factory=TriggererSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    webserver: WebserverSettings = Field(default_factory=WebserverSettings)
    login: LoginSettings = Field(default_factory=LoginSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    webhooks: dict[str, WebhookSettings] = Field(default_factory=dict)
    """Named webhook endpoints."""
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    virtualenv: VirtualenvSettings = Field(default_factory=VirtualenvSettings)
    secrets: SecretsSettings = Field(default_factory=SecretsSettings)
    _secure_paths: frozenset[tuple[str, ...]] = PrivateAttr(default_factory=frozenset)
    """Key paths whose values came from SSM SecureStrings: masked whatever their name."""

    @model_validator(mode="before")
    @classmethod
    def _embedded_defaults(cls, data: Any) -> Any:
        """Validate every section (so defaults see the context) and derive the SQLite URL."""
        if not isinstance(data, dict):
            return data
        filled: dict[str, Any] = {name: {} for name in section_names()} | data
        database = filled["database"]
        if isinstance(database, dict) and "url" not in database and "home" in data:
            filled["database"] = {**database, "url": f"sqlite:///{Path(data['home'])}/loom.db"}
        venvs = filled["virtualenv"]
        if isinstance(venvs, dict) and "cache_path" not in venvs and "home" in data:
            filled["virtualenv"] = {**venvs, "cache_path": Path(data["home"]) / "venvs"}
        return filled

    @model_validator(mode="after")
    def _remember_secure_paths(self, info: ValidationInfo) -> Settings:
        self._secure_paths = frozenset((info.context or {}).get("secure_paths", ()))
        return self

    def masked(self) -> dict[str, Any]:
        """The effective configuration as plain JSON data, secrets replaced by ``***``."""
        result: dict[str, Any] = mask_value(self.model_dump(mode="json"))
        mask_paths(result, self._secure_paths)
        return result


def section_names() -> list[str]:
    """The top-level keys of loom.yaml."""
    return [name for name in Settings.model_fields if name not in ("home", "config_file")]
