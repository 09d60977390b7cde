"""Who may make an API request: the scope a route needs and whether a token's grant has it.

Pure: the HTTP shell passes the method, the route template (`/api/v1/accounts/{id}/...`) and
the account id from the path, and maps the verdict to 404 (an account outside the grant looks
missing) or 403 `forbidden` (a scope the grant lacks). Scopes add to each other: `send`
includes `read`, `manage` includes both (SPEC 11 "`send` adds ..., `manage` adds ...").
"""

from __future__ import annotations

import dataclasses
import enum

READ, SEND, MANAGE, ADMIN = "read", "send", "manage", "admin"
SCOPES = (READ, SEND, MANAGE)
_RANK = {READ: 1, SEND: 2, MANAGE: 3}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

API = "/api/v1"
ACCOUNTS = API + "/accounts"
ACCOUNT = ACCOUNTS + "/{id}"
# Routes only the administrator's token (WXGATE_API_TOKEN) reaches.
ADMIN_ONLY = (API + "/tokens", API + "/audit")


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    NOT_FOUND = "not_found"  # the account is outside the grant: answer as if it did not exist
    FORBIDDEN = "forbidden"  # the grant lacks the scope


@dataclasses.dataclass(frozen=True)
class Grant:
    """What a bearer may do. The administrator: token_id None, every account, every scope."""

    name: str
    token_id: int | None = None
    all_accounts: bool = True
    accounts: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset(SCOPES)

    @property
    def admin(self) -> bool:
        return self.token_id is None

    def sees(self, account_id: str) -> bool:
        return self.all_accounts or account_id in self.accounts

    def allows(self, scope: str) -> bool:
        """The grant holds `scope` or a larger one; only the administrator holds `admin`."""
        if scope == ADMIN:
            return self.admin
        return any(_RANK[held] >= _RANK[scope] for held in self.scopes)


ADMINISTRATOR = Grant(name="admin")


def _under(route: str, prefix: str) -> bool:
    return route == prefix or route.startswith(prefix + "/")


def _sends(rest: list[str]) -> bool:
    """Changes `send` covers, by the route's segments after the account: messages (enqueue,
    cancel), QR codes, webhook replays and delivery retries."""
    if not rest:
        return False
    if rest[0] in ("messages", "qrcodes"):
        return True
    return rest[-1] == "replay" or (rest[-1] == "retry" and "deliveries" in rest)


def required_scope(method: str, route: str) -> str:
    """The scope a request needs: `admin` for tokens and audit, `read` for every safe method,
    `send` for messages, QR codes, replays and retries, `manage` for every other change
    (account settings, endpoints, reply rules, menus, syncs, tags, account creation)."""
    if any(_under(route, prefix) for prefix in ADMIN_ONLY):
        return ADMIN
    if method.upper() in SAFE_METHODS:
        return READ
    if _under(route, ACCOUNT):
        rest = [s for s in route[len(ACCOUNT) :].split("/") if s]
        return SEND if _sends(rest) else MANAGE
    return MANAGE


def check(grant: Grant, method: str, route: str, account_id: str | None) -> Verdict:
    """May `grant` make this request? `account_id` is the route's `{id}` when the route is
    under /api/v1/accounts/{id}. Creating an account needs a grant over every account."""
    if account_id is not None and _under(route, ACCOUNT) and not grant.sees(account_id):
        return Verdict.NOT_FOUND
    if not grant.allows(required_scope(method, route)):
        return Verdict.FORBIDDEN
    if route == ACCOUNTS and method.upper() not in SAFE_METHODS and not grant.all_accounts:
        return Verdict.FORBIDDEN
    return Verdict.ALLOWED
