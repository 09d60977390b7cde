-- Queries of expiry and cancel of deliveries (gateway/store/expiry.py). Times come in as parameters (the worker's clock), so that
-- tests can move time; `now()` is not used here.

-- name: expire_overdue_deliveries
-- cross-account: the expiry sweep, over every account.
-- The expiry sweep: unfinished deliveries of messages past expires_at expire, keeping the reason they waited for; sending rows whose lease ended too (outcome_unknown). Units come back only from rows no attempt of which may have reached WeChat.
WITH due AS (
    SELECT d.account_id, d.id
      FROM messages m
      JOIN deliveries d ON d.account_id = m.account_id AND d.message_id = m.id
     WHERE m.status IN ('queued', 'held', 'sending') AND m.expires_at <= $1
       AND (d.status IN ('queued', 'held') OR (d.status = 'sending' AND d.lease_until < $1))
     LIMIT $2
       FOR UPDATE OF d SKIP LOCKED
), old AS (
    SELECT d.account_id, d.id, d.quota_kind, d.quota_key,
           d.status = 'sending' AS abandoned,
           d.status <> 'sending' AND d.unknown_since IS NULL AS unused
      FROM deliveries d JOIN due USING (account_id, id)
)
UPDATE deliveries d
   SET status = 'expired',
       reason = CASE WHEN old.abandoned THEN 'outcome_unknown' ELSE coalesce(d.reason, 'expired') END,
       unknown_since = CASE WHEN old.abandoned
                            THEN coalesce(d.unknown_since, d.attempted_at, d.updated_at)
                            ELSE d.unknown_since END,
       release_at = NULL, wait_for = NULL, lease_until = NULL, leased_by = NULL,
       quota_kind = CASE WHEN old.unused THEN NULL ELSE d.quota_kind END,
       quota_key = CASE WHEN old.unused THEN NULL ELSE d.quota_key END, updated_at = $1
  FROM old
 WHERE d.account_id = old.account_id AND d.id = old.id
RETURNING d.account_id, d.id, d.message_id, d.openid,
          CASE WHEN old.unused THEN old.quota_kind END AS quota_kind, old.quota_key;

-- name: cancel_message
-- Cancel what has not gone out yet (queued or held rows), returning their units unless an earlier attempt may have reached WeChat (then they stay taken).
UPDATE deliveries d
   SET status = 'canceled', release_at = NULL, wait_for = NULL,
       quota_kind = CASE WHEN old.unused THEN NULL ELSE d.quota_kind END,
       quota_key = CASE WHEN old.unused THEN NULL ELSE d.quota_key END, updated_at = $3
  FROM (SELECT account_id, id, quota_kind, quota_key, unknown_since IS NULL AS unused
          FROM deliveries
         WHERE account_id = $1 AND message_id = $2 AND status IN ('queued', 'held')
         ORDER BY id
           FOR UPDATE) old
 WHERE d.account_id = old.account_id AND d.id = old.id
RETURNING d.account_id, d.id, d.message_id, d.openid,
          CASE WHEN old.unused THEN old.quota_kind END AS quota_kind, old.quota_key;
