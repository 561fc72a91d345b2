"""What the admin pages' forms share: reading fields, and refusals shown next to a field.

The engine names the field in its message (``slots: must be 0 or more``); a refusal
that names none (``pool 'etl' exists already``) goes next to the field the form says.
A refused form is shown again with what was typed, and the request's changes are
rolled back, so that nothing changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from flask import flash, redirect, request
from werkzeug.wrappers import Response

from engine.errors import ConflictError, InvalidInputError, NotFoundError
from webui import db

FORM_ERRORS = (InvalidInputError, ConflictError, NotFoundError)
"""What a form's input may be refused with (unknown roles are NotFoundError)."""

FormErrors = dict[str, str]
"""Problems by form field."""

_FIELD_PROBLEM = re.compile(r"^([a-z_]+): (.+)$", re.DOTALL)

DESCRIPTION_LENGTH = 10_000
"""Longest description of a pool or a role (as the API accepts)."""


def refusal(exc: Exception, field: str) -> tuple[FormErrors, int]:
    """``exc`` as problems by field, and the status of the page that shows them again."""
    db.session().rollback()
    match = _FIELD_PROBLEM.match(str(exc))
    errors = {match.group(1): match.group(2)} if match else {field: str(exc)}
    return errors, 409 if isinstance(exc, ConflictError) else 422


Message = str | Callable[[], str]
"""What to say once a change is committed (a callable reads the changed values)."""

AgainPage = Callable[..., str]
"""The page a form is on, rendered again with ``errors`` and ``form`` (what was typed)."""


def saved(
    change: Callable[[], object],
    *,
    field: str | Callable[[Exception], str],
    again: AgainPage,
    done: Message,
    then: str,
) -> Response | tuple[str, int]:
    """Make a form's ``change`` and commit, then say ``done`` and go to ``then``.

    When the engine refuses the input, nothing changes and ``again`` shows the form with
    the problem next to the field its message names, else next to ``field`` (a name, or
    the name for the refusal).
    """
    try:
        change()
    except FORM_ERRORS as refused:
        blamed = field if isinstance(field, str) else field(refused)
        errors, status = refusal(refused, blamed)
        return again(errors=errors, form=request.form), status
    return _committed(done, then)


def deleted(
    remove: Callable[[], object], *, again: Callable[[], str], done: Message, then: str
) -> Response | tuple[str, int]:
    """Delete (``remove``) and commit, then say ``done`` and go to ``then``; when the engine
    refuses (the last admin, a builtin role, the default pool), show ``again`` and why."""
    try:
        remove()
    except ConflictError as refused:
        db.session().rollback()
        flash(str(refused), "error")
        return again(), 409
    return _committed(done, then)


def _committed(done: Message, then: str) -> Response:
    db.commit()
    flash(done if isinstance(done, str) else done())
    return redirect(then)


def form_context(errors: FormErrors | None, form: Mapping[str, str] | None) -> dict[str, object]:
    """What every admin form page passes its template: the problems and what was typed."""
    return {"errors": errors or {}, "form": form or {}}


def text(name: str, *, longest: int) -> str | None:
    """The form's ``name`` field, trimmed; None when blank; refused when too long."""
    value = request.form.get(name, "").strip()
    if len(value) > longest:
        raise InvalidInputError(f"{name}: must be at most {longest} characters")
    return value or None


def whole_number(name: str, *, most: int) -> int:
    """The form's ``name`` field as an integer up to ``most``; refused when it is not one."""
    value = request.form.get(name, "").strip()
    try:
        number = int(value)
    except ValueError:
        raise InvalidInputError(f"{name}: must be a whole number, not {value!r}") from None
    if number > most:
        raise InvalidInputError(f"{name}: must be at most {most}")
    return number


def words(name: str) -> list[str]:
    """The form's ``name`` field as comma-separated words (blank ones dropped)."""
    return [word.strip() for word in request.form.get(name, "").split(",") if word.strip()]
