"""One webhook attempt: the request body of a claimed delivery (built once per event and
kept for a while), its Standard Webhooks headers, the POST with its timeout, and the outcome
to record."""

from __future__ import annotations

import collections
import datetime as dt
import functools
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import yarl

from gateway import webhook_net
from gateway.domain import webhook_payload, webhook_rules, webhook_sign
from gateway.store.webhook_claims import ClaimedWebhook, Outcome

RESPONSE_BYTES = 1024
# Bodies built, by event: a retry, or the same event's delivery to another endpoint, sends the
# bytes built before (the body is the same on every attempt) instead of building them again.
BODIES = 2048

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def request_body(w: ClaimedWebhook) -> tuple[str, bytes] | None:
    """(webhook-id, body) of a claimed delivery; None if its event is no longer stored."""
    if w.row_id is None:
        return None
    ev_id = webhook_payload.event_id(w.inbound, w.row_id)
    data: Mapping[str, Any]
    if w.inbound:
        assert w.in_create_time is not None and w.in_fields is not None  # a callback's row
        data = webhook_payload.callback_data(
            w.in_openid or "", w.in_create_time, w.in_fields, w.in_raw_xml
        )
    else:
        data = w.data or {}
    assert w.event_created_at is not None  # stored with the event
    value = webhook_payload.payload(ev_id, w.event_type, w.account_id, w.event_created_at, data)
    return ev_id, webhook_payload.body(value)


@functools.lru_cache(maxsize=1024)  # per endpoint URL: parsed and checked once
def _destination(url: str, allow_private: bool) -> tuple[yarl.URL, str | None]:
    return yarl.URL(url), webhook_net.literal_refusal(url, allow_private)


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
        self._bodies: collections.OrderedDict[tuple[str, bool, int], tuple[str, bytes]] = (
            collections.OrderedDict()
        )

    def body(self, w: ClaimedWebhook) -> tuple[str, bytes] | None:
        """(webhook-id, body) of a claimed delivery, built once per event while kept."""
        if w.row_id is None:
            return None
        key = (w.account_id, w.inbound, w.row_id)
        built = self._bodies.get(key)
        if built is None:
            built = request_body(w)
            assert built is not None
            self._bodies[key] = built
            if len(self._bodies) > BODIES:
                self._bodies.popitem(last=False)
        else:
            self._bodies.move_to_end(key)
        return built

    async def attempt(self, w: ClaimedWebhook) -> Outcome:
        """One signed POST of a claimed delivery, and its outcome (with the next attempt's
        time on the schedule, or None to give up)."""
        built = self.body(w)
        status: int | None = None
        error: str | None = None
        answer: str | None = None
        started = time.monotonic()
        url, refusal = _destination(w.url, self.allow_private)
        if built is None:
            error = "the event is no longer stored (retention)"
        else:
            error = refusal
        if built is not None and error is None:
            started = time.monotonic()
            ev_id, body = built
            stamp = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "wxgate-webhooks/1",
                "webhook-id": ev_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": webhook_sign.header(
                    w.active_secrets(utcnow()), ev_id, stamp, body
                ),
            }
            try:
                async with self.session.post(
                    url,
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
            next_at = webhook_rules.next_attempt(self.schedule, w.attempts + 1, now, self.jitter())
        return Outcome(
            account_id=w.account_id,
            delivery_id=w.id,
            ok=ok,
            http_status=status,
            error=error,
            latency_ms=latency,
            response=answer,
            at=now,
            next_at=next_at,
        )
