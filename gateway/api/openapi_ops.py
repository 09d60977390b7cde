"""One operation of the OpenAPI document: what `gateway.api.openapi` renders per route."""

from __future__ import annotations

import dataclasses

import pydantic

Model = type[pydantic.BaseModel]


@dataclasses.dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    ok: dict[int, tuple[str, Model]]
    errors: tuple[int, ...] = ()
    body: Model | None = None
    query: Model | None = None
    headers: tuple[str, ...] = ()
