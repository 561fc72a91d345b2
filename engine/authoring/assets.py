"""Assets: named data a task updates (``outlets``) and DAGs are scheduled on.

Airflow 3's names and rules: an :class:`Asset` has a ``name`` and a ``uri`` (give either,
the other defaults to it), a ``group`` (``"asset"``) and ``extra``; an :class:`AssetAlias`
stands for assets a task names only at run time. ``a | b`` (:class:`AssetAny`) and
``a & b`` (:class:`AssetAll`) build conditions; ``schedule=[a, b]`` means all of them.

A condition is written as JSON (:meth:`BaseAsset.serialize`, read back by
:func:`deserialize_asset`) so that the scheduler evaluates it without the DAG file.
"""

from __future__ import annotations

import urllib.parse
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from engine.errors import InvalidInputError

MAX_IDENTIFIER = 1500
"""Longest name, URI or group (Airflow's limit)."""

RESERVED_SCHEMES = frozenset({"airflow"})
"""URI schemes a DAG may not use (Airflow reserves its own)."""

AssetKey = tuple[str, str]
"""How the database tells assets apart: ``(name, uri)``."""


def _identifier(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"asset {what} must be a string, got {value!r}")
    if not value.strip():
        raise InvalidInputError(f"asset {what} must not be empty or whitespace")
    if len(value) > MAX_IDENTIFIER:
        raise InvalidInputError(f"asset {what} is longer than {MAX_IDENTIFIER} characters")
    if not value.isascii():
        raise InvalidInputError(f"asset {what} must only consist of ASCII characters: {value!r}")
    return value


def normalize_uri(value: Any) -> str:
    """A URI as Airflow keeps it: text without a scheme as given; with one, the scheme in
    lower case (``airflow`` refused), user info dropped (with a warning), the query sorted,
    the fragment and a trailing ``/`` removed."""
    uri = _identifier(value, "uri").strip()
    parts = urllib.parse.urlsplit(uri)
    if not parts.scheme and not parts.netloc:
        return uri  # not a URI: a plain identifier
    scheme = parts.scheme.lower()
    if scheme.startswith("x-"):
        return uri  # experimental schemes are the author's business
    if scheme in RESERVED_SCHEMES:
        raise InvalidInputError(f"asset uri {uri!r}: the scheme {scheme!r} is reserved")
    _, at, netloc = parts.netloc.rpartition("@")
    if at:
        warnings.warn(
            f"asset uri {uri!r}: user info (a login or password) does not belong in an "
            "asset's URI and is dropped",
            UserWarning,
            stacklevel=3,
        )
    query = urllib.parse.urlencode(sorted(urllib.parse.parse_qsl(parts.query)))
    path = parts.path.rstrip("/") or "/"
    return urllib.parse.urlunsplit((scheme, netloc, path, query, ""))


def _extra(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidInputError(f"asset extra must be a dict with string keys, got {value!r}")
    return dict(value)


def _no_unknown(kind: str, unknown: Mapping[str, Any]) -> None:
    if unknown:
        names = ", ".join(repr(name) for name in sorted(unknown))
        raise InvalidInputError(f"unknown argument(s) {names} to {kind}")


class BaseAsset:
    """What a schedule may be: an asset, an alias, or a condition over them."""

    def __or__(self, other: BaseAsset) -> AssetAny:
        _check_operand(other, "|")
        return AssetAny(*_flat(AssetAny, self), *_flat(AssetAny, other))

    def __and__(self, other: BaseAsset) -> AssetAll:
        _check_operand(other, "&")
        return AssetAll(*_flat(AssetAll, self), *_flat(AssetAll, other))

    def serialize(self) -> dict[str, Any]:
        raise NotImplementedError

    def evaluate(self, is_queued: Callable[[BaseAsset], bool]) -> bool:
        """Whether the condition holds when ``is_queued`` says which assets (and aliases)
        have an event the DAG has not consumed yet."""
        return is_queued(self)

    def iter_assets(self) -> Iterator[Asset]:
        return iter(())

    def iter_aliases(self) -> Iterator[AssetAlias]:
        return iter(())


def _check_operand(other: object, operator: str) -> None:
    if not isinstance(other, BaseAsset):
        raise InvalidInputError(
            f"{operator!r} combines assets, aliases and conditions, not {type(other).__name__}"
        )


def _flat(kind: type[_Condition], item: BaseAsset) -> tuple[BaseAsset, ...]:
    """``a | b | c`` is one AssetAny of three, not nested ones."""
    return item.objects if type(item) is kind else (item,)


class Asset(BaseAsset):
    """A piece of data, known by ``name`` and ``uri``."""

    def __init__(
        self,
        name: str | None = None,
        uri: str | None = None,
        *,
        group: str = "asset",
        extra: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        _no_unknown("Asset", unknown)
        if name is None and uri is None:
            raise InvalidInputError("an Asset needs a name or a uri")
        self.name = _identifier(name if name is not None else uri, "name")
        self.uri = normalize_uri(uri if uri is not None else name)
        self.group = _identifier(group, "group")
        self.extra = _extra(extra)

    @property
    def key(self) -> AssetKey:
        return (self.name, self.uri)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Asset) and self.key == other.key

    def __hash__(self) -> int:
        return hash(("asset", *self.key))

    def __repr__(self) -> str:
        if self.name == self.uri:
            return f"Asset({self.name!r})"
        return f"Asset(name={self.name!r}, uri={self.uri!r})"

    def serialize(self) -> dict[str, Any]:
        return {
            "__type": "asset",
            "name": self.name,
            "uri": self.uri,
            "group": self.group,
            "extra": self.extra,
        }

    def iter_assets(self) -> Iterator[Asset]:
        yield self


class AssetAlias(BaseAsset):
    """Stands for the assets a task adds events for at run time
    (``outlet_events[alias].add(Asset(...))``)."""

    def __init__(self, name: str, *, group: str = "asset", **unknown: Any) -> None:
        _no_unknown("AssetAlias", unknown)
        self.name = _identifier(name, "alias name")
        self.group = _identifier(group, "group")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetAlias) and self.name == other.name

    def __hash__(self) -> int:
        return hash(("alias", self.name))

    def __repr__(self) -> str:
        return f"AssetAlias({self.name!r})"

    def serialize(self) -> dict[str, Any]:
        return {"__type": "asset_alias", "name": self.name, "group": self.group}

    def iter_aliases(self) -> Iterator[AssetAlias]:
        yield self


