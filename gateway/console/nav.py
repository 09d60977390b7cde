"""The console's navigation: the pages of one account (endpoints and deliveries, SPEC 7, the
menu and the reply rules, SPEC 8, and follower syncs, SPEC 9, included). An entry with
`available=False` is shown greyed out (a page not in this build)."""

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
    Entry("replies", "Reply rules"),  # SPEC 8, read-only
    Entry("syncs", "Follower syncs"),
)
