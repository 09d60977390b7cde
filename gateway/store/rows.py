"""Building the store's frozen values from rows: a dataclass's fields are read by name from
the row's columns, so no caller of the store sees an asyncpg.Record."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")
Row = asyncpg.Record | Mapping[str, Any]

_NAMES: dict[type[Any], tuple[str, ...]] = {}


def build(cls: type[T], row: Row, **values: Any) -> T:
    """`cls` (a dataclass) from the columns of the same names; a field the query does not
    select takes its default (a missing field without one is a TypeError). `values` name
    fields the row does not hold (nested values read apart); they win over a column."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    found = {name: row[name] for name in names if name in row and name not in values}
    return cls(**found, **values)


def build_all(cls: type[T], rows: Iterable[Row]) -> list[T]:
    return [build(cls, row) for row in rows]
