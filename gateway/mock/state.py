"""The mock platform's memory: accounts, their followers, tokens, logs and faults."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import secrets
from datetime import datetime
from typing import Any, Literal

from gateway.mock import roster
from gateway.mock.roster import Allowance as Allowance
from gateway.mock.roster import Follower as Follower

Kind = Literal["service", "subscription"]
Profile = Literal["seed", "wechat-2023"]
TokenSource = Literal["stable", "classic"]

# Fault decisions use a seeded generator so that a test run is repeatable; ids and tokens
# come from `secrets` so that a restarted mock never reissues a value a gateway still holds.
FAULT_SEED = 20140101


@dataclasses.dataclass
class AccessToken:
    value: str
    app_id: str
    source: TokenSource
    issued_at: datetime
    expires_at: datetime
    superseded_until: datetime | None = None  # a newer classic token was fetched
    invalidated: bool = False


@dataclasses.dataclass
class Tag:
    id: int
    name: str
    members: set[str] = dataclasses.field(default_factory=set)


@dataclasses.dataclass
class QrTicket:
    ticket: str
    url: str
    action_name: str
    scene: str
    expires_at: datetime | None  # None: permanent


@dataclasses.dataclass
class OAuthCode:
    code: str
    app_id: str
    openid: str
    scope: str
    expires_at: datetime
    used: bool = False


@dataclasses.dataclass
class WebToken:
    value: str
    app_id: str
    openid: str
    scope: str
    expires_at: datetime


@dataclasses.dataclass
class SentRecord:
    """One entry of the sent log: an API call received for an account, with the verdict."""

    path: str
    body: Any
    errcode: int | None  # None: no platform answer (an injected HTTP error or dropped call)
    verdict: str
    at: datetime
    delivered: bool


@dataclasses.dataclass
class PaySend:
    """One red pack or coupon the payment API accepted, under the merchant's request number."""

    kind: Literal["red_pack", "coupon"]
    request_no: str
    openid: str
    params: dict[str, Any]
    platform_id: str  # send_listid of a red pack, coupon_id of a coupon
    at: datetime


@dataclasses.dataclass
class Account:
    app_id: str
    app_secret: str
    kind: Kind
    token: str
    callback_url: str
    original_id: str
    encoding_aes_key: str | None = None
    rule_profile: Profile = "seed"
    followers: roster.Roster = dataclasses.field(default_factory=roster.Roster)
    stable_token: str | None = None
    classic_token: str | None = None
    token_fetches: dict[str, int] = dataclasses.field(
        default_factory=lambda: {"stable_token": 0, "token": 0}
    )
    oauth_exchanges: int = 0
    sent: list[SentRecord] = dataclasses.field(default_factory=list)
    callbacks: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    tags: dict[int, Tag] = dataclasses.field(default_factory=dict)
    next_tag_id: int = 100  # 0, 1 and 2 are the platform's own tags
    qrcodes: dict[str, QrTicket] = dataclasses.field(default_factory=dict)
    permanent_scenes: dict[str, str] = dataclasses.field(default_factory=dict)
    template_sends: dict[tuple[str, str], tuple[int, datetime]] = dataclasses.field(
        default_factory=dict
    )
    mass_jobs: dict[str, tuple[int, datetime]] = dataclasses.field(default_factory=dict)
    sendall_log: list[tuple[datetime, bool]] = dataclasses.field(default_factory=list)
    # WeChat Pay: where payment notifications go, the merchant and its APIv3 key.
    pay_notify_url: str | None = None
    mch_id: str | None = None
    apiv3_key: str | None = None
    payments: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    pay_sends: dict[str, PaySend] = dataclasses.field(default_factory=dict)  # by request no.
    # The custom menu as menu/create took it ({"button": [...]}), and its id (menu/get).
    menu: dict[str, Any] | None = None
    menu_id: int = 0


@dataclasses.dataclass
class Fault:
    path: str
    rate: float
    errcode: int | None = None
    latency_ms: int = 0
    drop: bool = False
    http_status: int | None = None
    count: int | None = None  # None: until cleared
    hits: int = 0


@dataclasses.dataclass
class MockState:
    accounts: dict[str, Account] = dataclasses.field(default_factory=dict)
    tokens: dict[str, AccessToken] = dataclasses.field(default_factory=dict)
    oauth_codes: dict[str, OAuthCode] = dataclasses.field(default_factory=dict)
    web_tokens: dict[str, WebToken] = dataclasses.field(default_factory=dict)
    faults: list[Fault] = dataclasses.field(default_factory=list)
    fault_rng: random.Random = dataclasses.field(default_factory=lambda: random.Random(FAULT_SEED))
    issued_ids: set[int] = dataclasses.field(default_factory=set)
    next_mass_id: int = dataclasses.field(
        default_factory=lambda: 1_000_000_000 + secrets.randbelow(2_000_000_000)
    )
    oauth_visitors: int = 0
    # The WeChat Pay platform's signing key and certificate, made on first use (mock.pay).
    pay_platform: Any = None

    def message_id(self) -> int:
        """A fresh 64-bit id, shaped like the platform's MsgId and template msgid."""
        while True:
            value = 10**18 + secrets.randbelow(2**63 - 10**18)
            if value not in self.issued_ids:
                self.issued_ids.add(value)
                return value

    def mass_msg_id(self) -> int:
        value = self.next_mass_id
        self.next_mass_id += 1
        return value

    def opaque(self, length: int) -> str:
        """A random string of letters, digits, '_' and '-' (tokens, codes)."""
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
        return "".join(secrets.choice(alphabet) for _ in range(length))


def default_original_id(app_id: str) -> str:
    return "gh_" + hashlib.sha1(app_id.encode()).hexdigest()[:12]
