"""AES message crypto: the platform's known-answer vectors, every failure path, properties."""

from __future__ import annotations

import base64
import json
import string
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.wechat import crypto, signature, xmlcodec

ROOT = Path(__file__).resolve().parents[2]
VECTORS_FILE = ROOT / "tests" / "data" / "wechat-vectors.json"
SHARED_FILE = ROOT.parent / "shared" / "wechat-vectors.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text("utf-8"))

KEY43 = "A" * 43  # decodes to 32 zero bytes
APP_ID = "wxba5fad812f8e6fb9"
BOX = crypto.MessageCrypto("AAAAA", KEY43, APP_ID)


def seal_raw(full: bytes) -> str:
    """Encrypt an already padded plaintext with the all-zero key, bypassing the module."""
    key = bytes(32)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(full) + encryptor.finalize()).decode()


def open_raw(encrypt: str) -> bytes:
    key = bytes(32)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    return decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()


def pad32(data: bytes) -> bytes:
    n = 32 - len(data) % 32
    return data + bytes([n]) * n


def box_for(vector: dict[str, str]) -> crypto.MessageCrypto:
    return crypto.MessageCrypto(vector["token"], vector["encoding_aes_key"], vector["app_id"])


def test_vector_copy_matches_shared_file() -> None:
    if not SHARED_FILE.exists():
        pytest.skip("../shared is not beside this checkout")
    assert VECTORS_FILE.read_bytes() == SHARED_FILE.read_bytes()


@pytest.mark.parametrize("vector", VECTORS["decrypt"], ids=lambda v: v["random"])
def test_decrypt_vector(vector: dict[str, str]) -> None:
    box = box_for(vector)
    assert box.decrypt(vector["encrypt"]) == vector["plaintext"].encode()
    assert (
        box.msg_signature(vector["timestamp"], vector["nonce"], vector["encrypt"])
        == (vector["msg_signature"])
    )
    assert box.encrypt(vector["plaintext"], vector["random"].encode()) == vector["encrypt"]
    if "signature" in vector:
        parts = (vector["token"], vector["timestamp"], vector["nonce"])
        assert signature.sign(*parts) == vector["signature"]


@pytest.mark.parametrize("vector", VECTORS["encrypt_reply"], ids=lambda v: v["random"])
def test_encrypt_vector(vector: dict[str, str]) -> None:
    box = box_for(vector)
    random = vector["random"].encode()
    assert box.encrypt(vector["plaintext"], random) == vector["encrypt"]
    assert box.encrypt(vector["plaintext"].encode(), random) == vector["encrypt"]
    assert (
        box.msg_signature(vector["timestamp"], vector["nonce"], vector["encrypt"])
        == (vector["msg_signature"])
    )
    envelope = box.encrypt_reply(vector["plaintext"], vector["timestamp"], vector["nonce"], random)
    assert xmlcodec.parse(envelope.encode()) == {
        "Encrypt": vector["encrypt"],
        "MsgSignature": vector["msg_signature"],
        "TimeStamp": vector["timestamp"],
        "Nonce": vector["nonce"],
    }
    assert f"<TimeStamp>{vector['timestamp']}</TimeStamp>" in envelope  # bare, as documented


def test_encrypt_reply_keeps_a_non_canonical_timestamp_verbatim() -> None:
    envelope = xmlcodec.parse(BOX.encrypt_reply("<xml/>", "0123", "n").encode())
    assert envelope["TimeStamp"] == "0123"
    assert signature.verify(envelope["MsgSignature"], "AAAAA", "0123", "n", envelope["Encrypt"])
    assert BOX.decrypt(envelope["Encrypt"]) == b"<xml/>"


def test_aes_key_decodes_43_characters_to_32_bytes() -> None:
    assert crypto.aes_key(KEY43) == bytes(32)
    assert len(crypto.aes_key("kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR")) == 32


@pytest.mark.parametrize(
    "key", ["", "A" * 42, "A" * 44, "A" * 42 + "+", "A" * 42 + "/", "A" * 42 + "=", "A" * 42 + "é"]
)
def test_aes_key_rejects_malformed_keys(key: str) -> None:
    with pytest.raises(crypto.CryptoError) as info:
        crypto.aes_key(key)
    assert info.value.reason == "bad key"
    with pytest.raises(crypto.CryptoError):
        crypto.MessageCrypto("t", key, APP_ID)


@pytest.mark.parametrize("app_id", ["", "wx\n", "wx应用"])
def test_message_crypto_rejects_unusable_app_ids(app_id: str) -> None:
    with pytest.raises(crypto.CryptoError) as info:
        crypto.MessageCrypto("t", KEY43, app_id)
    assert info.value.reason == "bad appid"


def test_repr_hides_token_and_key() -> None:
    secret_box = crypto.MessageCrypto("tokentoken", "Z" * 43, APP_ID)
    assert "tokentoken" not in repr(secret_box)
    assert "Z" * 43 not in repr(secret_box)


def test_default_random_is_16_fresh_alphanumeric_bytes() -> None:
    first, second = BOX.encrypt(b"hi"), BOX.encrypt(b"hi")
    assert first != second
    for sealed in (first, second):
        assert set(open_raw(sealed)[:16].decode()) <= set(string.ascii_letters + string.digits)
        assert BOX.decrypt(sealed) == b"hi"


def test_whole_block_plaintext_gets_a_full_block_of_padding() -> None:
    msg = b"x" * (64 - 16 - 4 - len(APP_ID))  # FullStr is exactly 64 bytes
    full = open_raw(BOX.encrypt(msg, b"0123456789abcdef"))
    assert len(full) == 96 and full[-32:] == bytes([32]) * 32


