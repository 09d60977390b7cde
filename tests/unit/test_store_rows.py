"""gateway.store.rows: a frozen dataclass built from a row's columns by field name."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from gateway.store import rows, webhooks


@dataclasses.dataclass(frozen=True, slots=True)
class _Pair:
    a: int
    b: str | None = None


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"a": 1, "b": "x"}, _Pair(1, "x")),
        ({"a": 1}, _Pair(1)),  # a column the query does not select takes the default
        ({"a": 1, "b": "x", "extra": 2}, _Pair(1, "x")),  # other columns are not read
        ({"b": "x", "a": 2}, _Pair(2, "x")),  # by name, not by position
    ],
)
def test_build_reads_fields_by_name(row: dict[str, Any], expected: _Pair) -> None:
    assert rows.build(_Pair, row) == expected


def test_a_missing_field_without_default_is_an_error() -> None:
    with pytest.raises(TypeError):
        rows.build(_Pair, {"b": "x"})


def test_values_name_fields_the_row_does_not_hold() -> None:
    assert rows.build(_Pair, {"a": 1}, b="nested") == _Pair(1, "nested")
    assert rows.build(_Pair, {"a": 1, "b": "column"}, b="given") == _Pair(1, "given")


def test_build_all_keeps_the_order() -> None:
    assert rows.build_all(_Pair, [{"a": 2}, {"a": 1}]) == [_Pair(2), _Pair(1)]


def test_the_values_are_frozen() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    row = {
        "id": "ep_1",
        "url": "https://hooks.example/in",
        "description": None,
        "event_types": None,
        "disabled": False,
        "disabled_reason": None,
        "rate_limit": None,
        "mode": "deliver",
        "previous_expires_at": None,
        "failing_since": None,
        "created_at": now,
        "updated_at": now,
    }
    endpoint = rows.build(webhooks.Endpoint, row)
    assert endpoint.secret == ""  # the list does not read it
    with pytest.raises(dataclasses.FrozenInstanceError):
        endpoint.url = "https://elsewhere.example/"  # type: ignore[misc]
    assert not hasattr(endpoint, "__dict__")  # slots
