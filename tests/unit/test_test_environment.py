"""The suite runs without the shell's WXGATE_* settings: tests/conftest.py clears them."""

from __future__ import annotations

import os

import pytest

from gateway import settings


def test_no_wxgate_variable_reaches_a_test() -> None:
    assert [name for name in os.environ if name.startswith("WXGATE_")] == []


def test_settings_are_the_defaults_unless_a_test_sets_one(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.load().port == settings.Settings.model_fields["port"].default
    monkeypatch.setenv("WXGATE_PORT", "8123")
    assert settings.load().port == 8123
