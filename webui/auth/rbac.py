"""Every API operation declares what it needs, and the declaration is enforced and documented.

* ``@requires(Action.READ, Resource.DAGS)``: a valid access token whose user's roles grant
  that permission (403 otherwise); the permission becomes the operation's
  ``x-permission`` in the OpenAPI document (``read:dags``).
* ``@authenticated``: any signed-in user (``x-permission: authenticated``).
* ``@refresh_token_required``: a valid refresh token (``x-permission: refresh``).
* ``@public``: no token (``x-permission: public``).

Put the decorator right under ``@blp.route`` (as :meth:`webui.api.blueprint.Blueprint.operation`
does) so that the token is checked before the input: a request without a token gets 401,
whatever its body. :func:`declared_permission` reads the declaration back; the app refuses
to start if an API view has none.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from copy import deepcopy
from typing import Any, TypeVar, cast

from flask import g
from flask_jwt_extended import current_user, verify_jwt_in_request
from werkzeug.exceptions import Forbidden

from engine.security.access import Access, access_of
from engine.security.roles import Action, Resource

F = TypeVar("F", bound=Callable[..., Any])

ATTRIBUTE = "__loom_permission__"
PUBLIC = "public"
AUTHENTICATED = "authenticated"
REFRESH = "refresh"

_BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
_AUTH_RESPONSES = {401: "UNAUTHORIZED"}


def requires(action: Action, resource: Resource) -> Callable[[F], F]:
    """Allow the view only to users whose roles grant ``action`` on ``resource``."""
    name = f"{action.value}:{resource.value}"

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            access = _signed_in_access()
            if not access.allows(action, resource):
                raise Forbidden(f"your roles do not allow {action.value} on {resource.value}")
            g.loom_permission = (action, resource)
            return view(*args, **kwargs)

        return _declare(cast(F, wrapper), name, {**_AUTH_RESPONSES, 403: "FORBIDDEN"})

    return decorate


def authenticated(view: F) -> F:
    """Allow the view to any signed-in user."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _signed_in_access()
        return view(*args, **kwargs)

    return _declare(cast(F, wrapper), AUTHENTICATED, _AUTH_RESPONSES)


def refresh_token_required(view: F) -> F:
    """Allow the view to the bearer of a valid refresh token."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verify_jwt_in_request(refresh=True)
        return view(*args, **kwargs)

    return _declare(cast(F, wrapper), REFRESH, _AUTH_RESPONSES)


def public(view: F) -> F:
    """Allow the view to anyone, without a token."""
    return _declare(view, PUBLIC, {}, security=[])


def declared_permission(view: Callable[..., Any]) -> str | None:
    """The permission ``view`` declared with one of the decorators above, or None."""
    return getattr(view, ATTRIBUTE, None)


def current_access() -> Access:
    """The signed-in user's access (only inside a view guarded by one of the decorators)."""
    return cast(Access, g.loom_access)


def _signed_in_access() -> Access:
    verify_jwt_in_request()
    if "loom_access" not in g:
        g.loom_user = current_user
        g.loom_access = g.get("loom_token_access") or access_of(current_user.roles)
    return cast(Access, g.loom_access)


def _declare(view: F, permission: str, responses: dict[int, str], security: Any = None) -> F:
    """Record ``permission`` on ``view`` and in its OpenAPI operation (flask-smorest's
    ``_apidoc`` is copied, not shared, so the wrapped view's document stays as it was)."""
    setattr(view, ATTRIBUTE, permission)
    apidoc = deepcopy(getattr(view, "_apidoc", {}))
    manual = apidoc.setdefault("manual_doc", {})
    manual["x-permission"] = permission
    manual["security"] = _BEARER if security is None else security
    manual.setdefault("responses", {}).update(responses)
    view._apidoc = apidoc  # type: ignore[attr-defined]
    return view