class Metadata:
    """What a task function ``yield``s to set an outlet event's ``extra`` (or, with
    ``alias=``, to add an event for ``asset`` through that alias), as in Airflow 3."""

    def __init__(
        self, asset: Asset, extra: Mapping[str, Any], alias: AssetAlias | None = None
    ) -> None:
        if not isinstance(asset, Asset):
            raise InvalidInputError(f"Metadata takes an Asset, got {asset!r}")
        if alias is not None and not isinstance(alias, AssetAlias):
            raise InvalidInputError(f"Metadata's alias must be an AssetAlias, got {alias!r}")
        self.asset, self.extra, self.alias = asset, _extra(extra), alias

    def __repr__(self) -> str:
        return f"Metadata({self.asset!r}, {self.extra!r}, alias={self.alias!r})"


class _Condition(BaseAsset):
    type_name = ""

    def __init__(self, *objects: BaseAsset) -> None:
        if not objects:
            raise InvalidInputError(f"{type(self).__name__} needs at least one asset")
        for item in objects:
            _check_operand(item, type(self).__name__)
        self.objects: tuple[BaseAsset, ...] = tuple(objects)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.objects == other.objects

    def __hash__(self) -> int:
        return hash((self.type_name, self.objects))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.objects))})"

    def serialize(self) -> dict[str, Any]:
        return {"__type": self.type_name, "objects": [o.serialize() for o in self.objects]}

    def iter_assets(self) -> Iterator[Asset]:
        for item in self.objects:
            yield from item.iter_assets()

    def iter_aliases(self) -> Iterator[AssetAlias]:
        for item in self.objects:
            yield from item.iter_aliases()


class AssetAny(_Condition):
    """Holds when any of its parts does (``a | b``)."""

    type_name = "asset_any"

    def evaluate(self, is_queued: Callable[[BaseAsset], bool]) -> bool:
        return any(item.evaluate(is_queued) for item in self.objects)


class AssetAll(_Condition):
    """Holds when all of its parts do (``a & b``, and ``schedule=[a, b]``)."""

    type_name = "asset_all"

    def evaluate(self, is_queued: Callable[[BaseAsset], bool]) -> bool:
        return all(item.evaluate(is_queued) for item in self.objects)


def as_condition(value: Any) -> BaseAsset | None:
    """A ``schedule`` value as an asset condition: an asset, alias or condition as it is, a
    list of them as "all of them"; None when ``value`` is no asset schedule."""
    if isinstance(value, BaseAsset):
        return value
    if isinstance(value, list | tuple) and value and all(isinstance(v, BaseAsset) for v in value):
        return AssetAll(*value)
    if isinstance(value, list | tuple) and any(isinstance(v, BaseAsset) for v in value):
        raise InvalidInputError(
            f"a schedule list must hold only assets, aliases or conditions, got {value!r}"
        )
    return None


def describe(condition: BaseAsset) -> str:
    """A condition in words for people: ``orders & (rates | AssetAlias(fx))``."""
    if isinstance(condition, Asset):
        return condition.name
    if isinstance(condition, AssetAlias):
        return f"AssetAlias({condition.name})"
    assert isinstance(condition, _Condition)
    joiner = " | " if isinstance(condition, AssetAny) else " & "
    parts = [
        f"({describe(o)})" if isinstance(o, _Condition) else describe(o) for o in condition.objects
    ]
    return joiner.join(parts)


def deserialize_asset(data: Mapping[str, Any]) -> BaseAsset:
    """Inverse of :meth:`BaseAsset.serialize`."""
    kind = data.get("__type")
    if kind == "asset":
        return Asset(data["name"], data["uri"], group=data["group"], extra=data["extra"])
    if kind == "asset_alias":
        return AssetAlias(data["name"], group=data["group"])
    if kind == "asset_any":
        return AssetAny(*(deserialize_asset(o) for o in data["objects"]))
    if kind == "asset_all":
        return AssetAll(*(deserialize_asset(o) for o in data["objects"]))
    raise InvalidInputError(f"unknown serialized asset type {kind!r}")


def as_outlets(name: str, value: Any, problems: list[str]) -> list[BaseAsset]:
    """A task's ``outlets`` / ``inlets``: one asset or alias, or a list of them."""
    if value is None:
        return []
    items = list(value) if isinstance(value, list | tuple | set) else [value]
    wrong = [item for item in items if not isinstance(item, Asset | AssetAlias)]
    if wrong:
        problems.append(f"{name} must be Assets or AssetAliases, got {wrong!r}")
    return [item for item in items if isinstance(item, Asset | AssetAlias)]


def dump_outlets(items: Iterable[BaseAsset]) -> list[dict[str, Any]]:
    return [item.serialize() for item in items]


def load_outlets(data: Iterable[Mapping[str, Any]]) -> tuple[BaseAsset, ...]:
    return tuple(deserialize_asset(item) for item in data)
