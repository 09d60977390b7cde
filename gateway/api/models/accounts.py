"""Account requests and resources (SPEC 3, Accounts). Secrets go in, never come out, except
the `oauth_signing_key`, returned once when it is generated or rotated."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import pydantic

from gateway.api import models
from gateway.api.models import payments

AccountId = Annotated[
    str,
    pydantic.StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$"),
    pydantic.Field(description="lowercase letters, digits, '_' and '-', 1 to 64 characters"),
]
AppId = Annotated[str, pydantic.StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# Printable ASCII without spaces, as WeChat's console accepts them.
Secret = Annotated[str, pydantic.StringConstraints(pattern=r"^[!-~]{1,128}$")]
AesKey = Annotated[
    str,
    pydantic.StringConstraints(pattern=r"^[A-Za-z0-9]{43}$"),
    pydantic.Field(description="EncodingAESKey: 43 characters [A-Za-z0-9]"),
]
OriginalId = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=64)]
Host = Annotated[
    str,
    pydantic.StringConstraints(
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?$",
        to_lower=True,
    ),
    pydantic.Field(description="a host name, optionally with :port; stored lowercase"),
]
Hosts = Annotated[list[Host], pydantic.Field(max_length=100)]
Kind = Literal["service", "subscription"]
EncodingMode = Annotated[
    Literal["plaintext", "compatible", "safe"],
    pydantic.Field(
        description="callback forms accepted (SPEC 2.2): safe takes only encrypted callbacks, "
        "compatible and plaintext take both; compatible and safe need encoding_aes_key"
    ),
]
Profile = Literal["seed", "wechat-2023"]


class NewAccount(models.Request):
    id: AccountId
    kind: Kind
    app_id: AppId
    app_secret: Secret
    token: Secret
    encoding_aes_key: AesKey | None = None
    encoding_mode: EncodingMode | None = pydantic.Field(
        default=None, description="default: safe with an encoding_aes_key, else plaintext"
    )
    original_id: OriginalId | None = None
    rule_profile: Profile = "seed"
    oauth_redirect_hosts: Hosts = pydantic.Field(default_factory=list)


class AccountChange(models.Request):
    """Only the fields present change. `null` leaves kind, secrets, profile and hosts as they
    are; `null` removes encoding_aes_key and original_id. Setting or removing the key without
    an encoding_mode sets the mode a new account would get (safe, or plaintext)."""

    kind: Kind | None = None
    app_secret: Secret | None = None
    token: Secret | None = None
    encoding_aes_key: AesKey | None = None
    encoding_mode: EncodingMode | None = None
    original_id: OriginalId | None = None
    rule_profile: Profile | None = None
    oauth_redirect_hosts: Hosts | None = None
    rotate_oauth_signing_key: bool = False
    pay: payments.PayConfig | None = pydantic.Field(
        default=None, description="WeChat Pay settings (service accounts only; never returned)"
    )


class Account(models.Resource):
    id: str
    kind: Kind
    app_id: str
    original_id: str | None
    rule_profile: Profile
    oauth_redirect_hosts: list[str]
    encoding_mode: EncodingMode
    has_encoding_aes_key: bool
    has_previous_aes_key: bool
    has_pay_config: bool = pydantic.Field(
        description="merchant id, APIv3 key and platform certificate are all set"
    )
    callback_url: str = pydantic.Field(description="the URL to configure in WeChat's console")
    created_at: dt.datetime
    updated_at: dt.datetime
    upgraded_at: dt.datetime | None
    followers_synced_at: dt.datetime | None = pydantic.Field(
        description="when the last follower sync completed (SPEC 9); null: never"
    )


class CreatedAccount(Account):
    oauth_signing_key: str = pydantic.Field(
        description="HMAC key for OAuth sign-on signatures; shown only in this response"
    )


class UpdatedAccount(Account):
    oauth_signing_key: str | None = pydantic.Field(
        default=None, description="the new key when rotate_oauth_signing_key was true, else null"
    )


class AccountPage(models.Resource):
    items: list[Account]
    next_cursor: str | None
