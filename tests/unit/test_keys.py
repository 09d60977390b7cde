"""Idempotency key formats (scheduler.work): within the platforms' limits, random per
delivery, and the id-derived form kept for rows from before the random key existed."""

from __future__ import annotations

import re
import uuid

import pytest

from scheduler import work

KEYS = [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), *(uuid.uuid4() for _ in range(50))]


@pytest.mark.parametrize("send_key", KEYS)
def test_pay_key_is_28_letters_and_digits_at_most(send_key: uuid.UUID) -> None:
    key = work.pay_key("acme", 7, send_key)
    assert re.fullmatch(r"wxg[0-9A-Za-z]{22}", key)
    assert work.pay_key("acme", 7, send_key) == key  # the same for every retry


@pytest.mark.parametrize("send_key", KEYS)
def test_delivery_key_is_within_64_bytes(send_key: uuid.UUID) -> None:
    key = work.delivery_key("a" * 64, 2**62, send_key)
    assert key == f"wxgate-{send_key.hex}" and len(key.encode()) <= work.MAX_KEY_BYTES


def test_keys_of_equal_ids_differ_by_send_key() -> None:
    one, two = uuid.uuid4(), uuid.uuid4()
    assert work.pay_key("acme", 1, one) != work.pay_key("acme", 1, two)
    assert work.delivery_key("acme", 1, one) != work.delivery_key("acme", 1, two)


def test_rows_without_a_send_key_keep_their_old_keys() -> None:
    assert work.delivery_key("acme", 12) == "wxgate-acme-12"
    assert re.fullmatch(r"wxg[0-9a-f]{8}0{15}12", work.pay_key("acme", 12))
