"""Webhook rules without I/O: event-type filters, the retry schedule with jitter, and which
destinations an endpoint may have (URL shape and address classes)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import urllib.parse
from collections.abc import Sequence

from gateway import errors

MAX_URL = 2048
DEFAULT_SCHEDULE = "5,300,1800,7200,18000,36000,36000"
JITTER = 0.2  # up to 20 % longer
FAMILIES = frozenset({"message", "event", "outbound", "payment", "oauth", "marketing"})
OUTBOUND = ("sent", "delivered", "failed", "expired", "canceled")
FIXED_TYPES = frozenset(
    {f"outbound.{s}" for s in OUTBOUND}
    | {"payment.succeeded", "oauth.granted"}
    | {"marketing.registered", "marketing.checked_in", "marketing.survey_answered"}
)
# message.<msgtype> and event.<event>: any name WeChat uses, in lower case.
_OPEN_TYPE = re.compile(r"^(message|event)\.[a-z0-9_]{1,64}$")


class InvalidDestination(errors.WxgateError, ValueError):
    """The endpoint URL is not one wxgate may send to."""


def valid_filter(name: str) -> bool:
    """An exact event type or `family.*`."""
    if name.endswith(".*"):
        return name[:-2] in FAMILIES
    return name in FIXED_TYPES or bool(_OPEN_TYPE.fullmatch(name))


def matches(filters: Sequence[str] | None, event_type: str) -> bool:
    """The SQL function wxgate_webhook_matches, for tests and the listener: None is all."""
    if filters is None:
        return True
    family = event_type.split(".", 1)[0] + ".*"
    return event_type in filters or family in filters


def inbound_type(msg_type: str, event: str | None) -> str:
    """The SQL function wxgate_inbound_type."""
    if msg_type == "event":
        return "event." + (event or "").lower()
    return "message." + msg_type.lower()


def parse_schedule(text: str) -> tuple[float, ...]:
    """`5,300,...` seconds; every delay positive, at most 30 of them."""
    try:
        delays = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ValueError("the retry schedule is comma-separated seconds") from None
    if not delays or len(delays) > 30 or any(not 0 < d <= 7 * 86400 for d in delays):
        raise ValueError("the retry schedule needs 1 to 30 delays of 0 to 604800 seconds")
    return delays


def next_attempt(
    schedule: Sequence[float], attempts: int, now: dt.datetime, jitter: float
) -> dt.datetime | None:
    """When to try again after `attempts` failed attempts (None: give up). `jitter` in
    [0, 1) stretches the delay by up to JITTER of itself."""
    if attempts > len(schedule):
        return None
    delay = schedule[attempts - 1] * (1 + JITTER * min(max(jitter, 0.0), 1.0))
    return now + dt.timedelta(seconds=delay)


def should_disable(
    failing_since: dt.datetime | None, now: dt.datetime, after: dt.timedelta
) -> bool:
    """Every attempt since `failing_since` failed, for at least `after`."""
    return failing_since is not None and now - failing_since >= after


def check_url(url: str) -> urllib.parse.SplitResult:
    """http(s), a host, no userinfo, at most MAX_URL characters."""
    if len(url) > MAX_URL:
        raise InvalidDestination(f"url is longer than {MAX_URL} characters")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise InvalidDestination("url must not contain spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidDestination(f"url is malformed: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidDestination("url scheme must be http or https")
    if "@" in parts.netloc or parts.username is not None:
        raise InvalidDestination("url must not carry a user name or password")
    if not parts.hostname:
        raise InvalidDestination("url needs a host")
    if port == 0:
        raise InvalidDestination("url port must be 1 to 65535")
    return parts


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The host as an IP address when it is one (brackets stripped), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def forbidden_address(address: str) -> str | None:
    """Why wxgate must not send to this address (None: it may): loopback, private,
    link-local, multicast, unspecified or reserved, IPv4-mapped forms included."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for name, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return f"{address} is a {name} address"
    return None


# Replays reach back as far as callbacks are kept (scheduler.options events_retention).
REPLAY_RETENTION = dt.timedelta(days=30)


def replay_period_error(since: dt.datetime, until: dt.datetime, now: dt.datetime) -> str | None:
    """Why [since, until) cannot be replayed (None: it can)."""
    if until <= since:
        return "until must be after since"
    if since < now - REPLAY_RETENTION:
        return f"since is older than the {REPLAY_RETENTION.days}-day retention of events"
    if until > now + dt.timedelta(minutes=5):
        return "until is in the future"
    return None
