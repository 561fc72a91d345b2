"""A task's settings, declared once: name, default, how a value is checked and stored.

:class:`~engine.authoring.baseoperator.BaseOperator` takes its keyword arguments, fills
them from ``default_args`` and checks them from :data:`TASK_SETTINGS`;
:class:`~engine.authoring.serialization.SerializedTask` writes and reads them from the
same table. A new task argument is one more line here (and a typed field on
``SerializedTask``, which a test holds to this table).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from engine.authoring.assets import BaseAsset, as_outlets, dump_outlets, load_outlets
from engine.authoring.params import Param, as_params, default_problems
from engine.authoring.trigger_rules import TriggerRule
from engine.priority import DEFAULT_POOL, PRIORITY_CLASSES, QUEUE_PATTERN

Problems = list[str]


@dataclass(frozen=True)
class Kind:
    """How values of one sort of setting are taken from a DAG file, stored and read back."""

    accept: Callable[[str, Any, Problems], Any]
    """The value to keep for an argument; what is wrong with it goes into ``problems``."""
    dump: Callable[[Any], Any] = lambda value: value
    """The value as JSON."""
    load: Callable[[Any], Any] = lambda value: value
    """The value from JSON."""


@dataclass(frozen=True)
class TaskSetting:
    name: str
    default: Any
    kind: Kind
    doc: str = ""
    serialized: bool = True
    """Stored in the serialized DAG (callbacks are not: they are code)."""
    written_when_set: bool = False
    """Stored only when it differs from the default: a setting added later that leaves the
    serialized DAG (and its hash, so its version) of a task that does not use it unchanged."""

    def stored(self, value: Any) -> Any:
        """An accepted value as it reads back from the serialized DAG."""
        return self.kind.load(self.kind.dump(value))

    def stored_default(self) -> Any:
        """What a serialized DAG written before this setting existed means by it."""
        return self.stored(self.kind.accept(self.name, self.default, []))


def _accept_any(name: str, value: Any, problems: Problems) -> Any:
    return value


def _accept_bool(name: str, value: Any, problems: Problems) -> bool:
    return bool(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_positive_int(value: Any) -> bool:
    return _is_int(value) and value >= 1


def _checked(holds: Callable[[Any], bool], expected: str) -> Kind:
    """Values kept as given; one for which ``holds`` is false is a problem saying that the
    setting must be ``expected``."""

    def accept(name: str, value: Any, problems: Problems) -> Any:
        if not holds(value):
            problems.append(f"{name} must be {expected}, got {value!r}")
        return value

    return Kind(accept)


WEIGHT_RULES = ("downstream", "upstream", "absolute")
"""How a task's effective priority weight adds up (see ``effective_weights``)."""


def _accept_params(name: str, value: Any, problems: Problems) -> dict[str, Param]:
    if value is not None and not isinstance(value, Mapping):
        problems.append(f"{name} must be a mapping of names to values or Params, got {value!r}")
        return {}
    params = as_params(value)
    problems.extend(default_problems(params))
    return params


def to_timedelta(value: timedelta | float | int | None) -> timedelta | None:
    """A duration given as a ``timedelta`` or as seconds."""
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    raise TypeError(f"expected a timedelta or seconds, got {type(value).__name__}")


def _accept_duration(name: str, value: Any, problems: Problems) -> timedelta | None:
    try:
        duration = to_timedelta(value)
    except TypeError as exc:
        problems.append(f"{name}: {exc}")
        return None
    if duration is not None and duration < timedelta(0):
        problems.append(f"{name} must not be negative, got {duration}")
    return duration


def _accept_delay(name: str, value: Any, problems: Problems) -> timedelta:
    return _accept_duration(name, value, problems) or timedelta(0)


def _accept_limit(name: str, value: Any, problems: Problems) -> timedelta | None:
    """An optional duration that, when given, must be more than zero."""
    duration = _accept_duration(name, value, problems)
    if duration is not None and duration == timedelta(0):
        problems.append(f"{name} must be positive")
    return duration


def _accept_trigger_rule(name: str, value: Any, problems: Problems) -> TriggerRule:
    try:
        return TriggerRule(value)
    except ValueError:
        problems.append(
            f"unknown {name} {value!r}; expected one of "
            + ", ".join(rule.value for rule in TriggerRule)
        )
        return TriggerRule.ALL_SUCCESS


