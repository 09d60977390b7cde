"""The named-query parser (gateway.store.queries): headers, bodies, comments, duplicates and
malformed headers, on text alone; and every shipped file loads."""

from __future__ import annotations

import pytest

from gateway.store import queries


def test_each_header_names_the_text_up_to_the_next() -> None:
    text = "-- name: first_query\nSELECT 1;\n\n--   name:   second_query   \nSELECT $1\nFROM t;\n"
    assert queries.parse(text) == {"first_query": "SELECT 1;", "second_query": "SELECT $1\nFROM t;"}


def test_comments_stay_in_the_query_and_text_before_the_first_header_is_dropped() -> None:
    text = (
        "-- A file comment, before any header.\n"
        "-- name: with_comment\n"
        "-- What the query does.\n"
        "SELECT 2; -- trailing\n"
    )
    assert queries.parse(text) == {"with_comment": "-- What the query does.\nSELECT 2; -- trailing"}


def test_a_file_without_headers_has_no_queries() -> None:
    assert queries.parse("-- just a comment\nSELECT 1;\n") == {}
    assert queries.parse("") == {}


def test_a_name_defined_twice_in_a_file_is_refused() -> None:
    with pytest.raises(ValueError, match="'twice' defined twice"):
        queries.parse("-- name: twice\nSELECT 1;\n-- name: twice\nSELECT 2;\n")


@pytest.mark.parametrize(
    "header",
    [
        "-- name: Upper_Case",
        "-- name: has-dash",
        "-- name: 9starts_with_digit",
        "-- name:",
        "-- name: two words",
        "--name:missing_space_is_fine_but this_is_not",
    ],
)
def test_a_malformed_header_is_refused(header: str) -> None:
    # Read as a comment it would silently glue its query onto the previous one.
    with pytest.raises(ValueError, match="malformed query header"):
        queries.parse(f"-- name: before\nSELECT 1;\n{header}\nSELECT 2;\n")


def test_a_header_needs_no_space_after_the_dashes() -> None:
    assert queries.parse("--name:tight\nSELECT 3;") == {"tight": "SELECT 3;"}


def test_every_shipped_query_loads_and_is_not_empty() -> None:
    names = queries.names()
    assert "api_account_exists" in names
    for name in names:
        assert queries.get(name).strip(), name
