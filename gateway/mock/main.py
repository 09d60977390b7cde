"""Running the mock platform on its own (`wxgate mock-wechat`)."""

from __future__ import annotations

from aiohttp import web

from gateway.mock import app


def run_mock(host: str, port: int) -> None:
    """Serve the mock platform until interrupted; its API base is http://host:port."""
    web.run_app(app.create_mock_app(), host=host, port=port, print=None)
