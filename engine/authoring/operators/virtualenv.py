"""Tasks whose dependencies conflict with the worker's: a function run by another Python.

* :class:`PythonVirtualenvOperator` (``@task.virtualenv``): in a virtualenv made from
  ``requirements``, cached by what makes it (``virtualenv.cache_path``).
* :class:`ExternalPythonOperator` (``@task.external_python``): with an existing
  interpreter, ``python=``.
* :class:`BranchPythonVirtualenvOperator` / :class:`BranchExternalPythonOperator`
  (``@task.branch_virtualenv`` / ``@task.branch_external_python``): the function returns
  the task ids to follow.

As in Airflow, the function travels as source, so it must be self-contained; its
arguments and return value are serialized (JSON by default, see
:mod:`~engine.authoring.operators.isolated.runner`); it receives only the context values
that can be serialized (:data:`PASSED_CONTEXT_KEYS`), and only those it names.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from engine.authoring.operators.isolated.call import FunctionCall, call_function, run_checked
from engine.authoring.operators.isolated.environments import (
    VirtualenvSpec,
    current_defaults,
    environment,
    interpreter_for,
)
from engine.authoring.operators.isolated.runner import SERIALIZERS
from engine.authoring.operators.isolated.source import function_problems, function_source
from engine.authoring.operators.python import PythonOperator, context_kwargs

PASSED_CONTEXT_KEYS = (
    "ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz", "run_id", "map_index",
    "logical_date", "data_interval_start", "data_interval_end",
    "prev_data_interval_start_success", "prev_data_interval_end_success",
    "prev_start_date_success", "prev_end_date_success", "params", "conf",
    "task_instance_key_str", "expanded_ti_count", "try_number",
)  # fmt: skip
"""Context values a function in another interpreter may name (dates as ``datetime``)."""

NOT_PASSED_CONTEXT_KEYS = frozenset(
    {
        "ti",
        "task_instance",
        "task",
        "dag",
        "dag_run",
        "macros",
        "var",
        "conn",
        "outlets",
        "outlet_events",
        "inlet_events",
        "triggering_asset_events",
    }
)
"""Context values that are live objects of the worker: another interpreter cannot get them."""

_VERSION = re.compile(r"\d+(\.\d+)?")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
"""The project name at the start of a requirement line."""


class _IsolatedPythonOperator(PythonOperator):
    """What both kinds share: the function's source, arguments, context, outcome."""

    def __init__(
        self,
        task_id: str,
        python_callable: Callable[..., Any],
        *,
        serializer: str | None = None,
        string_args: Iterable[str] | None = None,
        expect_airflow: bool = True,
        skip_on_exit_code: int | Collection[int] | None = None,
        env_vars: Mapping[str, str] | None = None,
        inherit_env: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, python_callable, **kwargs)
        self.serializer = serializer or "json"
        self.string_args = list(string_args or [])
        self.expect_airflow = expect_airflow
        self.skip_on_exit_code = _exit_codes(skip_on_exit_code, self.problems)
        self.env_vars = dict(env_vars) if env_vars else None
        self.inherit_env = inherit_env
        if self.serializer not in SERIALIZERS:
            self.problems.append(
                f"unknown serializer {serializer!r}: use one of {', '.join(SERIALIZERS)}"
            )
        if callable(python_callable):
            problems = function_problems(python_callable)
            self.problems += problems or self._context_problems()

    def _context_problems(self) -> list[str]:
        """A required parameter named after a live context value can never be filled."""
        params = list(inspect.signature(self.python_callable).parameters.values())
        given = {p.name for p in params[: len(self.op_args)]} | self.op_kwargs.keys()
        return [
            f"function {self.python_callable.__name__!r} takes the context value {p.name!r}, "
            "which cannot be passed to another Python interpreter; it can take "
            + ", ".join(PASSED_CONTEXT_KEYS)
            for p in params
            if p.name in NOT_PASSED_CONTEXT_KEYS and p.default is p.empty and p.name not in given
        ]

    def execute(self, context: Mapping[str, Any]) -> Any:
        self._check_serializer()
        call = FunctionCall(
            source=function_source(self.python_callable),
            args=self.op_args,
            kwargs=self._arguments(context),
            serializer=self.serializer,
            string_args=self.string_args,
            expect_airflow=self.expect_airflow,
        )
        with self.interpreter() as python:
            return call_function(
                python, call, env=self._environment(), skip_on_exit_code=self.skip_on_exit_code
            )

    def interpreter(self) -> contextlib.AbstractContextManager[Path]:
        """The Python that runs the function, ready for the block."""
        raise NotImplementedError

    def _arguments(self, context: Mapping[str, Any]) -> dict[str, Any]:
        passable = {key: context[key] for key in PASSED_CONTEXT_KEYS if key in context}
        kwargs = context_kwargs(self.python_callable, self.op_args, self.op_kwargs, passable)
        if self.templates_dict is not None:
            kwargs.setdefault("templates_dict", self.templates_dict)
        return kwargs

    def _environment(self) -> dict[str, str]:
        base = dict(os.environ) if self.inherit_env else {}
        return {**base, **{k: str(v) for k, v in (self.env_vars or {}).items()}}

    def _check_serializer(self) -> None:
        if self.serializer in ("cloudpickle", "dill") and not importlib.util.find_spec(
            self.serializer
        ):
            raise ModuleNotFoundError(
                f"serializer {self.serializer!r} needs the {self.serializer} package in the "
                "worker's environment too; install it there, or use 'json' or 'pickle'"
            )

    def serialize_fields(self) -> dict[str, Any]:
        return {
            **super().serialize_fields(),
            "serializer": self.serializer,
            "string_args": self.string_args,
            "skip_on_exit_code": sorted(self.skip_on_exit_code),
        }


