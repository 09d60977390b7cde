"""The API tests' settings fixture, and where the browser tests save their screenshots."""

from tests.api.conftest import settings

__all__ = ["settings"]
