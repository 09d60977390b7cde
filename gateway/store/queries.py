"""Loads the named SQL queries under gateway/store/queries/*.sql once.

Each query sits under a `-- name: query_name` header line; the lines after it up to the next
header are its text. Queries are parameterized ($1, $2, ...), never formatted, so they are
handed out as `LiteralString`: the SQL is the files' own text, never built from input.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import LiteralString

_HEADER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
# Any line that starts like a header: one that is not a well-formed header is refused rather
# than read as a comment, which would glue its query onto the one before it.
_HEADERISH = re.compile(r"^--\s*name:.*$", re.MULTILINE)


def parse(text: str) -> dict[str, LiteralString]:
    """Split one file's text into {name: sql}; text before the first header is dropped."""
    for line in _HEADERISH.finditer(text):
        if not _HEADER.fullmatch(line.group(0)):
            raise ValueError(f"malformed query header {line.group(0)!r}")
    found: dict[str, LiteralString] = {}
    matches = list(_HEADER.finditer(text))
    ends = [match.start() for match in matches[1:]] + [len(text)] * bool(matches)
    for match, end in zip(matches, ends, strict=True):
        if match.group(1) in found:
            raise ValueError(f"query {match.group(1)!r} defined twice")
        # mypy reads LiteralString as str; the text is the file's own, never input.
        sql: LiteralString = text[match.end() : end].strip()
        found[match.group(1)] = sql
    return found


@functools.cache
def _all() -> dict[str, LiteralString]:
    queries: dict[str, LiteralString] = {}
    folder = resources.files("gateway.store") / "queries"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        for name, sql in parse(entry.read_text(encoding="utf-8")).items():
            if name in queries:
                raise ValueError(f"query {name!r} defined twice ({entry.name})")
            queries[name] = sql
    return queries


def get(name: str) -> LiteralString:
    """The SQL text of a named query."""
    return _all()[name]


def names() -> list[str]:
    """Every query name the files define, sorted."""
    return sorted(_all())
