"""The error path: one root, driver errors translated by gateway.store.errors alone, and the
API's one table from error class to (HTTP status, code)."""

from __future__ import annotations

import asyncpg
import pytest

from gateway import cli, errors, settings, simulate, sync_cli
from gateway.api import body_deadline, callbacks, event_pages, paynotify
from gateway.api import errors as api_errors
from gateway.domain import (
    encoding,
    kinds,
    marketing,
    redirects,
    reply_content,
    webhook_rules,
    webhook_sign,
)
from gateway.store import errors as store_errors
from gateway.store import group_commit, migrate
from gateway.wechat import client, crypto, inbound, pay, xmlcodec


def _pg(cls: type[asyncpg.PostgresError], code: str, constraint: str = "") -> BaseException:
    fields = {"M": "from the server", "C": code}
    if constraint:
        fields["n"] = constraint
    return cls.new(fields)


@pytest.mark.parametrize(
    ("constraint", "expected", "message"),
    [
        ("accounts_pkey", store_errors.AccountExists, "an account with this id already exists"),
        (
            "accounts_app_id_key",
            store_errors.AccountExists,
            "an account with this app_id already exists",
        ),
        (
            "messages_idempotency_idx",
            store_errors.DuplicateMessage,
            "A message with this idempotency key already exists for the account.",
        ),
        (
            "follower_syncs_one_running",
            store_errors.SyncRunning,
            "A follower sync of this account is already running.",
        ),
        (
            "webhook_endpoints_one_reply_idx",
            store_errors.InvalidState,
            "the account already has an endpoint in mode reply",
        ),
    ],
)
def test_a_unique_violation_is_translated_by_constraint_name(
    constraint: str, expected: type[store_errors.StoreError], message: str
) -> None:
    error = store_errors.translate(_pg(asyncpg.UniqueViolationError, "23505", constraint))
    assert type(error) is expected
    assert str(error) == message


def test_account_exists_names_the_field_in_its_details() -> None:
    error = store_errors.translate(_pg(asyncpg.UniqueViolationError, "23505", "accounts_pkey"))
    assert error is not None and error.details == {"field": "id"}


def test_an_unknown_constraint_is_not_translated() -> None:
    assert store_errors.translate(_pg(asyncpg.UniqueViolationError, "23505", "other")) is None
    assert store_errors.translate(_pg(asyncpg.ForeignKeyViolationError, "23503", "x")) is None
    assert store_errors.translate(_pg(asyncpg.CheckViolationError, "23514", "x")) is None


@pytest.mark.parametrize(
    "constraint", ["webhook_endpoints_account_id_fkey", "reply_rules_account_id_fkey"]
)
def test_an_account_foreign_key_is_not_found(constraint: str) -> None:
    exc = _pg(asyncpg.ForeignKeyViolationError, "23503", constraint)
    error = store_errors.translate(exc)
    assert type(error) is store_errors.NotFound and str(error) == "no such account"


@pytest.mark.parametrize(
    "exc",
    [
        _pg(asyncpg.DeadlockDetectedError, "40P01"),
        _pg(asyncpg.SerializationError, "40001"),
    ],
)
def test_deadlocks_and_serialization_failures_are_retryable(exc: BaseException) -> None:
    assert type(store_errors.translate(exc)) is store_errors.Retryable


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "refused"),
        ConnectionResetError(),
        TimeoutError(),
        asyncpg.InterfaceError("connection is closed"),
        # a pooled connection after a restart; its only base is Exception
        asyncpg.InternalClientError("cannot perform operation: another operation is in progress"),
        _pg(asyncpg.CannotConnectNowError, "57P03"),
        _pg(asyncpg.AdminShutdownError, "57P01"),
        _pg(asyncpg.TooManyConnectionsError, "53300"),
        _pg(asyncpg.PostgresConnectionError, "08006"),
    ],
)
def test_connection_failures_are_one_unavailable_error(exc: BaseException) -> None:
    error = store_errors.translate(exc)
    assert type(error) is store_errors.Unavailable
    assert str(error) == "the database is unavailable; retry later"
    assert isinstance(exc, store_errors.UNAVAILABLE)
    assert isinstance(exc, store_errors.FAILED)


def test_translated_keeps_unknown_errors_and_chains_known_ones() -> None:
    check = _pg(asyncpg.CheckViolationError, "23514", "x")
    with pytest.raises(asyncpg.CheckViolationError), store_errors.translated():
        raise check
    with pytest.raises(store_errors.Retryable) as caught, store_errors.translated():
        raise _pg(asyncpg.DeadlockDetectedError, "40P01")
    assert isinstance(caught.value.__cause__, asyncpg.DeadlockDetectedError)
    with pytest.raises(store_errors.Unavailable), store_errors.translated():
        raise asyncpg.InterfaceError("connection is closed")
    with pytest.raises(ValueError), store_errors.translated():
        raise ValueError("not the database's")


