"""Loads the named SQL queries under gateway/store/queries/*.sql once.

Each query sits under a `-- name: query_name` header line; the lines after it up to the next
header are its text. Queries are parameterized ($1, $2, ...), never formatted.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

_HEADER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def parse(text: str) -> dict[str, str]:
    """Split one file's text into {name: sql}."""
    found: dict[str, str] = {}
    matches = list(_HEADER.finditer(text))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = text[match.end() : end].strip()
        if match.group(1) in found:
            raise ValueError(f"query {match.group(1)!r} defined twice")
        found[match.group(1)] = body
    return found


@functools.cache
def _all() -> dict[str, str]:
    queries: dict[str, str] = {}
    folder = resources.files("gateway.store") / "queries"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        for name, sql in parse(entry.read_text(encoding="utf-8")).items():
            if name in queries:
                raise ValueError(f"query {name!r} defined twice ({entry.name})")
            queries[name] = sql
    return queries


def get(name: str) -> str:
    """The SQL text of a named query."""
    return _all()[name]
