"""The `pay` part of `PATCH /api/v1/accounts/{id}`: WeChat Pay settings of a service account
(merchant id, APIv3 key, platform certificate), written but never answered."""

from __future__ import annotations

import asyncpg

from gateway.api import capability
from gateway.api.models import payments
from gateway.domain import kinds
from gateway.store import accounts as accounts_store
from gateway.store import payments as store
from gateway.wechat import pay


def complete(row: accounts_store.Account | store.PayAccount) -> bool:
    """Payments can be received and sent: merchant id, APIv3 key and certificate are set."""
    return bool(row.pay_mch_id and row.pay_apiv3_key and row.pay_cert_pem)


async def check(pool: asyncpg.Pool, account_id: str, new_kind: str | None) -> None:
    """Refuse pay settings on an account that is a subscription account after this PATCH
    (one request may upgrade the kind and configure payments together)."""
    account = await accounts_store.get_account(pool, account_id)
    kind = kinds.AccountKind(account.kind)
    if kind == kinds.AccountKind.SUBSCRIPTION and new_kind is not None:
        kind = kinds.AccountKind(new_kind)
    if not kinds.has_capability(kind, kinds.Capability.PAYMENTS):
        raise capability.refusal(kind, kinds.Capability.PAYMENTS)


async def apply(
    pool: asyncpg.Pool, account_id: str, config: payments.PayConfig
) -> accounts_store.Account:
    """Write the given settings; the certificate's serial is read from the certificate."""
    serial = None
    if config.platform_certificate is not None:
        serial = pay.serial(pay.load_certificate(config.platform_certificate))
    return await store.set_pay_config(
        pool,
        account_id,
        mch_id=config.mch_id,
        apiv3_key=config.apiv3_key,
        cert_pem=config.platform_certificate,
        cert_serial=serial,
    )
