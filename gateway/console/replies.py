"""Console pages kept for later: The menu and the reply rules (SPEC 8).

The tables and store functions they read are not in this build. To add the pages: write the
handlers here (reading through gateway.store, as the API does), add their routes in
`register`, and set `available=True` on the matching entry of gateway.console.nav.
"""

from __future__ import annotations

from aiohttp import web


def register(router: web.UrlDispatcher) -> None:
    """Add this module's routes under /console/accounts/{id}/ (none yet)."""
