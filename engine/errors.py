"""Loom's exceptions: one base, a small tree, each mapped once at the edges.

LoomError
├── ConfigError            configuration file or environment override is invalid
├── DagDefinitionError     a DAG file defines something Loom cannot accept
│   └── DagValidationError     one or more validation problems, all listed
├── TemplateError          a templated field failed to render
├── NotFoundError          an id names nothing (dag, run, task, user, role, ...)
├── ConflictError          the object exists already, or moved on (compare-and-set lost)
├── InvalidInputError      input from a user is malformed (conf, duration, date, ...)
├── PluginError            a plugin file failed to import or defines something unusable
├── HookError              a hook could not use an external system (an error status, a
│                          connection type it does not speak, a sensor's failure criteria)
└── IllegalTransitionError a state change the transition table forbids
"""

from __future__ import annotations


class LoomError(Exception):
    """Base of every error Loom raises on purpose."""


class ConfigError(LoomError):
    """The configuration is invalid; the message names the key and the expected form."""


class DagDefinitionError(LoomError):
    """A DAG file defines something Loom cannot accept."""


class DagValidationError(DagDefinitionError):
    """A DAG failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class TemplateError(LoomError):
    """A templated field failed to render; the message names the field and the cause."""


class NotFoundError(LoomError):
    """The id names nothing."""


class ConflictError(LoomError):
    """The object exists already, or its state moved on before this change."""


class InvalidInputError(LoomError):
    """Input from a user is malformed; the message names the field and the problem.

    ``problems`` (field, dotted for nested ones, → problems) lists every problem when
    there are several, so that an edge can show each next to its field.
    """

    def __init__(self, message: str, *, problems: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or {}


class PluginError(LoomError):
    """A plugin file failed to import or defines something Loom cannot use; the message
    names the file, the attribute and the problem."""


class HookError(LoomError):
    """A hook, or an operator built on one, could not use an external system: the message
    names the connection or the answer; ``status_code`` is the HTTP status, if any."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class IllegalTransitionError(LoomError):
    """A state change that the transition table in ``engine.state`` forbids."""
