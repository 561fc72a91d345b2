"""The ``.map()``, ``.zip()`` and ``.concat()`` transforms of an XCom: what a mapped task
expands over when it is not one task's value as it is. Each is resolved lazily in the
instance that reads it; the scheduler sees only its serialized form (see
:mod:`engine.authoring.expansion`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.authoring.taskflow import NOTSET, RETURN_VALUE, XComArg, find_xcom_args


class MapXComArg(XComArg):
    """``xcom.map(fn)``: the upstream value with ``fn`` applied to each element, lazily."""

    def __init__(self, base: XComArg, functions: tuple[Callable[[Any], Any], ...]) -> None:
        super().__init__(base.operator, base.key, base.path)
        self.base = base
        self.functions = functions

    def map(self, fn: Callable[[Any], Any]) -> MapXComArg:
        _check_map_function(fn)
        return MapXComArg(self.base, (*self.functions, fn))

    def resolve(self, context: Mapping[str, Any]) -> Any:
        return _MappedValues(as_sequence(self.base.resolve(context)), self.functions)

    def serialize(self) -> dict[str, Any]:
        names = [getattr(f, "__qualname__", repr(f)) for f in self.functions]
        return {**self.base.serialize(), "map": names}


class ZipXComArg(XComArg):
    """``xcom.zip(other, ..., fillvalue=...)``: tuples of the inputs' elements."""

    def __init__(self, args: tuple[Any, ...], fillvalue: Any) -> None:
        first = next(a for a in args if isinstance(a, XComArg))
        super().__init__(first.operator, first.key, first.path)
        self.args = args
        self.fillvalue = fillvalue

    def references(self) -> list[XComArg]:
        return [ref for arg in self.args for ref in find_xcom_args(arg)]

    def resolve(self, context: Mapping[str, Any]) -> Any:
        values = [as_sequence(resolved(arg, context)) for arg in self.args]
        if self.fillvalue is NOTSET:
            return list(zip(*values, strict=False))
        return list(itertools.zip_longest(*values, fillvalue=self.fillvalue))

    def serialize(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"zip": [serialize_source(arg) for arg in self.args]}
        if self.fillvalue is not NOTSET:
            spec["fillvalue"] = self.fillvalue
        return spec


class ConcatXComArg(XComArg):
    """``xcom.concat(other, ...)``: the inputs' elements one input after the other, read
    lazily (a dict contributes its ``(key, value)`` pairs, as when mapping over it)."""

    def __init__(self, args: tuple[XComArg, ...]) -> None:
        super().__init__(args[0].operator, args[0].key, args[0].path)
        self.args = args

    def references(self) -> list[XComArg]:
        return [ref for arg in self.args for ref in arg.references()]

    def concat(self, *others: Any) -> XComArg:
        return concat_xcoms(self, others)

    def resolve(self, context: Mapping[str, Any]) -> Any:
        return _ConcatValues([_concat_input(arg.resolve(context)) for arg in self.args])

    def serialize(self) -> dict[str, Any]:
        return {"concat": [arg.serialize() for arg in self.args]}


def concat_xcoms(arg: XComArg, others: tuple[Any, ...]) -> ConcatXComArg:
    """Airflow's ``XComArg.concat``: every input is a task's return value (or a transform
    of one), checked when the DAG file is parsed."""
    for item in (arg, *others):
        if not isinstance(item, XComArg):
            raise TypeError(f"concat() argument must be an XComArg, not {type(item).__name__}")
        if not isinstance(item, MapXComArg | ZipXComArg | ConcatXComArg):
            check_return_value(item, "concatenate")
    if isinstance(arg, ConcatXComArg):
        return ConcatXComArg((*arg.args, *others))
    return ConcatXComArg((arg, *others))


def _concat_input(value: Any) -> Sequence[Any]:
    if isinstance(value, dict) or (
        isinstance(value, Sequence) and not isinstance(value, str | bytes)
    ):
        return as_sequence(value)
    raise ValueError(f"XCom concat expects a sequence or a dict, not {type(value).__name__}")


class _ConcatValues(Sequence[Any]):
    """The inputs of ``.concat()`` read as one sequence, without copying them."""

    def __init__(self, parts: list[Sequence[Any]]) -> None:
        self.parts = parts

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(index)
        for part in self.parts:
            if position < len(part):
                return part[position]
            position -= len(part)
        raise IndexError(index)  # unreachable: the bounds were checked


def map_xcom(arg: XComArg, fn: Callable[[Any], Any]) -> MapXComArg:
    check_return_value(arg, "map against")
    _check_map_function(fn)
    return MapXComArg(arg, (fn,))


def zip_xcoms(arg: XComArg, others: tuple[Any, ...], fillvalue: Any) -> ZipXComArg:
    if not others:
        raise ValueError("zip() requires at least one argument")
    for item in (arg, *others):
        if isinstance(item, XComArg):
            check_return_value(item, "zip")
        else:
            check_mappable_type(item, what="zip() argument", name=None)
    return ZipXComArg((arg, *others), fillvalue)


def check_expanded_xcom(value: Any) -> None:
    """An XCom a mapped task expands over must be a task's return value as a whole (a
    transform checks its own inputs)."""
    if isinstance(value, XComArg) and not isinstance(value, ZipXComArg | ConcatXComArg):
        check_return_value(value, "map over")


def check_return_value(arg: XComArg, verb: str) -> None:
    if arg.key != RETURN_VALUE or arg.path:
        raise ValueError(f"cannot {verb} non-return XCom of task {arg.operator.task_id!r}")


def _check_map_function(fn: Any) -> None:
    from engine.authoring.taskflow import _DecoratedTask

    if isinstance(fn, _DecoratedTask):
        raise ValueError("map() argument must be a plain function, not a @task operator")
    if not callable(fn):
        raise TypeError(f"map() argument must be callable, got {fn!r}")


class _MappedValues(Sequence[Any]):
    """A sequence whose elements are computed when read (``.map()``'s result)."""

    def __init__(self, values: Sequence[Any], functions: tuple[Callable[[Any], Any], ...]):
        self.values = values
        self.functions = functions

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        value = self.values[index]
        for fn in self.functions:
            value = fn(value)
        return value


def as_sequence(value: Any) -> Sequence[Any]:
    """What mapping iterates over: a dict's ``(key, value)`` pairs, or the sequence itself."""
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return value
    raise TypeError(f"cannot map over a value of type {type(value).__name__!r}")


def resolved(value: Any, context: Mapping[str, Any]) -> Any:
    return value.resolve(context) if isinstance(value, XComArg) else value


def check_mappable_type(value: Any, *, what: str, name: str | None) -> None:
    if isinstance(value, XComArg | dict):
        return
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return
    where = "" if name is None else f" for keyword argument {name}"
    raise ValueError(f"{what} got an unexpected type {type(value).__name__!r}{where}")


def serialize_source(value: Any) -> dict[str, Any]:
    """One expanded value as the scheduler sees it: a literal, or an XCom reference."""
    from engine.authoring.serialization import to_jsonable

    if isinstance(value, XComArg):
        return value.serialize()
    return {"literal": to_jsonable(value)}
