-- name: wh_endpoint_insert
-- A new endpoint of an account (the account must exist: the foreign key says so).
INSERT INTO webhook_endpoints
       (account_id, id, url, description, event_types, disabled, rate_limit, secret, mode)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *;

-- name: wh_endpoint_list
-- An account's endpoints in id order, after the cursor (never the secrets). The API's list
-- and the console's page both read it.
SELECT id, url, description, event_types, disabled, disabled_reason, rate_limit, mode,
       previous_expires_at, failing_since, created_at, updated_at
  FROM webhook_endpoints
 WHERE account_id = $1 AND ($2::text IS NULL OR id > $2)
 ORDER BY id LIMIT $3;

-- name: wh_endpoint_get
-- One endpoint.
SELECT * FROM webhook_endpoints WHERE account_id = $1 AND id = $2;

-- name: wh_endpoint_lock
-- One endpoint, locked for a change.
SELECT * FROM webhook_endpoints WHERE account_id = $1 AND id = $2 FOR UPDATE;

-- name: wh_endpoint_write
-- The new state of an endpoint (enabling it again forgets its failures).
UPDATE webhook_endpoints
   SET url = $3, description = $4, event_types = $5, disabled = $6, rate_limit = $7,
       disabled_reason = CASE WHEN $6 THEN disabled_reason END,
       failing_since = CASE WHEN $6 THEN failing_since END,
       updated_at = now()
 WHERE account_id = $1 AND id = $2
RETURNING *;

-- name: wh_endpoint_delete
-- Delete an endpoint (locked by wh_endpoint_lock in this transaction, so every statement
-- that wrote deliveries for it has committed) with its deliveries and their attempts.
WITH gone AS (
    DELETE FROM webhook_deliveries WHERE account_id = $1 AND endpoint_id = $2
)
DELETE FROM webhook_endpoints WHERE account_id = $1 AND id = $2 RETURNING *;

-- name: wh_endpoint_rotate
-- A new secret; the current one keeps signing for 24 hours.
UPDATE webhook_endpoints
   SET previous_secret = secret, previous_expires_at = now() + interval '24 hours',
       secret = $3, updated_at = now()
 WHERE account_id = $1 AND id = $2
RETURNING *;

-- name: wh_notify
-- Wake the webhook workers (deliveries became due without an insert).
SELECT pg_notify('wxgate_webhooks', '');

-- name: wh_emit
-- Store one non-callback event and queue it for every matching enabled endpoint.
SELECT wxgate_webhook_emit($1, $2, $3, $4);

-- name: wh_outbox_inbound
-- The outbox of callbacks stored outside the one-statement seed path: one delivery per new
-- event per matching enabled endpoint, in the order the events were stored. The endpoints
-- are locked FOR KEY SHARE (no foreign key checks the rows since 0033).
WITH eps AS (
    SELECT ep.account_id, ep.id, ep.event_types
      FROM webhook_endpoints ep
     WHERE ep.account_id IN (SELECT DISTINCT a FROM unnest($1::text[]) AS u (a))
       AND NOT ep.disabled AND ep.mode = 'deliver'
       FOR KEY SHARE
)
INSERT INTO webhook_deliveries (account_id, endpoint_id, inbound_key, event_type, openid)
SELECT e.account_id, ep.id, e.dedupe_key, t.type, e.openid
  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k (a, dedupe_key, ord)
  JOIN inbound_events e ON e.account_id = k.a AND e.dedupe_key = k.dedupe_key
 CROSS JOIN LATERAL (SELECT wxgate_inbound_type(e.msg_type, e.event) AS type) t
  JOIN eps ep ON ep.account_id = e.account_id
 WHERE wxgate_webhook_matches(ep.event_types, t.type)
 ORDER BY k.ord, ep.id;

-- name: wh_deliveries_list
-- One keyset page of an endpoint's deliveries, newest first, below id $4, of status $3
-- (NULL: any), each with its latest $6 attempts (NULL: all), oldest first. The API's list
-- and the console's page both read it. Run with a custom plan (pool.fetch_planned).
SELECT d.id, d.status, d.attempts, d.event_type, d.openid, d.next_attempt_at, d.created_at,
       d.inbound_key, d.inbound_key IS NOT NULL AS inbound,
       coalesce(ie.id, d.event_id) AS row_id,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                    'at', a.at, 'http_status', a.http_status, 'error', a.error,
                    'latency_ms', a.latency_ms, 'response', a.response) ORDER BY a.id)
                   FROM (SELECT * FROM webhook_attempts x
                          WHERE x.account_id = d.account_id AND x.delivery_id = d.id
                          ORDER BY x.id DESC LIMIT $6) a), '[]') AS log
  FROM webhook_deliveries d
  LEFT JOIN inbound_events ie ON ie.account_id = d.account_id AND ie.dedupe_key = d.inbound_key
 WHERE d.account_id = $1 AND d.endpoint_id = $2
   AND ($3::text IS NULL OR d.status = $3)
   AND ($4::bigint IS NULL OR d.id < $4)
 ORDER BY d.id DESC
 LIMIT $5;

