-- name: console_endpoint_list
-- One keyset page of an account's endpoints in id order after $2 (never the secrets).
SELECT id, url, description, event_types, disabled, disabled_reason, failing_since,
       rate_limit, created_at, updated_at
  FROM webhook_endpoints
 WHERE account_id = $1 AND ($2::text IS NULL OR id > $2)
 ORDER BY id
 LIMIT $3;

-- name: console_endpoints_failing
-- An account's endpoints whose attempts have all failed since failing_since, up to $2.
SELECT count(*) AS n
  FROM (SELECT 1 FROM webhook_endpoints
         WHERE account_id = $1 AND failing_since IS NOT NULL LIMIT $2) f;

-- name: console_delivery_list
-- One keyset page of an endpoint's deliveries, newest first, below id $4, of status $3
-- (NULL: any), each with its latest $6 attempts (newest first) and the first 1 KiB of
-- each answer.
SELECT d.id, d.status, d.attempts, d.event_type, d.openid, d.next_attempt_at, d.created_at,
       d.inbound_key,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'id', a.id, 'at', a.at, 'http_status', a.http_status, 'error', a.error,
                    'latency_ms', a.latency_ms, 'response', left(a.response, 1024))
                    ORDER BY a.id DESC)
                   FROM (SELECT * FROM webhook_attempts x
                          WHERE x.account_id = d.account_id AND x.delivery_id = d.id
                          ORDER BY x.id DESC LIMIT $6) a), '[]') AS log
  FROM webhook_deliveries d
 WHERE d.account_id = $1 AND d.endpoint_id = $2
   AND ($3::text IS NULL OR d.status = $3)
   AND ($4::bigint IS NULL OR d.id < $4)
 ORDER BY d.id DESC
 LIMIT $5;

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
