"""Webhook tests share the API tests' app fixtures."""

from tests.api.conftest import client, settings  # noqa: F401
