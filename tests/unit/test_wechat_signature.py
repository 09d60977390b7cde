"""Callback signatures: the platform's worked examples and the sort-join-SHA-1 contract."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.wechat import signature

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "wechat-vectors.json").read_text("utf-8")
)
SIGNED = [v for group in ("signature", "decrypt") for v in VECTORS[group] if "signature" in v]


@pytest.mark.parametrize("vector", SIGNED, ids=lambda v: v["timestamp"])
def test_vector_signature(vector: dict[str, str]) -> None:
    parts = (vector["token"], vector["timestamp"], vector["nonce"])
    assert signature.sign(*parts) == vector["signature"]
    assert signature.verify(vector["signature"], *parts)
    assert signature.verify(vector["signature"], *reversed(parts))


def test_sign_sorts_then_joins_without_separator() -> None:
    expected = hashlib.sha1(b"15147114921714036504AAAAA").hexdigest()
    assert signature.sign("AAAAA", "1714036504", "1514711492") == expected


def test_sort_is_by_string_not_number() -> None:
    # "10" < "9" as strings; a numeric sort would give "910".
    assert signature.sign("9", "10") == hashlib.sha1(b"109").hexdigest()


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        "f464b24fc39322e44b38aa78f5edd27bd1441697",
        "F464B24FC39322E44B38AA78F5EDD27BD1441696",  # the platform sends lowercase hex
        "f464b24fc39322e44b38aa78f5edd27bd144169",
        "f464b24fc39322e44b38aa78f5edd27bd1441696 ",
        "签名",
        "\ud800",
    ],
)
def test_verify_rejects_anything_but_the_exact_signature(candidate: str) -> None:
    assert not signature.verify(candidate, "AAAAA", "1714036504", "1514711492")


def test_verify_survives_lone_surrogates_in_parts() -> None:
    assert not signature.verify("0" * 40, "AAAAA", "\udfff", "1")


@settings(max_examples=200)
@given(st.lists(st.text(), max_size=5), st.randoms(use_true_random=False))
def test_sign_ignores_order_and_verify_accepts_it(parts: list[str], rnd: Any) -> None:
    shuffled = list(parts)
    rnd.shuffle(shuffled)
    assert signature.sign(*parts) == signature.sign(*shuffled)
    assert signature.verify(signature.sign(*parts), *shuffled)