-- name: wh_delivery_retry
-- Once more, now: a finished or waiting delivery is due again (attempts are kept).
UPDATE webhook_deliveries
   SET status = 'pending', next_attempt_at = now(), updated_at = now()
 WHERE account_id = $1 AND endpoint_id = $2 AND id = $3
RETURNING id, status, attempts, event_type, next_attempt_at, created_at;

-- name: wh_replay
-- Queue again, with their original ids, the stored events of [since, until) whose type
-- the endpoint's filter and the request's filter ($5, NULL: all) both accept. The endpoint
-- is locked FOR KEY SHARE (no foreign key checks the rows since 0033).
WITH ep AS (
    -- A reply endpoint is called inside the callback and takes no queued deliveries.
    SELECT account_id, id, event_types FROM webhook_endpoints
     WHERE account_id = $1 AND id = $2 AND mode = 'deliver'
       FOR KEY SHARE
), inbound AS (
    INSERT INTO webhook_deliveries (account_id, endpoint_id, inbound_key, event_type, openid)
    SELECT e.account_id, ep.id, e.dedupe_key, t.type, e.openid
      FROM ep
      JOIN inbound_events e ON e.account_id = ep.account_id
     CROSS JOIN LATERAL (SELECT wxgate_inbound_type(e.msg_type, e.event) AS type) t
     WHERE e.received_at >= $3 AND e.received_at < $4
       AND wxgate_webhook_matches(ep.event_types, t.type)
       AND wxgate_webhook_matches($5, t.type)
     ORDER BY e.id
    RETURNING 1
), other AS (
    INSERT INTO webhook_deliveries (account_id, endpoint_id, event_id, event_type, openid)
    SELECT w.account_id, ep.id, w.id, w.type, coalesce(w.openid, '')
      FROM ep
      JOIN webhook_events w ON w.account_id = ep.account_id
     WHERE w.created_at >= $3 AND w.created_at < $4
       AND wxgate_webhook_matches(ep.event_types, w.type)
       AND wxgate_webhook_matches($5, w.type)
     ORDER BY w.id
    RETURNING 1
)
SELECT (SELECT count(*) FROM inbound) + (SELECT count(*) FROM other) AS count;

-- name: wh_inbound_list
-- Stored callbacks, oldest first, after the cursor: for polling instead of receiving.
SELECT id, openid, msg_type, event, create_time, received_at, fields, raw_xml
  FROM inbound_events
 WHERE account_id = $1
   AND ($2::text IS NULL OR openid = $2)
   AND ($3::text IS NULL OR wxgate_inbound_type(msg_type, event) = $3
        OR (right($3, 2) = '.*' AND wxgate_webhook_matches(ARRAY[$3],
                                                            wxgate_inbound_type(msg_type, event))))
   AND ($4::timestamptz IS NULL OR received_at >= $4)
   AND ($5::timestamptz IS NULL OR received_at < $5)
   AND ($6::bigint IS NULL OR id > $6)
 ORDER BY id
 LIMIT $7;

-- name: wh_queue_depth
-- cross-account: a metrics gauge over every account.
-- Pending deliveries per endpoint, the deepest first (bounded: a gauge per endpoint shown).
-- Counted per endpoint through the lane queue index (0046), which holds the pending rows
-- only: its hash key, then the array as a filter (a row of another lane with the same hash).
SELECT ep.account_id, ep.id AS endpoint_id, c.depth
  FROM webhook_endpoints ep
 CROSS JOIN LATERAL (
       SELECT count(*) AS depth FROM webhook_deliveries d
        WHERE hash_array_extended(ARRAY[d.account_id, d.endpoint_id], 0)
              = hash_array_extended(ARRAY[ep.account_id, ep.id], 0)
          AND ARRAY[d.account_id, d.endpoint_id] = ARRAY[ep.account_id, ep.id]
          AND d.status = 'pending') c
 WHERE c.depth > 0
 ORDER BY c.depth DESC LIMIT $1;

-- name: wh_disabled_count
-- cross-account: a metrics gauge over every account.
-- How many endpoints are disabled.
SELECT count(*) FROM webhook_endpoints WHERE disabled;

-- name: wh_purge_events
-- cross-account: retention sweep, over every account.
-- Retention: non-callback events older than $1, at most $2 per call (with their deliveries).
WITH old AS (
    SELECT account_id, id FROM webhook_events WHERE created_at < $1 LIMIT $2
), gone AS (
    DELETE FROM webhook_deliveries d USING old
     WHERE d.account_id = old.account_id AND d.event_id = old.id
)
DELETE FROM webhook_events e USING old
 WHERE e.account_id = old.account_id AND e.id = old.id;

-- name: wh_purge_deliveries
-- cross-account: retention sweep, over every account.
-- Retention: finished deliveries (with their attempts) last changed before $1, at most $2.
DELETE FROM webhook_deliveries d
 USING (SELECT account_id, id FROM webhook_deliveries
         WHERE status <> 'pending' AND updated_at < $1 LIMIT $2) old
 WHERE d.account_id = old.account_id AND d.id = old.id;
