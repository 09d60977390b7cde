"""The encoding mode an account gets at creation and when its key changes (SPEC 2.2)."""

from __future__ import annotations

import pytest

from gateway.domain import encoding

P, C, S = (
    encoding.EncodingMode.PLAINTEXT,
    encoding.EncodingMode.COMPATIBLE,
    encoding.EncodingMode.SAFE,
)


@pytest.mark.parametrize(
    ("requested", "has_key", "current", "had_key", "expected"),
    [
        (None, True, None, False, S),  # created with a key
        (None, False, None, False, P),  # created without
        (C, True, None, False, C),
        (None, True, C, True, C),  # key rotated: the mode stays
        (None, False, S, True, P),  # key removed
        (None, True, P, False, S),  # key added
        (P, True, S, True, P),  # asked for
        (None, False, P, False, P),
    ],
)
def test_resolve_mode(
    requested: encoding.EncodingMode | None,
    has_key: bool,
    current: encoding.EncodingMode | None,
    had_key: bool,
    expected: encoding.EncodingMode,
) -> None:
    assert encoding.resolve_mode(requested, has_key, current, had_key) is expected


@pytest.mark.parametrize("mode", [C, S])
def test_encrypted_modes_need_a_key(mode: encoding.EncodingMode) -> None:
    with pytest.raises(encoding.ModeNeedsKey):
        encoding.resolve_mode(mode, False)
    with pytest.raises(encoding.ModeNeedsKey):
        encoding.resolve_mode(None, False, mode, False)


def test_only_safe_refuses_plaintext() -> None:
    assert [encoding.accepts_plaintext(m) for m in (P, C, S)] == [True, True, False]
