"""The console's navigation: the pages of one account (endpoints and deliveries, SPEC 7, and
follower syncs, SPEC 9, and the menu, SPEC 8, included), and the place kept for reply rules,
whose data is not in this build yet (its route module `replies` is to fill in)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Entry:
    slug: str  # the path under /console/accounts/{id}/
    title: str
    available: bool = True


ACCOUNT_PAGES = (
    Entry("", "Overview"),
    Entry("followers", "Followers"),
    Entry("messages", "Messages"),
    Entry("events", "Event log"),
    Entry("endpoints", "Endpoints & deliveries"),
    Entry("menu", "Menu"),  # SPEC 8, read-only
    # SPEC 8: shown greyed out until its route module registers pages.
    Entry("replies", "Reply rules", available=False),
    Entry("syncs", "Follower syncs"),
)
