"""Reading the configuration: finding loom.yaml, reading it, applying ``LOOM__``
variables, resolving ``ssm:`` values, and turning every problem into one line of a
:class:`ConfigError`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from engine.config.masking import MASK, mask_urls_in, mask_value
from engine.config.schema import Settings, WebhookSettings, section_names
from engine.config.ssm import overlaps, resolve_ssm_values
from engine.errors import ConfigError

ENV_PREFIX = "LOOM__"
CONFIG_FILE_NAME = "loom.yaml"


@dataclass(frozen=True)
class _Override:
    """One ``LOOM__...`` variable and the key path it sets."""

    name: str
    value: str
    loc: tuple[str, ...]

    def label(self) -> str:
        return f"{self.name}={mask_value(self.value, self.loc[-1], within=self.loc[:-1])}"


def load_settings(environ: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> Settings:
    """Read and validate the configuration; raise ConfigError listing every problem.

    ``environ`` defaults to ``os.environ`` and ``cwd`` to the working directory, both
    read now; relative paths (LOOM_HOME, LOOM_CONFIG, core.dags_folder) resolve against
    ``cwd``.
    """
    env = os.environ if environ is None else environ
    base = (cwd or Path.cwd()).resolve()
    home = _resolve(base, env.get("LOOM_HOME") or ".loom")
    config_file = _find_config_file(env, base, home)
    data = _read_yaml(config_file) if config_file else {}
    problems: list[str] = []
    overrides = _apply_env(data, env, problems)
    origin = _Origins(config_file, overrides)
    problems += _drop_unknown_sections(data, origin)
    ssm = resolve_ssm_values(data, env, origin.source, problems)
    try:
        settings = Settings.model_validate(
            {**data, "home": home, "config_file": config_file},
            context={"cwd": base, "secure_paths": ssm.secure},
        )
    except ValidationError as exc:
        problems += [
            origin.describe(error, secure=ssm.secure)
            for error in exc.errors()
            if not overlaps(_loc(error), ssm.unresolved)  # its SSM problem says enough
        ]
    if problems:
        raise ConfigError("\n".join(problems))
    return settings


def _resolve(base: Path, text: str) -> Path:
    return (base / Path(text).expanduser()).resolve()


def _find_config_file(env: Mapping[str, str], base: Path, home: Path) -> Path | None:
    named = env.get("LOOM_CONFIG")
    if named:  # asked for by name: its absence is a mistake, not a default
        path = _resolve(base, named)
        if not path.exists():
            raise ConfigError(f"LOOM_CONFIG={named}: no such file ({path})")
        return path
    default = home / CONFIG_FILE_NAME
    return default if default.is_file() else None


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml  # here, not at the top: most processes start without a loom.yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration file ({exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: invalid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    if data is None:  # an empty file, or one with only comments
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of sections such as core: and database:"
            f" (got {type(data).__name__})"
        )
    # "smtp:" with every key commented out is an empty section, not an error
    return {key: {} if value is None else value for key, value in data.items()}


def _apply_env(
    data: dict[str, Any], env: Mapping[str, str], problems: list[str]
) -> list[_Override]:
    """Write every LOOM__ variable into ``data``; return them with the key path each set."""
    overrides = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX):
            continue
        loc = _env_loc(name)
        if loc is None:
            # Not knowing which setting it meant, show no URL beyond its host.
            shown = mask_urls_in(
                str(mask_value(env[name], name.rsplit("__", 1)[-1].lower())), hide_paths=True
            )
            problems.append(
                f"{name}={shown}: not a setting; use LOOM__<SECTION>__<KEY>"
                " or LOOM__WEBHOOKS__<NAME>__<KEY>"
            )
            continue
        used = _set(data, loc, env[name])
        if used is not None:
            overrides.append(_Override(name, env[name], used))
    return overrides


def _env_loc(name: str) -> tuple[str, ...] | None:
    parts = tuple(name[len(ENV_PREFIX) :].lower().split("__"))
    depth = 3 if parts[0] == "webhooks" else 2
    return parts if len(parts) == depth and all(parts) else None


def _set(data: dict[str, Any], loc: tuple[str, ...], value: str) -> tuple[str, ...] | None:
    """Set ``value`` at ``loc``; return the path used (webhook names match any case).

    None when the file holds something other than a mapping on the way; the file's
    error is reported then, and blaming the variable would mislead.
    """
    node, path = data, []
    for depth, part in enumerate(loc[:-1]):
        if depth == 1:  # a webhook name: LOOM__WEBHOOKS__OPS__URL sets webhooks "Ops" too
            part = next((k for k in node if str(k).lower() == part), part)
        node = node.setdefault(part, {})
        path.append(str(part))
        if not isinstance(node, dict):
            return None
    node[loc[-1]] = value
    return (*path, loc[-1])


def _drop_unknown_sections(data: dict[str, Any], origin: _Origins) -> list[str]:
    known = section_names()
    problems = []
    for key in [k for k in data if k not in known]:
        hint = _did_you_mean(str(key), known) or f" (sections: {', '.join(known)})"
        problems.append(origin.prefix((str(key),)) + f"{key} is not a known section{hint}")
        del data[key]
    return problems


def _did_you_mean(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


# --- error messages ----------------------------------------------------------------------

_FORMS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list (or a comma-separated string)",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "path_type": "a path",
}


@dataclass(frozen=True)
class _Origins:
    """Where each value came from, to name the variable or file in an error message."""

    config_file: Path | None
    overrides: list[_Override]

    def prefix(self, loc: tuple[str, ...]) -> str:
        override = self._override(loc)
        if override:
            return f"{override.label()}: "
        return f"{self.config_file}: " if self.config_file else ""

    def source(self, loc: tuple[str, ...]) -> str:
        """The variable or file that set the value at ``loc``."""
        override = self._override(loc)
        if override:
            return override.name
        return str(self.config_file or CONFIG_FILE_NAME)

    def _override(self, loc: tuple[str, ...]) -> _Override | None:
        for override in reversed(self.overrides):
            shared = min(len(loc), len(override.loc))
            if loc[:shared] == override.loc[:shared]:
                return override
        return None

    def describe(self, error: ErrorDetails, *, secure: frozenset[tuple[str, ...]]) -> str:
        """One line for a validation error; values read from SecureStrings show as ***."""
        loc = _loc(error)
        key = ".".join(loc)
        kind = error["type"]
        if kind == "missing":  # name the variable or file that created the parent
            return self.prefix(loc[:-1]) + f"{key} is required"
        if kind == "extra_forbidden":
            why = REMOVED_KEYS.get(key) or _did_you_mean(loc[-1], _known(loc))
            return self.prefix(loc) + f"{key} is not a known key{why}"
        shown = (
            MASK if overlaps(loc, secure) else mask_value(error["input"], loc[-1], within=loc[:-1])
        )
        return self.prefix(loc) + f"{key} must be {_expected(error)} (got {shown!r})"


REMOVED_KEYS: dict[str, str] = {
    "core.enable_xcom_pickling": (
        ": Airflow 3 removed XCom pickling, and Loom never pickles XComs (they are stored "
        "as JSON; datetimes, tuples, sets and dataclasses keep their type)"
    ),
}
"""Airflow keys that an Airflow user may carry over, and why Loom has no such key."""


def _loc(error: ErrorDetails) -> tuple[str, ...]:
    return tuple(str(part) for part in error["loc"])


def _expected(error: ErrorDetails) -> str:
    ctx = error.get("ctx") or {}
    if error["type"] == "loom_form":
        return str(ctx["form"])
    if error["type"] == "literal_error":
        return str(ctx["expected"])
    return _FORMS.get(error["type"], error["msg"])


def _known(loc: tuple[str, ...]) -> list[str]:
    """The keys allowed next to the unknown key at ``loc``."""
    model: type[BaseModel] = Settings
    if loc[0] == "webhooks":
        model = WebhookSettings
    elif len(loc) > 1:
        annotation = Settings.model_fields[loc[0]].annotation
        model = annotation if isinstance(annotation, type) else Settings
    return list(model.model_fields)
