"""The mock WeChat platform as the benchmarks run it: `gateway.mock` unchanged, on uvloop,
logging at WARNING, plus two bench-only routes:

- `POST /_bench/followers` `{"app_id", "openids": [..], "window": "open"|"closed"}`: the mock
  learns many subscribed followers at once (the benchmarks seed the gateway's side with SQL);
- `GET /_bench/sent/{app_id}?since=N`: the sent log from entry N on, compact:
  `[[at_epoch_s, path, errcode, touser_or_count, text_content], ...]`.

Run: `python -m bench.mock_server PORT [JOB_FINISH_DELAY_S]`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys
from typing import Any

import uvloop
from aiohttp import web

from gateway.mock import app as mock_app
from gateway.mock import keys, state

WINDOW = dt.timedelta(hours=48)


async def seed_followers(request: web.Request) -> web.Response:
    body = await request.json()
    account = request.app[keys.STATE].accounts[body["app_id"]]
    now = dt.datetime.now(dt.UTC)
    opened = now if body.get("window", "open") == "open" else now - 3 * WINDOW
    for openid in body["openids"]:
        account.followers[openid] = state.Follower(
            openid,
            subscribed=True,
            subscribed_at=opened,
            last_interaction=opened,
            window_end=opened + WINDOW,
            allowances={"message": state.Allowance(opened + WINDOW, 5)},
        )
    return web.json_response({"followers": len(account.followers)})


def _compact(record: state.SentRecord) -> list[Any]:
    body = record.body if isinstance(record.body, dict) else {}
    touser = body.get("touser")
    who = len(touser) if isinstance(touser, list) else touser
    text = body.get("text")
    content = text.get("content") if isinstance(text, dict) else None
    return [record.at.timestamp(), record.path, record.errcode, who, content]


async def sent(request: web.Request) -> web.Response:
    account = request.app[keys.STATE].accounts[request.match_info["app_id"]]
    since = int(request.query.get("since", "0"))
    return web.json_response({"sent": [_compact(r) for r in account.sent[since:]]})


def main() -> None:
    port = int(sys.argv[1])
    job_finish_delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.05
    logging.basicConfig(level=logging.WARNING)
    app = mock_app.create_mock_app(job_finish_delay=job_finish_delay)
    app.router.add_post("/_bench/followers", seed_followers)
    app.router.add_get("/_bench/sent/{app_id}", sent)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
