"""What store functions raise. Driver errors are translated here and only here: unique and
foreign-key violations by constraint name, deadlocks and serialization failures to Retryable,
connection failures to Unavailable, so callers never need asyncpg's exception kinds."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import asyncpg

from gateway import errors


class StoreError(errors.WxgateError):
    """A store operation could not be done as asked."""


class NotFound(StoreError):
    """No such row."""


class AccountExists(StoreError):
    """An account with this id or app_id already exists."""

    def __init__(self, field: str) -> None:
        super().__init__(f"an account with this {field} already exists")
        self.field = field
        self.details: Any = {"field": field}


class DuplicateMessage(StoreError):
    """A message with this idempotency key already exists for the account."""


class IdempotencyConflict(StoreError):
    """The idempotency key was already used with a different request body."""


class InvalidState(StoreError):
    """The row is in a state that does not allow the operation."""


class PermanentQrLimit(StoreError):
    """The account already has 100,000 permanent QR codes (C1)."""


class SyncRunning(StoreError):
    """A follower sync of this account is already running."""


class Retryable(StoreError):
    """The database aborted the transaction to break a deadlock or a serialization conflict;
    nothing of it was written and running it again may succeed."""


class Unavailable(StoreError):
    """The database is down, restarting or too slow: nothing was done; retry later."""

    def __init__(self) -> None:
        super().__init__("the database is unavailable; retry later")


# The database is down, restarting, refusing connections or too slow: try again later. No
# row was written by the failed operation (or, at worst, its transaction was committed just
# before the connection dropped, which a retry then meets as a duplicate). The one list of
# "the database is down"; Unavailable is the same, translated.
_DOWN: tuple[type[Exception], ...] = (
    OSError,  # connection refused, no socket, reset
    TimeoutError,  # pool acquire or command timeout
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,  # shutting down, starting up, terminated
    asyncpg.InsufficientResourcesError,  # too many connections
    asyncpg.InterfaceError,  # the connection closed under the operation
    # "another operation is in progress" on a pooled connection after a restart (it is no
    # InterfaceError: its only base is Exception)
    asyncpg.InternalClientError,
)
UNAVAILABLE: tuple[type[Exception], ...] = (*_DOWN, Unavailable)
# A step of background work failed in the database, down or refusing the statement: the
# scheduler logs it and its next run tries again.
FAILED: tuple[type[Exception], ...] = (*UNAVAILABLE, Retryable, asyncpg.PostgresError)

_RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)

# A class, or a class and its one argument (AccountExists' field, another's message).
_UNIQUE: dict[str, type[StoreError] | tuple[type[StoreError], str]] = {
    "accounts_pkey": (AccountExists, "id"),
    "accounts_app_id_key": (AccountExists, "app_id"),
    "messages_idempotency_idx": DuplicateMessage,
    "follower_syncs_one_running": SyncRunning,
    "webhook_endpoints_one_reply_idx": (
        InvalidState,
        "the account already has an endpoint in mode reply",
    ),
}
_FOREIGN_KEY: dict[str, tuple[type[StoreError], str]] = {
    "webhook_endpoints_account_id_fkey": (NotFound, "no such account"),
    "reply_rules_account_id_fkey": (NotFound, "no such account"),
}


def translate(exc: BaseException) -> StoreError | None:
    """The store error for a driver error: a violation of a known constraint, a deadlock or
    serialization failure, or the database being unavailable; None for anything else."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        target = _UNIQUE.get(exc.constraint_name or "")
        if isinstance(target, tuple):
            cls, argument = target
            return cls(argument)
        return None if target is None else target()
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        found = _FOREIGN_KEY.get(exc.constraint_name or "")
        return None if found is None else found[0](found[1])
    if isinstance(exc, _RETRYABLE):
        return Retryable()
    if isinstance(exc, _DOWN):
        return Unavailable()
    return None


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Re-raise the driver errors `translate` knows inside the block as StoreErrors."""
    try:
        yield
    except asyncpg.PostgresError as exc:
        error = translate(exc)
        if error is None:
            raise
        raise error from exc
    except _DOWN as exc:
        raise Unavailable() from exc
