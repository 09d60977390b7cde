"""What the callback path reads of one account: its keys and encoding mode, its reply rules
and its enabled reply endpoint, as one frozen row (the interpretation is the caller's)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import asyncpg

from gateway.store import queries, rows, webhooks


@dataclasses.dataclass(frozen=True, slots=True)
class CallbackAccountRow:
    id: str
    kind: str
    app_id: str
    token: str = dataclasses.field(repr=False)
    encoding_aes_key: str | None = dataclasses.field(repr=False)
    previous_aes_key: str | None = dataclasses.field(repr=False)
    aes_key_rotated_at: dt.datetime | None
    rule_profile: str
    encoding_mode: str
    original_id: str | None
    rules_version: int | None  # None: no reply rules stored
    rules: Any  # the stored rule set (JSON), checked when saved; None: the known version
    reply_endpoint_id: str | None  # None: no enabled endpoint in mode reply
    reply_url: str | None = dataclasses.field(repr=False)
    reply_event_types: tuple[str, ...] | None
    secret: str | None = dataclasses.field(repr=False)
    previous_secret: str | None = dataclasses.field(repr=False)
    previous_expires_at: dt.datetime | None

    def active_secrets(self, now: dt.datetime) -> tuple[str, ...]:
        """The secrets that sign a request to the reply endpoint now: the current one, and
        the previous one for 24 hours after a rotation."""
        return webhooks.signing_secrets(
            str(self.secret), self.previous_secret, self.previous_expires_at, now
        )


async def load(
    pool: asyncpg.Pool, account_id: str, known_rules_version: int | None = None
) -> CallbackAccountRow | None:
    """The account's row, or None when there is no such account. With the version of the
    rule set the caller has already, `rules` is None while that version is still current
    (a 200-rule set is tens of kilobytes of JSON to read and decode on every reload)."""
    row = await pool.fetchrow(queries.get("inbound_account"), account_id, known_rules_version)
    if row is None:
        return None
    types = row["reply_event_types"]
    return rows.build(
        CallbackAccountRow, row, reply_event_types=None if types is None else tuple(types)
    )
