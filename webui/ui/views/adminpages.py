"""The five pages every admin object has (pools, roles, users, variables, connections).

The list with its create form, one object's page with its edit form, and the create,
edit and delete actions, registered as ``ui.<noun>s``, ``ui.<noun>``,
``ui.create_<noun>``, ``ui.edit_<noun>`` and ``ui.delete_<noun>``, each guarded by its
permission on the object's resource. An object's subclass says only what differs: how
to find, create, change and delete one, which field a refusal goes next to, and its
pages::

    class PoolPages(AdminPages[Pool], noun="pool", key="name", resource=Resource.POOLS):
        ...

    PoolPages().register(bp)
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

from flask import Blueprint, request, url_for
from werkzeug.wrappers import Response

from engine.security.roles import Action, Resource
from engine.services.userinput import loads_json
from webui.ui.session import page
from webui.ui.views.admin import FormErrors, deleted, saved

Row = TypeVar("Row")

FormResult = Response | tuple[str, int]


class AdminPages(ABC, Generic[Row]):
    noun: ClassVar[str]
    """One object, as messages and endpoints say it (``pool``; the list is ``pools``)."""
    key: ClassVar[str]
    """The URL part naming one object, and the create form's field for it."""
    resource: ClassVar[Resource]
    edit_field: ClassVar[str]
    """Where a refused edit goes when the engine's message names no field."""
    deleted_note: ClassVar[str] = ""
    """Said after ``<noun> <key> deleted`` (what follows from it)."""
    stays: ClassVar[bool] = False
    """After an edit, and after a refused delete, the object's own page (not the list)."""
    opens_created: ClassVar[bool] = False
    """After creating, the new object's page (not the list)."""

    def __init_subclass__(cls, *, noun: str, key: str, resource: Resource) -> None:
        super().__init_subclass__()
        cls.noun, cls.key, cls.resource = noun, key, resource

    @abstractmethod
    def list_page(
        self, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
    ) -> str:
        """The list with its create form (``errors`` and what was typed, when refused)."""

    @abstractmethod
    def item_page(
        self, found: Row, errors: FormErrors | None = None, form: Mapping[str, str] | None = None
    ) -> str:
        """One object's page with its edit form."""

    @abstractmethod
    def find(self, key: str) -> Row:
        """The object named so (NotFoundError when there is none: a 404 page)."""

    @abstractmethod
    def create(self, key: str) -> None:
        """Create the object the form describes: flushed, not committed."""

    @abstractmethod
    def update(self, found: Row) -> None:
        """Apply the edit form to ``found``: flushed, not committed."""

    @abstractmethod
    def delete(self, found: Row) -> None: ...

    def create_field(self, refused: Exception) -> str:
        """Where a refused create goes when the engine's message names no field."""
        return self.key

    def saved_note(self, found: Row) -> str:
        """Said after ``<noun> <key> saved`` (the changed values)."""
        return ""

    def imported(self, load: Callable[[object], int]) -> FormResult:
        """Load the pasted export file (the form's ``file``, JSON) with ``load``, which
        returns how many objects it set; then say so and go to the list."""
        counted: list[int] = []

        def parse_and_load() -> None:
            counted.append(load(loads_json(request.form.get("file", ""), field="file")))

        return saved(
            parse_and_load,
            field="file",
            again=self.list_page,
            done=lambda: f"{counted[0]} {self.noun}s imported",
            then=self._list_url(),
        )

    def register(self, blueprint: Blueprint) -> None:
        base = f"/{self.noun}s"
        item = f"{base}/<{self.key}>"
        rules: list[tuple[str, str, str, Action, Callable[..., str | FormResult]]] = [
            (base, f"{self.noun}s", "GET", Action.READ, self._list),
            (base, f"create_{self.noun}", "POST", Action.CREATE, self._create),
            (item, self.noun, "GET", Action.READ, self._show),
            (item, f"edit_{self.noun}", "POST", Action.EDIT, self._edit),
            (f"{item}/delete", f"delete_{self.noun}", "POST", Action.DELETE, self._delete),
        ]
        for rule, endpoint, method, action, view in rules:
            guarded = page(action, self.resource)(view)
            blueprint.add_url_rule(rule, endpoint, guarded, methods=[method])

    def _list(self) -> str:
        return self.list_page()

    def _show(self, **named: str) -> str:
        return self.item_page(self._named(named)[1])

    def _create(self) -> FormResult:
        key = request.form.get(self.key, "").strip()
        return saved(
            functools.partial(self.create, key),
            field=self.create_field,
            again=self.list_page,
            done=f"{self.noun} {key} created",
            then=self._item_url(key) if self.opens_created else self._list_url(),
        )

    def _edit(self, **named: str) -> FormResult:
        key, found = self._named(named)
        return saved(
            functools.partial(self.update, found),
            field=self.edit_field,
            again=functools.partial(self.item_page, found),
            done=lambda: f"{self.noun} {key} saved{self.saved_note(found)}",
            then=self._item_url(key) if self.stays else self._list_url(),
        )

    def _delete(self, **named: str) -> FormResult:
        key, found = self._named(named)
        return deleted(
            functools.partial(self.delete, found),
            again=functools.partial(self.item_page, found) if self.stays else self.list_page,
            done=f"{self.noun} {key} deleted{self.deleted_note}",
            then=self._list_url(),
        )

    def _named(self, named: dict[str, str]) -> tuple[str, Row]:
        """The key the URL names, and the object (a 404 when there is none)."""
        key = named[self.key]
        return key, self.find(key)

    def _item_url(self, key: str) -> str:
        values: dict[str, Any] = {self.key: key}
        return url_for(f"ui.{self.noun}", **values)

    def _list_url(self) -> str:
        return url_for(f"ui.{self.noun}s")