def test_the_failed_list_holds_every_database_failure_the_scheduler_logs() -> None:
    for exc in [
        _pg(asyncpg.CheckViolationError, "23514"),
        _pg(asyncpg.QueryCanceledError, "57014"),
        OSError(),
        asyncpg.InterfaceError("closed"),
        store_errors.Retryable(),
        store_errors.Unavailable(),
    ]:
        assert isinstance(exc, store_errors.FAILED)
    assert not isinstance(ValueError(), store_errors.FAILED)


PRODUCT_ERRORS: list[type[Exception]] = [
    callbacks.BadCallback,
    group_commit.Overloaded,
    store_errors.StoreError,
    store_errors.NotFound,
    store_errors.Unavailable,
    api_errors.ApiError,
    kinds.DowngradeNotAllowed,
    cli.CommandError,
    simulate.SimulateError,
    settings.SettingsError,
    sync_cli.SyncError,
    migrate.MigrationError,
    xmlcodec.XmlError,
    client.WeChatError,
    client.TransportError,
    crypto.CryptoError,
    pay.PayCryptoError,
    inbound.InvalidMessage,
    marketing.InvalidSchedule,
    webhook_rules.InvalidDestination,
    webhook_sign.InvalidSecret,
    redirects.BadTarget,
    encoding.ModeNeedsKey,
    body_deadline.TooSlow,
    event_pages.PageError,
    paynotify.Refused,
    reply_content.Invalid,
]
# Raised inside pydantic validators or caught as ValueError by callers: still ValueErrors.
VALUE_ERRORS: list[type[Exception]] = [
    xmlcodec.XmlError,
    pay.PayCryptoError,
    inbound.InvalidMessage,
    marketing.InvalidSchedule,
    webhook_rules.InvalidDestination,
    webhook_sign.InvalidSecret,
    redirects.BadTarget,
    encoding.ModeNeedsKey,
]


@pytest.mark.parametrize("cls", PRODUCT_ERRORS, ids=lambda cls: cls.__qualname__)
def test_every_product_error_has_the_one_root(cls: type[Exception]) -> None:
    assert issubclass(cls, errors.WxgateError)


@pytest.mark.parametrize("cls", VALUE_ERRORS, ids=lambda cls: cls.__qualname__)
def test_value_errors_stay_value_errors_with_their_message(cls: type[Exception]) -> None:
    assert issubclass(cls, ValueError)
    assert str(cls("why")) == "why"
    assert str(cls("")) == ""  # an empty message stays empty; only None takes the docstring


def test_the_docstring_is_the_default_message() -> None:
    assert str(store_errors.NotFound()) == "No such row."
    assert str(store_errors.NotFound("no such tag")) == "no such tag"


@pytest.mark.parametrize(("cls", "answer"), sorted(api_errors.MAPPED.items(), key=str))
def test_the_table_agrees_with_the_status_of_each_code(
    cls: type[BaseException], answer: tuple[int, str]
) -> None:
    status, code = answer
    assert api_errors.STATUS[code] == status


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (store_errors.NotFound("no such tag"), 404, "not_found"),
        (store_errors.AccountExists("app_id"), 409, "conflict"),
        (store_errors.IdempotencyConflict(), 409, "idempotency_conflict"),
        (store_errors.InvalidState("the message is already sent"), 409, "conflict"),
        (store_errors.PermanentQrLimit(), 409, "qr_permanent_limit_reached"),
        (store_errors.SyncRunning(), 409, "sync_running"),
        (store_errors.Unavailable(), 503, "unavailable"),
        (kinds.DowngradeNotAllowed("never back"), 409, "downgrade_not_allowed"),
        (OSError("refused"), 503, "unavailable"),
        (_pg(asyncpg.UniqueViolationError, "23505", "accounts_pkey"), 409, "conflict"),
    ],
)
def test_the_middleware_answers_by_the_table(error: BaseException, status: int, code: str) -> None:
    found = api_errors.mapped(error)
    assert found is not None
    assert found[1:] == (status, code)


@pytest.mark.parametrize(
    "error",
    [
        store_errors.DuplicateMessage(),
        store_errors.Retryable(),
        store_errors.StoreError(),
        ValueError("a bug"),
        _pg(asyncpg.CheckViolationError, "23514", "x"),
        _pg(asyncpg.DeadlockDetectedError, "40P01"),
    ],
)
def test_an_error_the_table_does_not_list_stays_a_500(error: BaseException) -> None:
    assert api_errors.mapped(error) is None


def test_a_full_commit_queue_is_the_database_being_unavailable() -> None:
    """The callback path answers every FAILED kind 503 (WeChat retries); a full group-commit
    queue is one of them, and the API's table says the same."""
    overloaded = group_commit.Overloaded()
    assert isinstance(overloaded, store_errors.FAILED)
    found = api_errors.mapped(overloaded)
    assert found is not None and found[1:] == (503, "unavailable")
