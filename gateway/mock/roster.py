"""The mock's followers of one account: those it has seen, plus seeded ones made on demand.

A seed (`POST /_mock/accounts/{app_id}/followers/seed`) adds a block of followers who
subscribed before the gateway existed. A block is three numbers, not a million records: a
seeded follower becomes a `Follower` only when something changes it (an action, a mass
send, a tag); until then its fields are derived from its index in the block.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, MutableMapping
from datetime import datetime, timedelta

OPENID_CHARS = 28
SCENES = (
    "ADD_SCENE_SEARCH",
    "ADD_SCENE_QR_CODE",
    "ADD_SCENE_PROFILE_CARD",
    "ADD_SCENE_ACCOUNT_MIGRATION",
    "ADD_SCENE_OTHERS",
)


@dataclasses.dataclass
class Allowance:
    """One trigger's customer-service allowance under the `wechat-2023` rules."""

    until: datetime
    remaining: int | None  # None: unlimited


@dataclasses.dataclass
class Follower:
    openid: str
    subscribed: bool = False
    subscribed_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    last_interaction: datetime | None = None
    window_end: datetime | None = None  # `seed` profile
    allowances: dict[str, Allowance] = dataclasses.field(default_factory=dict)
    mass_received: list[datetime] = dataclasses.field(default_factory=list)
    subscribe_scene: str = "ADD_SCENE_OTHERS"
    qr_scene: int = 0
    qr_scene_str: str = ""
    remark: str = ""
    unionid: str | None = None


@dataclasses.dataclass(frozen=True)
class SeedBlock:
    """`count` followers `prefix` + a zero-padded index, the last one subscribed at `until`."""

    prefix: str
    count: int
    until: datetime

    @property
    def width(self) -> int:
        return OPENID_CHARS - len(self.prefix)

    def openid(self, index: int) -> str:
        return self.prefix + str(index).zfill(self.width)

    def index(self, openid: str) -> int | None:
        rest = openid[len(self.prefix) :]
        if not openid.startswith(self.prefix) or len(rest) != self.width or not rest.isdigit():
            return None
        value = int(rest)
        return value if value < self.count else None

    def follower(self, index: int) -> Follower:
        """The seeded follower's fields, a pure function of its index."""
        openid = self.openid(index)
        scene = SCENES[index % len(SCENES)]
        return Follower(
            openid,
            subscribed=True,
            subscribed_at=self.until - timedelta(seconds=self.count - 1 - index),
            subscribe_scene=scene,
            qr_scene=1000 + index % 1000 if scene == "ADD_SCENE_QR_CODE" else 0,
            remark=f"seed {index}" if index % 10 == 0 else "",
            unionid="u" + openid[1:] if index % 2 == 0 else None,
        )


class Roster(MutableMapping[str, Follower]):
    """Followers by openid; seeded followers are materialised on first lookup."""

    def __init__(self) -> None:
        self._known: dict[str, Follower] = {}
        self.blocks: list[SeedBlock] = []

    def _locate(self, openid: str) -> tuple[int, int] | None:
        for position, block in enumerate(self.blocks):
            index = block.index(openid)
            if index is not None:
                return position, index
        return None

    def seed(self, block: SeedBlock) -> None:
        """Add a block; prefixes may not overlap, so that every openid has one place."""
        for other in self.blocks:
            if other.prefix.startswith(block.prefix) or block.prefix.startswith(other.prefix):
                raise ValueError(f"prefix {block.prefix!r} overlaps {other.prefix!r}")
        self.blocks.append(block)

    def peek(self, openid: str) -> Follower | None:
        """The follower without materialising a seeded one (read-only use)."""
        known = self._known.get(openid)
        if known is not None:
            return known
        place = self._locate(openid)
        return None if place is None else self.blocks[place[0]].follower(place[1])

    def __getitem__(self, openid: str) -> Follower:
        known = self._known.get(openid)
        if known is None:
            place = self._locate(openid)
            if place is None:
                raise KeyError(openid)
            known = self._known[openid] = self.blocks[place[0]].follower(place[1])
        return known

    def __setitem__(self, openid: str, follower: Follower) -> None:
        self._known[openid] = follower

    def __delitem__(self, openid: str) -> None:
        del self._known[openid]

    def __contains__(self, openid: object) -> bool:
        if not isinstance(openid, str):
            return False
        return openid in self._known or self._locate(openid) is not None

    def _unseeded(self) -> list[str]:
        return [o for o in self._known if self._locate(o) is None]

    def __iter__(self) -> Iterator[str]:
        for block in self.blocks:
            yield from (block.openid(i) for i in range(block.count))
        yield from self._unseeded()

    def __len__(self) -> int:
        return sum(b.count for b in self.blocks) + len(self._unseeded())

    def subscribed_total(self) -> int:
        gone = sum(1 for o, f in self._known.items() if not f.subscribed and self._locate(o))
        return len(self) - gone - sum(1 for o in self._unseeded() if not self._known[o].subscribed)

    def subscribed_after(self, after: str) -> Iterator[str]:
        """Subscribed openids in the listing order, starting after `after` ("" = the start)."""
        start_block, start_index, unseeded_from = 0, 0, 0
        unseeded = self._unseeded()
        if after:
            place = self._locate(after)
            if place is not None:
                start_block, start_index = place[0], place[1] + 1
            elif after in self._known:
                start_block, unseeded_from = len(self.blocks), unseeded.index(after) + 1
            else:
                raise KeyError(after)
        for position in range(start_block, len(self.blocks)):
            block = self.blocks[position]
            first = start_index if position == start_block else 0
            for index in range(first, block.count):
                openid = block.openid(index)
                known = self._known.get(openid)
                if known is None or known.subscribed:
                    yield openid
        for openid in itertools.islice(unseeded, unseeded_from, None):
            if self._known[openid].subscribed:
                yield openid
