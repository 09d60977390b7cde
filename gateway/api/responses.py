"""Answers of the /api/v1 routes: models to JSON, and store/domain errors to API errors (the
one place where that mapping lives)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pydantic
from aiohttp import web

from gateway.api import errors
from gateway.domain import kinds
from gateway.store import errors as store_errors


def ok(model: pydantic.BaseModel, status: int = 200) -> web.Response:
    return web.json_response(model.model_dump(mode="json"), status=status)


@contextlib.contextmanager
def mapped_errors() -> Iterator[None]:
    """Store and domain exceptions inside the block become ApiErrors with the SPEC codes."""
    try:
        yield
    except store_errors.NotFound as exc:
        raise errors.ApiError("not_found", str(exc)) from None
    except store_errors.AccountExists as exc:
        raise errors.ApiError("conflict", str(exc), {"field": exc.field}) from None
    except store_errors.IdempotencyConflict as exc:
        raise errors.ApiError("idempotency_conflict", str(exc)) from None
    except store_errors.InvalidState as exc:
        raise errors.ApiError("conflict", str(exc)) from None
    except store_errors.PermanentQrLimit as exc:
        raise errors.ApiError("qr_permanent_limit_reached", str(exc)) from None
    except kinds.DowngradeNotAllowed as exc:
        raise errors.ApiError("downgrade_not_allowed", str(exc)) from None
