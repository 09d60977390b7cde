"""The console's navigation: the pages of one account, and the places kept for the pages of
SPEC 7-9 (endpoints and deliveries, menu and reply rules, follower syncs), whose data is not
in this build yet; each has its own route module (webhooks, replies, syncs) to fill in."""

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
    # SPEC 7, 8, 9: shown greyed out until their route modules register pages.
    Entry("endpoints", "Endpoints & deliveries", available=False),
    Entry("replies", "Menu & reply rules", available=False),
    Entry("syncs", "Follower syncs", available=False),
)