class PythonVirtualenvOperator(_IsolatedPythonOperator):
    """Run ``python_callable`` in a virtualenv with ``requirements`` (list, or the text of
    a requirements file), made from ``python_version`` (default: the worker's Python).

    ``system_site_packages`` (default true) lets the environment see the worker's own
    packages behind its requirements. Environments are cached under
    ``virtualenv.cache_path`` (or this task's ``venv_cache_path``) by a hash of what
    makes them.
    """

    template_fields: ClassVar[tuple[str, ...]] = (
        *PythonOperator.template_fields,
        "requirements",
        "index_urls",
    )
    template_ext: ClassVar[tuple[str, ...]] = (".txt",)

    def __init__(
        self,
        task_id: str,
        python_callable: Callable[..., Any],
        *,
        requirements: str | Iterable[str] | None = None,
        python_version: str | None = None,
        system_site_packages: bool = True,
        pip_install_options: Iterable[str] | None = None,
        index_urls: str | Iterable[str] | None = None,
        venv_cache_path: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, python_callable, **kwargs)
        self.requirements = _strings("requirements", requirements, self.problems)
        self.python_version = python_version
        self.system_site_packages = system_site_packages
        self.pip_install_options = _strings(
            "pip_install_options", pip_install_options, self.problems
        )
        self.index_urls = (
            None if index_urls is None else _strings("index_urls", index_urls, self.problems)
        )
        self.venv_cache_path = venv_cache_path
        if python_version is not None and not (
            isinstance(python_version, str) and _VERSION.fullmatch(python_version)
        ):
            self.problems.append(
                f"python_version must be a string such as '3.12', got {python_version!r}"
            )

    def requirement_lines(self) -> list[str]:
        """The requirements as lines of one file, sorted (a stable hash), with the
        serializer's package when the environment cannot see the worker's."""
        lines = {
            line.strip()
            for item in self.requirements
            for line in str(item).splitlines()
            if line.strip() and not line.strip().startswith("#")
        }
        names = {m.group().lower() for line in lines if (m := _NAME.match(line))}
        needs = not self.system_site_packages and self.serializer in ("cloudpickle", "dill")
        if needs and self.serializer not in names:
            lines.add(self.serializer)
        return sorted(lines)

    @contextlib.contextmanager
    def interpreter(self) -> Iterator[Path]:
        defaults = current_defaults()
        if self.venv_cache_path:
            defaults = replace(defaults, cache_path=Path(self.venv_cache_path))
        python, worker_packages = interpreter_for(self.python_version)
        spec = VirtualenvSpec(
            python=python,
            python_version=self.python_version,
            requirements=tuple(self.requirement_lines()),
            system_site_packages=self.system_site_packages,
            pip_install_options=tuple(self.pip_install_options),
            index_urls=None if self.index_urls is None else tuple(self.index_urls),
            worker_packages=worker_packages,
        )
        with environment(spec, defaults, run_checked) as path:
            yield path

    def serialize_fields(self) -> dict[str, Any]:
        return {
            **super().serialize_fields(),
            "requirements": self.requirements,
            "python_version": self.python_version,
            "system_site_packages": self.system_site_packages,
            "pip_install_options": self.pip_install_options,
            "index_urls": self.index_urls,
        }


class BranchPythonVirtualenvOperator(PythonVirtualenvOperator):
    """A :class:`PythonVirtualenvOperator` whose function returns the task id(s) to follow."""

    is_branch = True


class ExternalPythonOperator(_IsolatedPythonOperator):
    """Run ``python_callable`` with the existing interpreter ``python`` (an absolute path,
    usually ``<some venv>/bin/python``) on the worker."""

    template_fields: ClassVar[tuple[str, ...]] = (*PythonOperator.template_fields, "python")

    def __init__(
        self,
        task_id: str,
        python_callable: Callable[..., Any],
        *,
        python: str | None = None,
        expect_pendulum: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, python_callable, **kwargs)
        self.python = python
        self.expect_pendulum = expect_pendulum  # dates always arrive as datetime in Loom
        if not isinstance(python, str) or not python.strip():
            self.problems.append(
                f"python must be the path of an existing Python interpreter, got {python!r}"
            )

    @contextlib.contextmanager
    def interpreter(self) -> Iterator[Path]:
        path = Path(str(self.python))
        if not path.is_absolute():
            raise ValueError(f"python {str(path)!r} must be an absolute path")
        if not path.exists():
            raise FileNotFoundError(f"python {str(path)!r} does not exist on this worker")
        if not path.is_file() or not os.access(path, os.X_OK):
            raise PermissionError(f"python {str(path)!r} is not an executable file")
        yield path

    def serialize_fields(self) -> dict[str, Any]:
        return {**super().serialize_fields(), "python": self.python}


class BranchExternalPythonOperator(ExternalPythonOperator):
    """An :class:`ExternalPythonOperator` whose function returns the task id(s) to follow."""

    is_branch = True


def _strings(name: str, value: str | Iterable[str] | None, problems: list[str]) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(item, str) for item in items):
        problems.append(f"{name} must be a string or a list of strings, got {value!r}")
    return [str(item) for item in items]


def _exit_codes(value: int | Collection[int] | None, problems: list[str]) -> frozenset[int]:
    codes = [] if value is None else [value] if isinstance(value, int) else list(value)
    if not all(isinstance(code, int) and not isinstance(code, bool) for code in codes):
        problems.append(f"skip_on_exit_code must be an exit code or a list of them: {value!r}")
        return frozenset()
    return frozenset(codes)
