"""The API tests' settings and client fixtures: the console is served by the same app."""

from tests.api.conftest import client, settings

__all__ = ["client", "settings"]
