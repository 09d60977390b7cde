"""Request examples of the OpenAPI document, by operationId. They name the resources a fresh
install would have (account `acme`, a follower, message 1); the schemathesis test seeds those
and replays the examples."""

from __future__ import annotations

from typing import Any

OPENID = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"

REQUESTS: dict[str, dict[str, Any]] = {
    "createAccount": {
        "service": {
            "id": "acme",
            "kind": "service",
            "app_id": "wx0123456789abcdef",
            "app_secret": "app-secret-from-the-console",
            "token": "tok3n",
            "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            "encoding_mode": "safe",
            "oauth_redirect_hosts": ["shop.example.com"],
        }
    },
    "updateAccount": {"upgrade": {"kind": "service"}, "rotate": {"rotate_oauth_signing_key": True}},
    "createMessage": {
        "customer_service": {
            "type": "customer_service",
            "to": OPENID,
            "content": {"msgtype": "text", "text": {"content": "Your order has shipped"}},
            "idempotency_key": "order-42-shipped",
        },
        "template": {
            "type": "template",
            "to": OPENID,
            "template": {
                "template_id": "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
                "data": {"thing1": {"value": "chocolate"}, "amount2": {"value": "39.8"}},
                "url": "https://shop.example.com/orders/42",
            },
        },
        "mass": {
            "type": "mass",
            "audience": {"tag_id": 2},
            "content": {"msgtype": "mpnews", "mpnews": {"media_id": "MEDIA_ID"}},
            "not_before": "2030-01-01T09:00:00+08:00",
        },
        "red_pack": {
            "type": "red_pack",
            "to": OPENID,
            "red_pack": {"amount": 888, "wishing": "Thank you!", "act_name": "Spring sale"},
            "idempotency_key": "order-42-thanks",
        },
    },
    "createQrCode": {
        "temporary": {"scene": 123, "expire_seconds": 604800},
        "permanent": {"scene": "store-7", "permanent": True},
    },
    "putReplyRules": {
        "welcome_and_keywords": {
            "rules": [
                {
                    "name": "welcome",
                    "match": {"on": "subscribe"},
                    "reply": {"msgtype": "text", "text": {"content": "Welcome!"}},
                },
                {
                    "name": "hours",
                    "match": {"on": "text", "keyword": "hours", "mode": "contains"},
                    "reply": {"msgtype": "text", "text": {"content": "Open 9 to 18"}},
                },
                {
                    "name": "order number",
                    "match": {"on": "text", "regex": "^[0-9]{8}$"},
                    "reply": {"msgtype": "transfer_customer_service"},
                },
            ],
            "default_reply": {"msgtype": "text", "text": {"content": "Write 'hours'"}},
        }
    },
    "putMenu": {
        "menu": {
            "button": [
                {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC"},
                {
                    "name": "菜单",
                    "sub_button": [
                        {"type": "view", "name": "搜索", "url": "https://www.soso.com/"},
                        {"type": "click", "name": "赞一下我们", "key": "V1001_GOOD"},
                    ],
                },
            ]
        }
    },
}
