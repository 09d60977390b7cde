-- name: wh_record_claim
-- The outcome of attempts and the claim of replacements in one statement (one round trip per
-- cycle of a worker's freed slots): the outcomes $1-$11 are written (an attempt row each, the
-- delivery delivered / retried / failed, the endpoint's failure streak, disabling once every
-- attempt failed for $2; rows whose lease another worker took over are left to it), then the
-- endpoints of the recorded rows (enabled, not disabled by these outcomes, without a
-- rate_limit: those are claimed by wh_claim) get up to $14 in flight again, counting every
-- worker's live leases but the rows just recorded; at most $13 rows, leased until
-- $12 + $15 s to worker $1. The same statement's snapshot still shows the recorded rows
-- pending and never tried, so they are left out of the claim and of the order rule by id.
-- Rows: kind 'delivery' (a recorded row's new status), 'disabled' (endpoint_id), 'claimed'
-- (what a request needs, as wh_claim returns).
WITH r AS (
    SELECT *
      FROM unnest($3::text[], $4::bigint[], $5::boolean[], $6::integer[], $7::text[],
                  $8::float8[], $9::text[], $10::timestamptz[], $11::timestamptz[])
           AS t (account_id, id, ok, http_status, error, latency_ms, response, at, next_at)
), upd AS (
    UPDATE webhook_deliveries d
       SET attempts = d.attempts + 1,
           status = CASE WHEN r.ok THEN 'delivered'
                         WHEN r.next_at IS NULL THEN 'failed' ELSE 'pending' END,
           next_attempt_at = coalesce(r.next_at, d.next_attempt_at),
           lease_until = NULL, leased_by = NULL, updated_at = r.at
      FROM r
     WHERE d.account_id = r.account_id AND d.id = r.id AND d.leased_by = $1
       AND d.status = 'pending'
    RETURNING d.account_id, d.id, d.endpoint_id, r.ok, r.at, d.status
), att AS (
    INSERT INTO webhook_attempts
           (account_id, delivery_id, at, http_status, error, latency_ms, response)
    SELECT r.account_id, r.id, r.at, r.http_status, r.error, r.latency_ms, r.response
      FROM r JOIN upd u ON u.account_id = r.account_id AND u.id = r.id
), streak AS (
    SELECT u.account_id, u.endpoint_id, w.disabled AS was_disabled,
           max(u.at) AS last_at,
           CASE WHEN bool_or(u.ok) THEN NULL
                ELSE coalesce(w.failing_since, min(u.at)) END AS since
      FROM upd u
      JOIN webhook_endpoints w ON w.account_id = u.account_id AND w.id = u.endpoint_id
     GROUP BY u.account_id, u.endpoint_id, w.disabled, w.failing_since
), verdict AS (
    SELECT s.*, (NOT s.was_disabled AND s.since IS NOT NULL AND s.last_at - s.since >= $2)
                AS disable
      FROM streak s
), eps AS (
    -- Written only when something changed: a success streak rewrites nothing.
    UPDATE webhook_endpoints e
       SET failing_since = v.since,
           disabled = e.disabled OR v.disable,
           disabled_reason = CASE WHEN v.disable
                                  THEN 'every attempt failed since '
                                       || to_char(v.since AT TIME ZONE 'UTC',
                                                  'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                                  ELSE e.disabled_reason END,
           updated_at = CASE WHEN v.disable THEN v.last_at ELSE e.updated_at END
      FROM verdict v
     WHERE e.account_id = v.account_id AND e.id = v.endpoint_id
       AND (e.failing_since IS DISTINCT FROM v.since OR v.disable)
    RETURNING e.account_id, e.id, v.disable
), done AS MATERIALIZED (
    SELECT account_id, id FROM r
), slots AS MATERIALIZED (
    SELECT f.account_id, f.endpoint_id AS id,
           $14 - (SELECT count(*) FROM webhook_deliveries b
                   WHERE b.account_id = f.account_id AND b.endpoint_id = f.endpoint_id
                     AND b.status = 'pending' AND b.lease_until >= $12
                     AND (b.account_id, b.id) NOT IN (SELECT account_id, id FROM done))
           AS free
      FROM (SELECT DISTINCT account_id, endpoint_id FROM upd) f
      JOIN webhook_endpoints ep ON ep.account_id = f.account_id AND ep.id = f.endpoint_id
     WHERE NOT ep.disabled AND ep.rate_limit IS NULL
       AND NOT EXISTS (SELECT 1 FROM verdict v
                        WHERE v.account_id = f.account_id AND v.endpoint_id = f.endpoint_id
                          AND v.disable)
), pick AS MATERIALIZED (
    SELECT c.account_id, c.id, c.next_attempt_at
      FROM slots s
     CROSS JOIN LATERAL (
           SELECT d.account_id, d.id, d.next_attempt_at
             FROM webhook_deliveries d
            WHERE d.account_id = s.account_id AND d.endpoint_id = s.id
              AND d.status = 'pending' AND d.next_attempt_at <= $12
              AND (d.lease_until IS NULL OR d.lease_until < $12)
              AND (d.account_id, d.id) NOT IN (SELECT account_id, id FROM done)
              AND (SELECT e.id FROM webhook_deliveries e
                    WHERE e.account_id = d.account_id AND e.endpoint_id = d.endpoint_id
                      AND e.openid = d.openid AND e.status = 'pending' AND e.attempts = 0
                      AND e.id < d.id
                      AND (e.account_id, e.id) NOT IN (SELECT account_id, id FROM done)
                    LIMIT 1) IS NULL
            ORDER BY d.next_attempt_at, d.id
            LIMIT s.free) c
     WHERE s.free > 0
     ORDER BY c.next_attempt_at, c.id
     LIMIT $13
), locked AS (
    SELECT d.account_id, d.id, d.endpoint_id, d.inbound_key, d.event_id
      FROM webhook_deliveries d
      JOIN pick p ON p.account_id = d.account_id AND p.id = d.id
     WHERE d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until < $12)
       FOR UPDATE OF d SKIP LOCKED
), claimed AS (
    UPDATE webhook_deliveries d
       SET lease_until = $12 + make_interval(secs => $15), leased_by = $1
      FROM locked l
      JOIN webhook_endpoints ep ON ep.account_id = l.account_id AND ep.id = l.endpoint_id
      LEFT JOIN inbound_events ie
             ON ie.account_id = l.account_id AND ie.dedupe_key = l.inbound_key
      LEFT JOIN webhook_events we ON we.account_id = l.account_id AND we.id = l.event_id
     WHERE d.account_id = l.account_id AND d.id = l.id
    RETURNING d.account_id, d.id, d.endpoint_id, d.event_type, d.attempts, d.created_at,
              ep.url, ep.secret, ep.previous_secret, ep.previous_expires_at, ep.rate_limit,
              (d.inbound_key IS NOT NULL) AS inbound, coalesce(ie.id, we.id) AS row_id,
              ie.openid AS in_openid, ie.create_time AS in_create_time,
              ie.fields AS in_fields, ie.raw_xml AS in_raw_xml,
              coalesce(ie.received_at, we.created_at) AS event_created_at, we.data AS data
)
SELECT 'claimed' AS kind, NULL::text AS status, c.* FROM claimed c
UNION ALL
SELECT 'delivery', u.status, u.account_id, u.id, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM upd u
UNION ALL
SELECT 'disabled', NULL, e.account_id, NULL, e.id, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM eps e WHERE e.disable;
