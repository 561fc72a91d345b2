"""The API's blueprint class: flask-smorest's, surviving hostile JSON bodies, with one
decorator per operation.

A blueprint serves one resource of the permission catalogue; :meth:`Blueprint.operation`
stacks what each operation declares (route, permission, input, response) in the one
order that checks the token before the input is parsed.

webargs parses bodies with ``json.loads``, and a body nested thousands of levels deep
raises ``RecursionError`` (a 500). Here it is a 422 naming the body, like every other bad
input; malformed JSON stays webargs' 400. What a parsed value may hold (depth, NUL, NaN)
is checked where it is used (:func:`engine.services.userinput.check_json`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import flask
import flask_smorest
import marshmallow as ma
from marshmallow import fields, validate
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from engine.security.roles import Action, Resource
from engine.services.userinput import too_deep
from webui.auth import requires

F = TypeVar("F", bound=Callable[..., Any])


class StrictJsonParser(FlaskParser):
    """webargs' Flask parser, refusing bodies nested too deeply for ``json.loads``."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        try:
            return core.parse_json(req.get_data(cache=True))
        except RecursionError:
            raise too_deep("body") from None


@functools.cache
def collection(key: str, item: type[ma.Schema]) -> type[ma.Schema]:
    """The schema of a page of ``item`` under ``key``, with ``total_entries``."""
    name = item.__name__.removesuffix("Schema") + "CollectionSchema"
    return ma.Schema.from_dict(
        {
            key: fields.List(fields.Nested(item), required=True),
            "total_entries": fields.Integer(required=True),
        },
        name=name,
    )


class UpdateMaskArgs(ma.Schema):
    """Airflow's ``update_mask``: the fields a PATCH changes (all the body's when absent)."""

    update_mask = fields.List(fields.String(validate=validate.Length(max=64)), load_default=None)


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]  # flask-smorest is untyped
    """A flask-smorest blueprint whose arguments come through :class:`StrictJsonParser`,
    for operations on ``resource`` (unless an operation names another)."""

    ARGUMENTS_PARSER = StrictJsonParser()

    def __init__(self, *args: Any, resource: Resource | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resource = resource

    def operation(
        self,
        method: str,
        rule: str,
        action: Action,
        *,
        resource: Resource | None = None,
        query: type[ma.Schema] | None = None,
        body: type[ma.Schema] | None = None,
        status: int = 200,
        returns: type[ma.Schema] | ma.Schema | None = None,
    ) -> Callable[[F], F]:
        """``method rule``, allowed to roles granting ``action`` on ``resource`` (the
        blueprint's by default): the view gets the ``query`` or ``body`` arguments parsed,
        and answers ``status`` with ``returns`` (nothing for 204)."""
        granted = resource if resource is not None else self.resource
        if granted is None:
            raise TypeError(f"{method} {rule}: name the resource it acts on")

        def decorate(view: F) -> F:
            view = self.response(status, returns)(view)
            if body is not None:
                view = self.arguments(body)(view)
            if query is not None:
                view = self.arguments(query, location="query")(view)
            view = requires(action, granted)(view)
            return self.route(rule, methods=[method])(view)  # type: ignore[no-any-return]

        return decorate

    def patching(
        self, rule: str, *, body: type[ma.Schema], returns: type[ma.Schema]
    ) -> Callable[[F], F]:
        """``PATCH rule`` for editors, in Airflow's way: the view gets the
        :class:`UpdateMaskArgs` and the ``body``, and answers the changed object as ``returns``."""
        return self.operation(
            "PATCH", rule, Action.EDIT, query=UpdateMaskArgs, body=body, returns=returns
        )

    def listing(
        self,
        rule: str,
        key: str,
        item: type[ma.Schema],
        *,
        query: type[ma.Schema],
        resource: Resource | None = None,
    ) -> Callable[[F], F]:
        """``GET rule`` for readers: the view gets the ``query`` arguments and answers a
        page of ``item`` under ``key`` (:func:`collection`)."""
        returns = collection(key, item)
        return self.operation(
            "GET", rule, Action.READ, resource=resource, query=query, returns=returns
        )
