"""The OpenAPI operations of the reply-rules routes (SPEC 8), part of /api/openapi.json."""

from __future__ import annotations

from gateway.api import openapi_ops
from gateway.api.models import replies

Op = openapi_ops.Operation
_RULES = "/api/v1/accounts/{id}/reply-rules"

OPERATIONS: tuple[openapi_ops.Operation, ...] = (
    Op(
        "put",
        _RULES,
        "putReplyRules",
        "Replace the account's reply rules (at most 200; the first that matches answers; "
        "default_reply answers user messages no rule matched). Checked against WeChat's "
        "limits: a 422 names each offending path, e.g. rules[3].reply.text.content. Takes "
        "effect at once on this process, within 5 s on the others",
        {200: ("the rule set stored", replies.ReplyRulesResource)},
        (404,),
        replies.ReplyRules,
    ),
    Op(
        "get",
        _RULES,
        "getReplyRules",
        "The account's reply rules (empty before the first PUT) and its reply endpoint",
        {200: ("the rule set", replies.ReplyRulesResource)},
        (404,),
    ),
)
