"""The mock WeChat platform: an independent simulator of the platform's side of the API.

It shares only the protocol code (signature, AES, XML) with the gateway, never its rule core,
so that its own implementation of the platform's rules catches the gateway's mistakes.
Entry points: `app.create_mock_app(...)` (standalone, or `add_subapp("/mock-wechat", ...)`)
and `main.run_mock(host, port)`.

Choices and extensions, where the platform is silent or a test needs a handle:
- `GET /connect/oauth2/authorize` takes an optional `openid` naming the consenting follower;
  without it, a fresh deterministic openid is used. Consent is automatic.
- The sent log (`GET /_mock/accounts/{app_id}/sent` -> {"sent": [...]}) holds every call made
  with one of the account's access tokens (also stale ones) and `/sns/userinfo`; token fetches
  and OAuth code exchanges are counted in `GET /_mock/accounts/{app_id}` instead, so that no
  secret lands in the log. Calls with no or an unknown token belong to no account.
- Verdicts: "ok", "violation: ..." (accepted, but the caller broke a rule: a mass message by
  openid list or tag reached over-quota or unsubscribed followers, which the platform filters),
  "refused: <errmsg>", and "duplicate: ..." for a template `client_msg_id` repeat, which is
  answered with the original msgid and not delivered (`"delivered": false`).
- `GET /_mock/accounts/{app_id}/callbacks` lists every push with its delivery outcome; an
  answer other than `success`/empty is checked as a passive reply (`reply_problem`).
- Follower actions are refused with 409 when impossible (a message from a non-follower, a
  second subscribe), and `scan`/`pay` with 400 on subscription accounts. A `scan` uses the
  ticket of a live QR code with that scene if there is one, else a made-up ticket.
- Retried pushes repeat the body, CreateTime, timestamp, nonce and signatures exactly.
- `wechat-2023`: each trigger (message, follow/scan/click, payment) keeps its own allowance,
  reset to full by a new trigger of its kind; a send uses the one expiring first.
- Seeded followers (`POST /_mock/accounts/{app_id}/followers/seed {"count", "prefix"?}`) are
  openids `prefix` + zero-padded index (28 characters), subscribed one second apart before the
  seed, made on demand (`roster`); `user/get` lists seeded followers first, then the others in
  the order the mock met them. A tag mass skips members over quota as the platform does; it
  is a violation only when it reaches none of its members.
- WeChat Pay: an account registered with `pay_notify_url` and `apiv3_key` (and `mch_id`) gets
  a signed, encrypted API v3 notification for each `pay` action (`amount`, `out_trade_no`),
  re-signed on every retry; the platform certificate is at `GET /_mock/pay/certificate`.
  Red packs and coupons (`/mmpaymkttransfers/sendredpack`, `.../send_coupon`) take JSON with an
  access token, not the real XML over a merchant certificate (see `paysend`).
"""
