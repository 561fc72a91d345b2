"""``HttpOperator`` and ``HttpSensor``: a request through an :class:`HttpHook`.

As Airflow's HTTP provider. The operator sends one request (POST by default) and pushes
the answer's text, or what ``response_filter(response)`` returns; ``response_check``
returning false fails the task. With ``pagination_function(response)``, each answer
is passed to it: a dict (``endpoint``, ``data``, ``headers``, ``extra_options``, merged
over the task's) asks for the next page, ``None`` stops; the callables then receive the
list of answers (and the XCom is the list of texts), as in Airflow. The sensor sends a
GET each poke: an answer of 404 (or another status in
``response_error_codes_allowlist``) means "not yet", any other error status or a refused
connection fails the task (its retries apply), and ``response_check(response)`` decides
when given. Both callables receive the context values they name (``ti``, ``params``...),
as a PythonOperator's callable does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from engine.authoring.baseoperator import BaseOperator, check_callable
from engine.authoring.operators.python import context_kwargs, optional_name
from engine.authoring.operators.sensors.base import BaseSensorOperator
from engine.errors import HookError
from engine.hooks.http import HttpHook

if TYPE_CHECKING:
    import requests

logger = logging.getLogger(__name__)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _call(func: Callable[..., Any], response: Any, context: Mapping[str, Any]) -> Any:
    return func(response, **context_kwargs(func, [response], {}, context))


def _check_arguments(task: BaseOperator, method: str, callables: Mapping[str, Any]) -> None:
    if not isinstance(method, str) or method.upper() not in METHODS:
        task.problems.append(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    for name, value in callables.items():
        check_callable(name, value, task.problems, optional=True)


class HttpOperator(BaseOperator):
    """Send ``method`` to ``endpoint`` of ``http_conn_id`` (see the module docstring)."""

    template_fields: ClassVar[tuple[str, ...]] = ("http_conn_id", "endpoint", "data", "headers")
    template_fields_renderers: ClassVar[dict[str, str]] = {"headers": "json", "data": "py"}
    ui_color: ClassVar[str] = "#f4a460"

    def __init__(
        self,
        task_id: str,
        *,
        endpoint: str | None = None,
        method: str = "POST",
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        response_check: Callable[..., Any] | None = None,
        response_filter: Callable[..., Any] | None = None,
        extra_options: Mapping[str, Any] | None = None,
        request_kwargs: Mapping[str, Any] | None = None,
        http_conn_id: str = HttpHook.default_conn_name,
        log_response: bool = False,
        auth_type: Callable[..., Any] | None = None,
        pagination_function: Callable[[Any], Mapping[str, Any] | None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.pagination_function = pagination_function
        self.endpoint = endpoint
        self.method = method
        self.data = data
        self.headers = dict(headers or {})
        self.response_check = response_check
        self.response_filter = response_filter
        self.extra_options = dict(extra_options or {})
        self.request_kwargs = dict(request_kwargs or {})
        self.http_conn_id = http_conn_id
        self.log_response = log_response
        self.auth_type = auth_type
        _check_arguments(
            self,
            method,
            {
                "response_check": response_check,
                "response_filter": response_filter,
                "pagination_function": pagination_function,
            },
        )

    def get_hook(self) -> HttpHook:
        return HttpHook(self.method, http_conn_id=self.http_conn_id, auth_type=self.auth_type)

    def execute(self, context: Mapping[str, Any]) -> Any:
        hook = self.get_hook()
        response = hook.run(
            self.endpoint, self.data, self.headers, self.extra_options, **self.request_kwargs
        )
        if self.pagination_function is None:
            return self.process_response(response, context)
        pages = [response]
        while next_page := self.pagination_function(response):
            response = hook.run(**self._next_page(next_page), **self.request_kwargs)
            pages.append(response)
        return self.process_response(pages, context)

    def _next_page(self, asked: Mapping[str, Any]) -> dict[str, Any]:
        """The next request: what ``pagination_function`` returned, over the task's own."""
        data = asked.get("data")
        if isinstance(self.data, dict) and isinstance(data, dict):
            data = {**self.data, **data}
        return {
            "endpoint": asked.get("endpoint") or self.endpoint,
            "data": data or self.data,
            "headers": {**self.headers, **asked.get("headers", {})},
            "extra_options": {**self.extra_options, **asked.get("extra_options", {})},
        }

    def process_response(
        self, response: requests.Response | list[requests.Response], context: Mapping[str, Any]
    ) -> Any:
        """Log, check and filter the answer (or the pages); what the task pushes as XCom."""
        pages = response if isinstance(response, list) else [response]
        if self.log_response:
            for page in pages:
                logger.info(page.text)
        if self.response_check is not None and not _call(self.response_check, response, context):
            raise HookError("Response check returned False.")
        if self.response_filter is not None:
            return _call(self.response_filter, response, context)
        return [page.text for page in pages] if isinstance(response, list) else response.text

    def serialize_fields(self) -> dict[str, Any]:
        return {
            **super().serialize_fields(),
            "method": self.method,
            "response_check": optional_name(self.response_check),
            "response_filter": optional_name(self.response_filter),
            "log_response": self.log_response,
            **(
                {"pagination_function": optional_name(self.pagination_function)}
                if self.pagination_function
                else {}
            ),
        }


SimpleHttpOperator = HttpOperator
"""Airflow 2's name."""


class HttpSensor(BaseSensorOperator):
    """Poke ``endpoint`` of ``http_conn_id`` until it answers (see the module docstring)."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "http_conn_id",
        "endpoint",
        "request_params",
        "headers",
    )

    def __init__(
        self,
        task_id: str,
        *,
        endpoint: str,
        http_conn_id: str = HttpHook.default_conn_name,
        method: str = "GET",
        request_params: Mapping[str, Any] | None = None,
        request_kwargs: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        response_error_codes_allowlist: Sequence[str] | None = None,
        response_check: Callable[..., Any] | None = None,
        extra_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.endpoint = endpoint
        self.http_conn_id = http_conn_id
        self.method = method
        self.request_params = dict(request_params or {})
        self.request_kwargs = dict(request_kwargs or {})
        self.headers = dict(headers or {})
        allowlist = response_error_codes_allowlist
        self.response_error_codes_allowlist = [str(code) for code in allowlist or ["404"]]
        self.response_check = response_check
        self.extra_options = dict(extra_options or {})
        _check_arguments(self, method, {"response_check": response_check})

    def poke(self, context: Mapping[str, Any]) -> bool:
        hook = HttpHook(self.method, http_conn_id=self.http_conn_id)
        logger.info("Poking: %s", self.endpoint)
        try:
            response = hook.run(
                self.endpoint,
                self.request_params,
                self.headers,
                self.extra_options,
                **self.request_kwargs,
            )
        except HookError as error:
            if str(error.status_code) in self.response_error_codes_allowlist:
                return False
            raise
        if self.response_check is not None:
            return bool(_call(self.response_check, response, context))
        return True

    def serialize_fields(self) -> dict[str, Any]:
        return {
            **super().serialize_fields(),
            "method": self.method,
            "response_error_codes_allowlist": self.response_error_codes_allowlist,
            "response_check": optional_name(self.response_check),
        }
