"""The API token `wxgate run` generates is safe to paste into shells and command lines."""

from __future__ import annotations

import re

from gateway import cli

# Letters and digits only: nothing a shell quotes, nothing a CLI reads as a flag (`-x`).
SAFE = re.compile(r"[A-Za-z0-9]+")


def test_generated_tokens_never_start_with_a_dash_and_need_no_quoting() -> None:
    # One in 64 tokens of the URL-safe alphabet starts with "-": 4096 draws all but surely
    # include one if the alphabet allows it.
    tokens = [cli.new_api_token() for _ in range(4096)]
    unsafe = [t for t in tokens if not SAFE.fullmatch(t)]
    assert unsafe == []
    assert min(len(t) for t in tokens) >= 32  # at least 128 bits of hex or more
    assert len(set(tokens)) == len(tokens)
