"""Pydantic models shared by every /api/v1 route: bases, the error shape, pages, instants.

Request bodies are validated strictly (no coercion: `"1"` is not an integer, `1` is not
`true`) and forbid unknown fields; the OpenAPI document is generated from these models.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pydantic

MIN_YEAR = 1970
MAX_YEAR = 2100


class Request(pydantic.BaseModel):
    """A JSON request body: unknown fields are a 422."""

    model_config = pydantic.ConfigDict(extra="forbid")


class Query(pydantic.BaseModel):
    """A query string: unknown parameters are a 422 (a typo never silently widens a list)."""

    model_config = pydantic.ConfigDict(extra="forbid")


class Resource(pydantic.BaseModel):
    """A response body; its schema is closed so drift shows up in the schema checks."""

    model_config = pydantic.ConfigDict(extra="forbid")


def _sane_year(value: dt.datetime) -> dt.datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"year must be between {MIN_YEAR} and {MAX_YEAR}")
    return value.astimezone(dt.UTC)


# RFC 3339 with an offset; naive times are refused, absurd years too.
Instant = Annotated[pydantic.AwareDatetime, pydantic.AfterValidator(_sane_year)]


class ErrorDetail(Resource):
    code: str
    message: str
    details: Any = None


class ErrorResponse(Resource):
    """The one error shape of the API."""

    error: ErrorDetail


class PageQuery(Query):
    limit: int = pydantic.Field(default=50, ge=1, le=500, description="page size, 1 to 500")
    cursor: str | None = pydantic.Field(
        default=None,
        max_length=512,
        description="the `next_cursor` of the previous page (opaque)",
    )
