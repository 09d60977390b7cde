"""`/api/v1/accounts/{id}/reply-rules` (SPEC 8): PUT replaces the account's rule set after
the domain's check (422 naming the offending path), GET shows it with the reply endpoint.

A PUT takes effect at once in this process (its account cache entry is dropped) and within
the account cache's TTL (account_cache.TTL) in every other process.
"""

from __future__ import annotations

import logging

from aiohttp import web

from gateway.api import bodies, errors, keys, responses
from gateway.api.models import replies
from gateway.domain import reply_content, reply_rules
from gateway.store import replies as store

log = logging.getLogger(__name__)


def _invalid(exc: reply_content.Invalid) -> errors.ApiError:
    details = [
        {"type": "value_error", "loc": list(p.loc), "msg": p.msg, "path": p.path}
        for p in exc.problems
    ]
    return errors.ApiError("validation_error", "reply rules are invalid", details)


def _resource(row: store.RuleSet) -> replies.ReplyRulesResource:
    stored = row.rules or reply_rules.EMPTY.as_json()
    endpoint = None
    if row.endpoint_id is not None:
        endpoint = replies.ReplyEndpoint(
            id=row.endpoint_id, url=row.endpoint_url, disabled=row.endpoint_disabled
        )
    return replies.ReplyRulesResource(
        rules=stored["rules"],
        default_reply=stored.get("default_reply"),
        version=row.version or 0,
        updated_at=row.updated_at,
        reply_endpoint=endpoint,
    )


async def put_rules(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    value = await bodies.read_json_value(request)
    try:
        rules = reply_rules.parse_rule_set(value)
    except reply_content.Invalid as exc:
        raise _invalid(exc) from None
    pool = request.app[keys.POOL]
    await store.put_rules(pool, account_id, rules.as_json())
    row = await store.get_rules(pool, account_id)
    request.app[keys.ACCOUNT_CACHE].forget(account_id)
    log.info(
        "reply rules replaced",
        extra={
            "action": "reply_rules_put",
            "account_id": account_id,
            "rules": len(rules.rules),
            "version": row.version,
        },
    )
    return responses.ok(_resource(row))


async def get_rules(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    row = await store.get_rules(request.app[keys.POOL], account_id)
    return responses.ok(_resource(row))
