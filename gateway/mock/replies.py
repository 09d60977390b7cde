"""What the platform accepts as an answer to a push (platform doc 4.2 and 2.3)."""

from __future__ import annotations

from gateway.mock import state
from gateway.wechat import crypto, signature, xmlcodec

REQUIRED = ("ToUserName", "FromUserName", "CreateTime", "MsgType")


def problem(account: state.Account, openid: str, reply: str) -> str | None:
    """Why the follower would see "this account cannot provide service", or None if fine.

    `success` and an empty body are always fine; anything else must be a passive-reply XML
    addressed to the follower, encrypted with a valid MsgSignature when the account has a key.
    """
    if reply.strip() in ("", "success"):
        return None
    try:
        fields = xmlcodec.parse(reply.encode())
    except xmlcodec.XmlError as exc:
        return f"reply is not XML ({exc})"
    if account.encoding_aes_key is not None:
        missing = [k for k in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce") if k not in fields]
        if missing:
            return "encrypted reply lacks " + ", ".join(missing)
        expected = (account.token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"])
        if not signature.verify(fields["MsgSignature"], *expected):
            return "reply MsgSignature does not verify"
        cipher = crypto.MessageCrypto(account.token, account.encoding_aes_key, account.app_id)
        try:
            fields = xmlcodec.parse(cipher.decrypt(fields["Encrypt"]))
        except crypto.CryptoError as exc:
            return f"reply does not decrypt ({exc.reason})"
        except xmlcodec.XmlError as exc:
            return f"decrypted reply is not XML ({exc})"
    missing = [k for k in REQUIRED if k not in fields]
    if missing:
        return "reply lacks " + ", ".join(missing)
    if fields["ToUserName"] != openid:
        return "reply is not addressed to the follower"
    return None
