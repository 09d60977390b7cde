"""What the platform accepts as an answer to a push (platform doc 4.2 and 2.3), and the
passive reply it carried, decrypted and parsed (SPEC 5.1)."""

from __future__ import annotations

from typing import Any

from lxml import etree

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


def _tree(element: etree._Element) -> dict[str, Any]:
    """{tag: text} with nested elements as dicts, and repeated <item>s as a list (news)."""
    out: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "item":
            out.setdefault("item", []).append(_tree(child))
        elif len(child):
            inner = _tree(child)
            out[child.tag] = inner.get("item", inner) if list(inner) == ["item"] else inner
        else:
            out[child.tag] = (child.text or "").strip()
    return out


def parsed(account: state.Account, reply: str) -> dict[str, Any] | None:
    """The passive reply as a dict (decrypted when encrypted), or None for `success`, an
    empty answer or one the platform would not accept."""
    if reply.strip() in ("", "success"):
        return None
    try:
        fields = xmlcodec.parse(reply.encode())
        xml = reply.encode()
        if "Encrypt" in fields and account.encoding_aes_key is not None:
            cipher = crypto.MessageCrypto(account.token, account.encoding_aes_key, account.app_id)
            xml = cipher.decrypt(fields["Encrypt"])
        xmlcodec.parse(xml)  # the safe parser first: no DTD, no entities
        return _tree(etree.fromstring(xml))
    except (xmlcodec.XmlError, crypto.CryptoError, etree.LxmlError):
        return None
