"""Callback encoding modes (SPEC 2.2): which callback forms an account accepts, and the mode
an account gets when it is created or its AES key is set or removed."""

from __future__ import annotations

import enum

from gateway import errors


class EncodingMode(enum.StrEnum):
    # WeChat's console names: 明文 plaintext, 兼容 compatible, 安全 safe.
    PLAINTEXT = "plaintext"
    COMPATIBLE = "compatible"
    SAFE = "safe"


class ModeNeedsKey(errors.WxgateError, ValueError):
    """An encrypted mode (compatible, safe) needs an encoding_aes_key to decrypt with."""


def default_mode(has_key: bool) -> EncodingMode:
    """Safe when there is a key (the URL signature covers no body), else plaintext."""
    return EncodingMode.SAFE if has_key else EncodingMode.PLAINTEXT


def resolve_mode(
    requested: EncodingMode | None,
    has_key: bool,
    current: EncodingMode | None = None,
    had_key: bool = False,
) -> EncodingMode:
    """The mode after a create (`current` None) or a change. Unasked, a new account and an
    account whose key was just set or removed get `default_mode`; otherwise the mode stays.
    Raises ModeNeedsKey for an encrypted mode without a key."""
    if requested is not None:
        mode = requested
    elif current is None or had_key != has_key:
        mode = default_mode(has_key)
    else:
        mode = current
    if mode is not EncodingMode.PLAINTEXT and not has_key:
        raise ModeNeedsKey(f"encoding_mode {mode.value!r} needs an encoding_aes_key")
    return mode


def accepts_plaintext(mode: EncodingMode) -> bool:
    """Whether a callback without encryption may be taken: not in safe mode, where a captured
    (signed) URL could otherwise carry any body."""
    return mode is not EncodingMode.SAFE
