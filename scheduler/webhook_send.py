"""One webhook attempt: the request body of a claimed delivery, its Standard Webhooks
headers, the POST with its timeout, and the outcome to record."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import asyncpg

from gateway import webhook_net
from gateway.domain import webhook_payload, webhook_rules, webhook_sign
from gateway.store import webhook_log, webhooks

RESPONSE_BYTES = 1024

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def request_body(row: asyncpg.Record | dict[str, Any]) -> tuple[str, bytes] | None:
    """(webhook-id, body) of a claimed delivery; None if its event is no longer stored."""
    if row["row_id"] is None:
        return None
    ev_id = webhook_payload.event_id(row["inbound"], row["row_id"])
    if row["inbound"]:
        data = webhook_payload.callback_data(
            row["in_openid"], row["in_create_time"], row["in_fields"], row["in_raw_xml"]
        )
    else:
        data = row["data"]
    value = webhook_payload.payload(
        ev_id, row["event_type"], row["account_id"], row["event_created_at"], data
    )
    return ev_id, webhook_payload.body(value)


class Sender:
    """Makes attempts for one dispatcher."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        timeout: float,
        allow_private: bool,
        schedule: tuple[float, ...],
        clock: Clock,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.session = session
        self.timeout = timeout
        self.allow_private = allow_private
        self.schedule = schedule
        self.clock = clock
        self.jitter = jitter
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def attempt(self, row: asyncpg.Record) -> webhook_log.Outcome:
        """One signed POST of a claimed delivery, and its outcome (with the next attempt's
        time on the schedule, or None to give up)."""
        built = request_body(row)
        status: int | None = None
        error: str | None = None
        answer: str | None = None
        started = time.monotonic()
        if built is None:
            error = "the event is no longer stored (retention)"
        else:
            error = webhook_net.literal_refusal(row["url"], self.allow_private)
        if built is not None and error is None:
            started = time.monotonic()
            ev_id, body = built
            secrets = webhooks.active_secrets(dict(row), utcnow())
            stamp = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "wxgate-webhooks/1",
                "webhook-id": ev_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": webhook_sign.header(secrets, ev_id, stamp, body),
            }
            try:
                async with self.session.post(
                    row["url"],
                    data=body,
                    headers=headers,
                    timeout=self._timeout,
                    allow_redirects=False,
                ) as resp:
                    status = resp.status
                    raw = await resp.content.read(RESPONSE_BYTES)
                    answer = raw.decode("utf-8", "replace").replace("\x00", "")
            except TimeoutError:
                error = f"timeout after {self.timeout:g} s"
            except (aiohttp.ClientError, OSError) as exc:
                error = (f"{type(exc).__name__}: {exc}")[:500]
        latency = (time.monotonic() - started) * 1000
        ok = status is not None and 200 <= status < 300
        now = self.clock()
        next_at = None
        if not ok and built is not None:
            next_at = webhook_rules.next_attempt(
                self.schedule, row["attempts"] + 1, now, self.jitter()
            )
        return webhook_log.Outcome(
            account_id=row["account_id"],
            delivery_id=row["id"],
            ok=ok,
            http_status=status,
            error=error,
            latency_ms=latency,
            response=answer,
            at=now,
            next_at=next_at,
        )
