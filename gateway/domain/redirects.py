"""OAuth redirect targets: which URLs may be a target, the allow-list match on host and port,
and the landing URL built from a target (SPEC 2.1; no open redirect).

Checks on the raw text come before any parsing: Python's parser and a browser's disagree on
backslashes (a browser reads `\\` as `/`) and on control characters (Python drops some), so
a target that holds any of them is refused rather than interpreted.
"""

from __future__ import annotations

import unicodedata
import urllib.parse
from collections.abc import Iterable, Mapping

from gateway import errors

DEFAULT_PORTS = {"http": 80, "https": 443}


class BadTarget(errors.WxgateError, ValueError):
    """The target is not an absolute http(s) URL that can be redirected to."""


def _raw_refusal(target: str) -> str | None:
    if "\\" in target:
        return "backslashes are not allowed"
    if any(unicodedata.category(c) == "Cc" for c in target):
        return "control characters are not allowed"
    if not target[:8].lower().startswith(("http://", "https://")):
        return "the scheme must be http or https"
    return None


def parse(target: str) -> tuple[urllib.parse.SplitResult, str, int]:
    """(parts, host in lowercase, effective port) of a usable target; BadTarget if it is not."""
    reason = _raw_refusal(target)
    if reason is not None:
        raise BadTarget(reason)
    try:
        parts = urllib.parse.urlsplit(target)
        port = parts.port
    except ValueError as exc:  # a bad port or IPv6 literal
        raise BadTarget(f"not a valid URL: {exc}") from None
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in DEFAULT_PORTS:
        raise BadTarget("the URL needs a host")
    if parts.username is not None or parts.password is not None:
        raise BadTarget("user information is not allowed")
    return parts, host, port if port is not None else DEFAULT_PORTS[parts.scheme]


def _entry(entry: str) -> tuple[str, int | None]:
    host, sep, port = entry.lower().rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return entry.lower(), None


def allowed(target: str, hosts: Iterable[str]) -> bool:
    """Whether `target` is usable and on an allow-listed host and port. An entry `host:port`
    allows that port; an entry without a port allows only the scheme's default port."""
    try:
        parts, host, port = parse(target)
    except BadTarget:
        return False
    default = DEFAULT_PORTS[parts.scheme]
    for entry_host, entry_port in map(_entry, hosts):
        if entry_host == host and port == (default if entry_port is None else entry_port):
            return True
    return False


def landing(target: str, params: Mapping[str, str | int]) -> str:
    """`target` with `params` added after its own query; BadTarget if it cannot be built."""
    parts, _, _ = parse(target)
    extra = urllib.parse.urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urllib.parse.urlunsplit(parts._replace(query=query))


def host(target: str) -> str:
    """The target's host, as the sign-on signature binds it."""
    return parse(target)[1]