@pytest.mark.parametrize("random", [b"", b"short", b"x" * 17])
def test_encrypt_rejects_random_of_wrong_length(random: bytes) -> None:
    with pytest.raises(crypto.CryptoError) as info:
        BOX.encrypt(b"hi", random)
    assert info.value.reason == "bad random"


def test_encrypt_rejects_text_that_is_not_utf8_encodable() -> None:
    with pytest.raises(crypto.CryptoError) as info:
        BOX.encrypt("\ud800")
    assert info.value.reason == "bad plaintext"


HEADER = b"0123456789abcdef"
APP = APP_ID.encode()


@pytest.mark.parametrize(
    ("encrypt", "reason"),
    [
        ("", "bad length"),
        ("not base64!", "bad base64"),
        ("QUFB\n", "bad base64"),
        ("加密", "bad base64"),
        ("QUFBQQ", "bad base64"),  # missing padding
        (base64.b64encode(bytes(15)).decode(), "bad length"),
        (base64.b64encode(bytes(40)).decode(), "bad length"),
        (seal_raw(bytes(31) + b"\x00"), "bad padding"),
        (seal_raw(bytes(31) + b"\x21"), "bad padding"),
        (seal_raw(bytes(30) + b"\x01\x02"), "bad padding"),
        (seal_raw(bytes(32) * 2), "bad padding"),
        (seal_raw(pad32(HEADER + b"\x00\x00")), "bad length"),
        (seal_raw(pad32(HEADER + (2**32 - 1).to_bytes(4, "big") + b"m" + APP)), "bad length"),
        (seal_raw(pad32(HEADER + (99).to_bytes(4, "big") + b"m" + APP)), "bad length"),
        (seal_raw(pad32(HEADER + (1).to_bytes(4, "big") + b"m" + APP + b"x")), "bad appid"),
        (seal_raw(pad32(HEADER + (2).to_bytes(4, "big") + b"m" + APP)), "bad appid"),
        (
            seal_raw(pad32(HEADER + (1).to_bytes(4, "big") + b"m" + b"wx0000000000000000")),
            "bad appid",
        ),
        (seal_raw(pad32(HEADER + (0).to_bytes(4, "big") + APP)), None),  # empty message is fine
    ],
)
def test_decrypt_failures_have_a_reason(encrypt: str, reason: str | None) -> None:
    if reason is None:
        assert BOX.decrypt(encrypt) == b""
        return
    with pytest.raises(crypto.CryptoError) as info:
        BOX.decrypt(encrypt)
    assert info.value.reason == reason


@pytest.mark.parametrize("vector", VECTORS["decrypt"], ids=lambda v: v["random"])
def test_decrypt_with_wrong_app_id_or_key_fails_without_leaking(vector: dict[str, str]) -> None:
    other_app = crypto.MessageCrypto("AAAAA", KEY43, "wx0000000000000000")
    with pytest.raises(crypto.CryptoError) as info:
        other_app.decrypt(vector["encrypt"])
    assert info.value.reason == "bad appid"
    other_key = crypto.MessageCrypto("AAAAA", "B" * 43, APP_ID)
    with pytest.raises(crypto.CryptoError) as info:
        other_key.decrypt(vector["encrypt"])
    message = str(info.value)
    assert "B" * 43 not in message and "ToUserName" not in message and "gh_" not in message


SETTINGS = settings(max_examples=250, deadline=None)


@SETTINGS
@given(st.binary(max_size=2048), st.binary(min_size=16, max_size=16) | st.none())
def test_round_trip_bytes(plaintext: bytes, random: bytes | None) -> None:
    assert BOX.decrypt(BOX.encrypt(plaintext, random)) == plaintext


@SETTINGS
@given(st.text(max_size=512))
def test_round_trip_text(plaintext: str) -> None:
    assert BOX.decrypt(BOX.encrypt(plaintext)) == plaintext.encode("utf-8")


def _decrypt_or_crypto_error(encrypt: str) -> None:
    try:
        BOX.decrypt(encrypt)
    except crypto.CryptoError:
        pass


@SETTINGS
@given(st.text(max_size=400))
def test_decrypt_of_arbitrary_text_raises_only_crypto_error(encrypt: str) -> None:
    _decrypt_or_crypto_error(encrypt)


@SETTINGS
@given(
    st.binary(max_size=400)
    | st.integers(1, 12).flatmap(lambda n: st.binary(min_size=16 * n, max_size=16 * n))
)
def test_decrypt_of_arbitrary_base64_raises_only_crypto_error(sealed: bytes) -> None:
    _decrypt_or_crypto_error(base64.b64encode(sealed).decode())


@SETTINGS
@given(
    st.binary(max_size=300)
    | st.tuples(st.integers(0, 2**32 - 1) | st.integers(0, 64), st.binary(max_size=64)).map(
        lambda t: HEADER + t[0].to_bytes(4, "big") + t[1] + APP
    )
)
def test_decrypt_of_arbitrary_well_padded_plaintext_raises_only_crypto_error(full: bytes) -> None:
    # Valid padding under the right key, so the length and AppID checks get exercised.
    _decrypt_or_crypto_error(seal_raw(pad32(full)))


@SETTINGS
@given(st.binary(max_size=300), st.data())
def test_tampered_ciphertext_raises_only_crypto_error(
    plaintext: bytes, data: st.DataObject
) -> None:
    sealed = bytearray(base64.b64decode(BOX.encrypt(plaintext)))
    index = data.draw(st.integers(0, len(sealed) - 1))
    sealed[index] ^= data.draw(st.integers(1, 255))
    _decrypt_or_crypto_error(base64.b64encode(bytes(sealed)).decode())
