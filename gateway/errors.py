"""The product's one error root: every error wxgate raises on purpose is a WxgateError.

A class's docstring is its default message. `details` is what the HTTP API puts in the error
shape's `details` (None unless a class says more); which status and code an error answers
with is gateway/api/errors.py's table, by class.
"""

from __future__ import annotations

from typing import Any


class WxgateError(Exception):
    """wxgate could not do what was asked."""

    details: Any = None

    def __init__(self, message: str | None = None) -> None:
        super().__init__((self.__doc__ or "").strip() if message is None else message)
