-- name: reply_rules_put
-- Replace an account's rule set; the version grows by one on each PUT.
INSERT INTO reply_rules AS r (account_id, rules)
VALUES ($1, $2)
ON CONFLICT (account_id) DO UPDATE
   SET rules = EXCLUDED.rules, version = r.version + 1, updated_at = now()
RETURNING rules, version, updated_at;

-- name: reply_rules_get
-- An account's rule set (no row: none was ever PUT) and its reply endpoint, in one look.
SELECT r.rules, r.version, r.updated_at, ep.id AS endpoint_id, ep.url AS endpoint_url,
       ep.disabled AS endpoint_disabled
  FROM accounts a
  LEFT JOIN reply_rules r ON r.account_id = a.id
  LEFT JOIN webhook_endpoints ep ON ep.account_id = a.id AND ep.mode = 'reply'
 WHERE a.id = $1;

-- name: reply_stored
-- The reply a callback already stored was answered with (the row: stored; reply_xml NULL:
-- it was answered `success`).
SELECT reply_xml FROM inbound_events WHERE account_id = $1 AND dedupe_key = $2;
