"""What store functions raise. Driver errors are translated here and only here, by
constraint name, so callers never see asyncpg's exception kinds."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import asyncpg


class StoreError(Exception):
    """A store operation could not be done as asked."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class NotFound(StoreError):
    """No such row."""


class AccountExists(StoreError):
    """An account with this id or app_id already exists."""

    def __init__(self, field: str) -> None:
        super().__init__(f"an account with this {field} already exists")
        self.field = field


class DuplicateMessage(StoreError):
    """A message with this idempotency key already exists for the account."""


class IdempotencyConflict(StoreError):
    """The idempotency key was already used with a different request body."""


class InvalidState(StoreError):
    """The row is in a state that does not allow the operation."""


class PermanentQrLimit(StoreError):
    """The account already has 100,000 permanent QR codes (C1)."""


# The database is down, restarting, refusing connections or too slow: try again later. No
# row was written by the failed operation (or, at worst, its transaction was committed just
# before the connection dropped, which a retry then meets as a duplicate).
UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,  # connection refused, no socket, reset
    TimeoutError,  # pool acquire or command timeout
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,  # shutting down, starting up, terminated
    asyncpg.InsufficientResourcesError,  # too many connections
    asyncpg.InterfaceError,  # the connection closed under the operation
)


_UNIQUE: dict[str, type[StoreError] | tuple[type[AccountExists], str]] = {
    "accounts_pkey": (AccountExists, "id"),
    "accounts_app_id_key": (AccountExists, "app_id"),
    "messages_idempotency_idx": DuplicateMessage,
}


def translate(exc: asyncpg.UniqueViolationError) -> StoreError | None:
    """The store error for a unique violation of a known constraint, else None."""
    target = _UNIQUE.get(exc.constraint_name or "")
    if target is None:
        return None
    if isinstance(target, tuple):
        cls, field = target
        return cls(field)
    return target()


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Re-raise known unique violations inside the block as StoreErrors."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        error = translate(exc)
        if error is None:
            raise
        raise error from exc
