"""AES-256-CBC message encryption of WeChat's compatible and safe modes (platform doc 2.2).

Every failure surfaces as `CryptoError` with a short reason; no key, ciphertext or plaintext
ever appears in an error message.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import secrets
import string

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gateway import errors
from gateway.wechat import signature, xmlcodec

_KEY_RE = re.compile(r"[A-Za-z0-9]{43}")
_ALPHANUMERIC = string.ascii_letters + string.digits
_BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
_RANDOM_LEN = 16
_HEADER = _RANDOM_LEN + 4  # random || msg_len (4 bytes, big-endian)
_MAX_MSG = 2**32 - 1


class CryptoError(errors.WxgateError):
    """A message could not be encrypted or decrypted; `reason` names the failed check.

    Reasons: "bad key", "bad appid", "bad base64", "bad length", "bad padding", "bad random",
    "bad plaintext".
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def aes_key(encoding_aes_key: str) -> bytes:
    """Decode a 43-character EncodingAESKey into the 32-byte AES key."""
    if not _KEY_RE.fullmatch(encoding_aes_key):
        raise CryptoError("bad key", "EncodingAESKey must be 43 characters of [A-Za-z0-9]")
    # 43 base64 characters carry 258 bits; the last 2 are dropped by the decoder.
    return base64.b64decode(encoding_aes_key + "=")


def _random16() -> bytes:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(_RANDOM_LEN)).encode("ascii")


def _pad(data: bytes) -> bytes:
    n = _BLOCK - len(data) % _BLOCK
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    n = data[-1]
    if not 1 <= n <= _BLOCK or n > len(data) or data[-n:] != bytes([n]) * n:
        raise CryptoError("bad padding")
    return data[:-n]


@dataclasses.dataclass(frozen=True)
class MessageCrypto:
    """Encrypts replies and decrypts callbacks for one account's token, key and AppID."""

    token: str = dataclasses.field(repr=False)
    encoding_aes_key: str = dataclasses.field(repr=False)
    app_id: str
    _key: bytes = dataclasses.field(init=False, repr=False, compare=False)
    _app_id: bytes = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.app_id or not self.app_id.isascii() or not self.app_id.isprintable():
            raise CryptoError("bad appid", "AppID must be non-empty printable ASCII")
        object.__setattr__(self, "_key", aes_key(self.encoding_aes_key))
        object.__setattr__(self, "_app_id", self.app_id.encode("ascii"))

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, plaintext: bytes | str, random: bytes | None = None) -> str:
        """Return the base64 `Encrypt` value for `plaintext` (str is encoded as UTF-8)."""
        try:
            msg = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        except UnicodeEncodeError:
            raise CryptoError("bad plaintext", "text is not encodable as UTF-8") from None
        rnd = _random16() if random is None else random
        if len(rnd) != _RANDOM_LEN:
            raise CryptoError("bad random", "random must be 16 bytes")
        if len(msg) > _MAX_MSG:
            raise CryptoError("bad length", "message too long")
        full = rnd + len(msg).to_bytes(4, "big") + msg + self._app_id
        encryptor = self._cipher().encryptor()
        sealed = encryptor.update(_pad(full)) + encryptor.finalize()
        return base64.b64encode(sealed).decode("ascii")

    def decrypt(self, encrypt: str) -> bytes:
        """Return the message bytes inside an `Encrypt` value, after checking its AppID."""
        try:
            sealed = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("bad base64") from None
        if not sealed or len(sealed) % 16:
            raise CryptoError("bad length", "ciphertext is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        full = _unpad(decryptor.update(sealed) + decryptor.finalize())
        if len(full) < _HEADER + len(self._app_id):
            raise CryptoError("bad length", "plaintext too short")
        msg_len = int.from_bytes(full[_RANDOM_LEN:_HEADER], "big")
        if msg_len > len(full) - _HEADER:
            # A wrong key shows up here as a garbage length (WxJava#909).
            raise CryptoError("bad length", "message length exceeds the plaintext")
        if full[_HEADER + msg_len :] != self._app_id:
            raise CryptoError("bad appid")
        return full[_HEADER : _HEADER + msg_len]

    def msg_signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """The `msg_signature` over token, timestamp, nonce and the `Encrypt` value."""
        return signature.sign(self.token, timestamp, nonce, encrypt)

    def encrypt_reply(
        self, reply_xml: str, timestamp: str, nonce: str, random: bytes | None = None
    ) -> str:
        """Wrap a passive reply in the encrypted envelope of platform doc 2.3.

        Raises `xmlcodec.XmlError` if timestamp or nonce hold characters XML cannot carry.
        """
        encrypt = self.encrypt(reply_xml, random)
        # TimeStamp is bare in the documented envelope; keep it bare when that round-trips.
        canonical = (
            len(timestamp) <= 20
            and timestamp.isascii()
            and timestamp.isdigit()
            and str(int(timestamp)) == timestamp
        )
        return xmlcodec.build(
            {
                "Encrypt": encrypt,
                "MsgSignature": self.msg_signature(timestamp, nonce, encrypt),
                "TimeStamp": int(timestamp) if canonical else timestamp,
                "Nonce": nonce,
            }
        )
