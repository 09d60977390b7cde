"""Injected faults: latency, error codes, HTTP errors or a dropped connection, per path."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from aiohttp import web

from gateway.mock import errors, state

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Injected:
    """An answer that replaces the real one, and what it is (for the sent log)."""

    response: web.Response
    what: str


def matches(fault: state.Fault, path: str) -> bool:
    return path == fault.path and (fault.count is None or fault.count > 0)


async def inject(mock: state.MockState, path: str, request: web.Request) -> Injected | None:
    """Apply the faults set for `path` (the platform path, without any mount prefix).

    Returns an HTTP answer to send instead of the real one, or None to proceed (perhaps after
    some latency). Raises ApiError for an injected errcode. Decisions use a seeded generator.
    """
    for fault in list(mock.faults):
        if not matches(fault, path) or mock.fault_rng.random() >= fault.rate:
            continue
        fault.hits += 1
        if fault.count is not None:
            fault.count -= 1
        log.info("fault injected", extra={"action": "mock_fault", "path": path})
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.drop:
            if request.transport is not None:
                request.transport.abort()
            # The transport is gone; aiohttp discards whatever is answered now.
            return Injected(web.Response(status=503), "dropped connection")
        if fault.http_status is not None:
            answer = web.Response(status=fault.http_status, text="injected fault")
            return Injected(answer, f"HTTP {fault.http_status}")
        if fault.errcode is not None:
            raise errors.ApiError(fault.errcode, injected=True)
    return None


def view(fault: state.Fault) -> dict[str, object]:
    return {
        "path": fault.path,
        "rate": fault.rate,
        "errcode": fault.errcode,
        "latency_ms": fault.latency_ms,
        "drop": fault.drop,
        "http_status": fault.http_status,
        "count": fault.count,
        "hits": fault.hits,
    }
