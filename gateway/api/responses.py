"""Answers of the /api/v1 routes: models to JSON. Errors are gateway/api/errors.py's: the
middleware maps store and domain errors to the error shape by class."""

from __future__ import annotations

import pydantic
from aiohttp import web


def ok(model: pydantic.BaseModel, status: int = 200) -> web.Response:
    return web.json_response(model.model_dump(mode="json"), status=status)