def as_names(value: str | Iterable[str] | None) -> list[str]:
    """One name or several as a list (``email="ops@x"`` and ``email=["a@x", "b@x"]``);
    anything else becomes a one-item list that validation then reports."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | set) else [value]  # type: ignore[list-item]


def _accept_names(name: str, value: Any, problems: Problems) -> list[str]:
    names = as_names(value)
    if not all(isinstance(item, str) and item for item in names):
        problems.append(f"{name} must be a string or a list of non-empty strings")
    return names


def as_callbacks(value: Any) -> list[Callable[..., Any]]:
    """A callback argument as a list: ``None``, one callable, or a list of callables."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _accept_callbacks(name: str, value: Any, problems: Problems) -> list[Callable[..., Any]]:
    callbacks = as_callbacks(value)
    if not all(callable(cb) for cb in callbacks):
        problems.append(f"{name} must be callable or a list of callables")
    return callbacks


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _delta(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


ANY = Kind(_accept_any)
BOOL = Kind(_accept_bool)
COUNT = _checked(lambda value: _is_int(value) and value >= 0, "a non-negative integer")
POSITIVE_COUNT = _checked(_is_positive_int, "a positive integer")
OPTIONAL_POSITIVE = _checked(
    lambda value: value is None or _is_positive_int(value), "a positive integer"
)
INT = _checked(_is_int, "an integer")
PRIORITY = _checked(
    lambda value: value in PRIORITY_CLASSES, f"one of {', '.join(PRIORITY_CLASSES)}"
)
POOL = _checked(lambda value: isinstance(value, str) and bool(value), "a non-empty string")
TEXT = _checked(lambda value: value is None or isinstance(value, str), "a string")
WEIGHT_RULE = _checked(lambda value: value in WEIGHT_RULES, f"one of {', '.join(WEIGHT_RULES)}")
QUEUE = _checked(
    lambda value: (
        value is None or (isinstance(value, str) and bool(QUEUE_PATTERN.fullmatch(value)))
    ),
    "a queue name (letters, digits, '_', '-')",
)
DELAY = Kind(_accept_delay, dump=_seconds, load=_delta)
DURATION = Kind(_accept_duration, dump=_seconds, load=_delta)
LIMIT = Kind(_accept_limit, dump=_seconds, load=_delta)
RULE = Kind(_accept_trigger_rule, dump=lambda rule: rule.value, load=TriggerRule)
NAMES = Kind(_accept_names, dump=list, load=tuple)
CALLBACKS = Kind(_accept_callbacks)
ASSETS = Kind(as_outlets, dump=dump_outlets, load=load_outlets)
PARAMS = Kind(
    _accept_params,
    dump=lambda params: {name: p.serialize() for name, p in params.items()},
    load=lambda data: {name: Param.deserialize(p) for name, p in data.items()},
)

TASK_SETTINGS: tuple[TaskSetting, ...] = (
    TaskSetting("owner", "loom", ANY),
    TaskSetting("retries", 0, COUNT, "Tries after the first one."),
    TaskSetting("retry_delay", timedelta(minutes=5), DELAY),
    TaskSetting("retry_exponential_backoff", False, BOOL),
    TaskSetting("max_retry_delay", None, DURATION),
    TaskSetting("priority", "default", PRIORITY, "Queue class: high, default or low."),
    TaskSetting("priority_weight", 1, INT),
    TaskSetting("pool", DEFAULT_POOL, POOL),
    TaskSetting("pool_slots", 1, POSITIVE_COUNT),
    TaskSetting("execution_timeout", None, LIMIT),
    TaskSetting("trigger_rule", TriggerRule.ALL_SUCCESS, RULE),
    TaskSetting("on_success_callback", None, CALLBACKS, serialized=False),
    TaskSetting("on_failure_callback", None, CALLBACKS, serialized=False),
    TaskSetting("on_retry_callback", None, CALLBACKS, serialized=False),
    TaskSetting("on_execute_callback", None, CALLBACKS, "Called right before execute.", False),
    TaskSetting(
        "on_skipped_callback", None, CALLBACKS, "Called when the task skips itself.", False
    ),
    TaskSetting("email", None, NAMES),
    TaskSetting("email_on_failure", True, BOOL),
    TaskSetting("email_on_retry", True, BOOL),
    TaskSetting("email_on_success", False, BOOL),
    TaskSetting("notify", None, NAMES, "Webhook targets (names under ``webhooks`` in loom.yaml)."),
    TaskSetting("notify_on_success", False, BOOL),
    TaskSetting(
        "deadline",
        None,
        LIMIT,
        "Alert when the task has not finished this long after its run started.",
    ),
    TaskSetting("doc", None, TEXT, "Shown (preformatted) in the task's details."),
    TaskSetting("doc_md", None, TEXT),
    TaskSetting("doc_rst", None, TEXT),
    TaskSetting("doc_json", None, TEXT),
    TaskSetting("doc_yaml", None, TEXT),
    TaskSetting("task_display_name", None, TEXT, "Shown instead of the task id."),
    TaskSetting("do_xcom_push", True, BOOL, "False: the return value is not stored."),
    TaskSetting("multiple_outputs", False, BOOL, "A dict return value is also stored key by key."),
    TaskSetting("params", None, PARAMS, "Merged over the DAG's params for this task."),
    TaskSetting("weight_rule", "downstream", WEIGHT_RULE),
    TaskSetting("queue", None, QUEUE, "A named queue (loom.<name>) instead of the class's."),
    TaskSetting("max_active_tis_per_dag", None, OPTIONAL_POSITIVE),
    TaskSetting("max_active_tis_per_dagrun", None, OPTIONAL_POSITIVE),
    TaskSetting("depends_on_past", False, BOOL),
    TaskSetting("wait_for_downstream", False, BOOL, "Implies depends_on_past."),
    TaskSetting("ignore_first_depends_on_past", False, BOOL),
    TaskSetting("is_setup", False, BOOL, "Prepares what work tasks use (``@setup``)."),
    TaskSetting("is_teardown", False, BOOL, "Cleans up after its setups, even when work failed."),
    TaskSetting(
        "on_failure_fail_dagrun", False, BOOL, "A failed teardown fails the run (teardowns only)."
    ),
    TaskSetting(
        "outlets", None, ASSETS, "Assets a success updates (an event each).", written_when_set=True
    ),
    TaskSetting(
        "inlets", None, ASSETS, "Assets the task reads (``inlet_events``).", written_when_set=True
    ),
)

SETTING_NAMES = frozenset(setting.name for setting in TASK_SETTINGS)
CALLBACK_KINDS = tuple(
    s.name.removesuffix("_callback") for s in TASK_SETTINGS if s.kind is CALLBACKS
)
"""``on_success``, ``on_failure``, ...: the callbacks a task may have."""
SERIALIZED_SETTINGS = tuple(setting for setting in TASK_SETTINGS if setting.serialized)


class SerializedSettingValues:
    """The type of each serialized setting's value, declared once for type checkers:
    :class:`~engine.authoring.baseoperator.BaseOperator` and
    :class:`~engine.authoring.serialization.SerializedTask` both have these attributes
    (a test holds the names to :data:`SERIALIZED_SETTINGS`)."""

    owner: str
    retries: int
    retry_delay: timedelta
    retry_exponential_backoff: bool
    max_retry_delay: timedelta | None
    priority: str
    priority_weight: int
    pool: str
    pool_slots: int
    execution_timeout: timedelta | None
    trigger_rule: TriggerRule
    email: Sequence[str]
    email_on_failure: bool
    email_on_retry: bool
    email_on_success: bool
    notify: Sequence[str]
    notify_on_success: bool
    deadline: timedelta | None
    doc: str | None
    is_setup: bool
    is_teardown: bool
    on_failure_fail_dagrun: bool
    doc_md: str | None
    doc_rst: str | None
    doc_json: str | None
    doc_yaml: str | None
    task_display_name: str | None
    do_xcom_push: bool
    multiple_outputs: bool
    params: dict[str, Param]
    weight_rule: str
    queue: str | None
    max_active_tis_per_dag: int | None
    max_active_tis_per_dagrun: int | None
    depends_on_past: bool
    wait_for_downstream: bool
    ignore_first_depends_on_past: bool
    outlets: Sequence[BaseAsset]
    inlets: Sequence[BaseAsset]
