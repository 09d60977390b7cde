-- name: console_endpoints_failing
-- An account's endpoints whose attempts have all failed since failing_since, up to $2.
SELECT count(*) AS n
  FROM (SELECT 1 FROM webhook_endpoints
         WHERE account_id = $1 AND failing_since IS NOT NULL LIMIT $2) f;

-- name: console_inbound_deliveries
-- The webhook deliveries of the stored callbacks with dedupe keys $2 (at most $3 per
-- callback, newest first).
SELECT k.key AS inbound_key, d.id, d.endpoint_id, d.status, d.attempts
  FROM unnest($2::text[]) AS k (key)
 CROSS JOIN LATERAL (
       SELECT id, endpoint_id, status, attempts FROM webhook_deliveries
        WHERE account_id = $1 AND inbound_key = k.key
        ORDER BY id DESC LIMIT $3) d
 ORDER BY k.key, d.id DESC;

-- name: console_webhook_attempts_per_minute
-- Webhook delivery attempts of an account since $2, per minute.
SELECT date_trunc('minute', at) AS minute, count(*) AS n
  FROM webhook_attempts
 WHERE account_id = $1 AND at >= $2
 GROUP BY 1;

-- name: console_sync_list
-- One keyset page of an account's follower syncs, newest first, below id $2.
SELECT id, status, error, errcode, pages, followers_seen, total, started_at, finished_at
  FROM follower_syncs
 WHERE account_id = $1 AND ($2::bigint IS NULL OR id < $2)
 ORDER BY id DESC
 LIMIT $3;
