-- name: wh_lanes
-- A worker's lanes (README "Webhooks"): if $9, renews until $3 the lanes $4/$5 it holds
-- (those still its own and enabled come back; a lost one does not) and the leases of the
-- deliveries $6/$7 it holds (queued, in flight or awaiting their record); takes up to $8 more
-- lanes (never one of $4/$5): those of enabled endpoints with a due delivery whose lane is
-- free, lapsed at $1 or already $2's (SKIP LOCKED: two workers never take the same lane).
-- Rows: each lane renewed or taken.
WITH still AS MATERIALIZED (
    -- the held deliveries still $2's and pending, locked by key (see wh_record's `mine`)
    SELECT h.account_id, h.id
      FROM (SELECT * FROM unnest($6::text[], $7::bigint[]) AS u (account_id, id)
             WHERE $9 ORDER BY 1, 2) h
     CROSS JOIN LATERAL (
           SELECT d.leased_by, d.status
             FROM webhook_deliveries d
            WHERE d.account_id = h.account_id AND d.id = h.id
           OFFSET 0
              FOR NO KEY UPDATE) x
     WHERE x.leased_by = $2 AND x.status = 'pending'
), held AS (
    UPDATE webhook_deliveries d
       SET lease_until = $3
      FROM still h
     WHERE d.account_id = h.account_id AND d.id = h.id
), mine AS (
    -- After `still` (the count, always true, makes it run first): deliveries are locked
    -- before endpoints, as wh_record does (its failure streak writes the endpoint after its
    -- deliveries); the other order deadlocked with a record.
    UPDATE webhook_endpoints e
       SET lane_until = $3
      FROM unnest($4::text[], $5::text[]) AS l (account_id, id)
     WHERE $9 AND e.account_id = l.account_id AND e.id = l.id AND e.lane_owner = $2
       AND NOT e.disabled AND (SELECT count(*) FROM still) >= 0
    RETURNING e.account_id, e.id, e.rate_limit
), free AS (
    SELECT ep.account_id, ep.id
      FROM webhook_endpoints ep
     WHERE NOT ep.disabled AND ep.mode = 'deliver'
       AND (ep.lane_until IS NULL OR ep.lane_until < $1 OR ep.lane_owner = $2)
       AND (ep.account_id, ep.id) NOT IN (SELECT * FROM unnest($4::text[], $5::text[]))
       -- the lane queue index (0046) by its hash key, the array itself as a filter
       AND EXISTS (SELECT 1 FROM webhook_deliveries d
                    WHERE hash_array_extended(ARRAY[d.account_id, d.endpoint_id], 0)
                          = hash_array_extended(ARRAY[ep.account_id, ep.id], 0)
                      AND ARRAY[d.account_id, d.endpoint_id] = ARRAY[ep.account_id, ep.id]
                      AND d.status = 'pending' AND d.next_attempt_at <= $1)
     LIMIT $8
       FOR UPDATE OF ep SKIP LOCKED
), took AS (
    UPDATE webhook_endpoints e
       SET lane_owner = $2, lane_until = $3
      FROM free f
     WHERE e.account_id = f.account_id AND e.id = f.id
    RETURNING e.account_id, e.id, e.rate_limit
)
SELECT account_id, id, rate_limit FROM mine
UNION ALL
SELECT account_id, id, rate_limit FROM took;

-- name: wh_claim
-- The one claim: lease until $3 to worker $2 up to n due deliveries of each lane
-- ($4/$5/$6: account, endpoint, n) that $2 holds at $1 (pending, due, not leased, endpoint
-- enabled), in (next_attempt_at, id) order. A delivery is left out while an earlier
-- never-attempted delivery of the same follower to the same endpoint is pending outside this
-- claim: the worker sends a follower's claimed rows one at a time in id order, so a follower's
-- events are first attempted in stored order. That earlier delivery, when due and free, is
-- claimed in its place (so a short claim always makes progress). Returns what a request
-- needs: the endpoint and the event's row.
WITH want AS (
    SELECT * FROM unnest($4::text[], $5::text[], $6::integer[]) AS w (account_id, endpoint_id, n)
), cand AS MATERIALIZED (
    SELECT c.account_id, c.id, c.endpoint_id, c.openid
      FROM want w
      JOIN webhook_endpoints ep
        ON ep.account_id = w.account_id AND ep.id = w.endpoint_id
       AND ep.lane_owner = $2 AND ep.lane_until >= $1 AND NOT ep.disabled
     CROSS JOIN LATERAL (
           SELECT d.account_id, d.id, d.endpoint_id, d.openid
             FROM webhook_deliveries d
            -- the lane queue index (0046), the one index keyed by this hash: the endpoint's
            -- pending rows in claim order, statistics or not; the array, which no index has,
            -- is compared as a filter (a row of another lane with the same hash; account_id)
            WHERE hash_array_extended(ARRAY[d.account_id, d.endpoint_id], 0)
                  = hash_array_extended(ARRAY[w.account_id, w.endpoint_id], 0)
              AND ARRAY[d.account_id, d.endpoint_id] = ARRAY[w.account_id, w.endpoint_id]
              AND d.status = 'pending' AND d.next_attempt_at <= $1
              AND (d.lease_until IS NULL OR d.lease_until < $1)
            ORDER BY d.next_attempt_at, d.id
            LIMIT w.n) c
), ids AS MATERIALIZED (
    SELECT coalesce(array_agg(id), '{}') AS a FROM cand
), behind AS MATERIALIZED (
    -- Each lane's never-attempted pending rows below its highest candidate that this claim
    -- does not take (leased, locked, or later in claim order): every row that can hold a
    -- candidate back is one of them. Read from the fresh index (0046), the one index keyed
    -- by this hash of (account, endpoint): an id range at the lane's left end, statistics
    -- or not (OFFSET 0 keeps it a probe per lane); a row of another lane with the same hash
    -- is dropped by `ready`.
    SELECT e.account_id, e.endpoint_id, e.openid, e.id, e.next_attempt_at, e.lease_until
      FROM (SELECT account_id, endpoint_id, max(id) AS top
              FROM cand GROUP BY account_id, endpoint_id) l
     CROSS JOIN ids
     CROSS JOIN LATERAL (
           SELECT e.account_id, e.endpoint_id, e.openid, e.id, e.next_attempt_at, e.lease_until
             FROM webhook_deliveries e
            WHERE hashtextextended(e.endpoint_id, hashtext(e.account_id))
                  = hashtextextended(l.endpoint_id, hashtext(l.account_id))
              AND e.account_id = l.account_id
              AND e.status = 'pending' AND e.attempts = 0
              AND e.id < l.top AND e.id <> ALL (ids.a)
           OFFSET 0) e
), ready AS (
    -- The candidates with no row of their follower (same lane) among `behind` below them; and
    -- for a follower whose candidate that holds back, its earliest row of `behind` in its
    -- place when that one is due and not leased: it comes later in claim order (a `retry` of
    -- a pending row, two writers' clocks), so a short claim would otherwise meet the same
    -- held-back candidates again and again and never send the lane's rows. At most one row
    -- for each held-back candidate, so at most n a lane. One sort of both sets by follower
    -- (bytewise: only equality matters), whatever their sizes (a join planned without
    -- statistics may loop over both).
    SELECT y.account_id, y.id, y.endpoint_id, y.openid
      FROM (SELECT x.*,
                   min(x.id) FILTER (WHERE NOT x.cand) OVER w AS first_behind,
                   max(x.id) FILTER (WHERE x.cand) OVER w AS last_cand
              FROM (SELECT account_id, endpoint_id, openid, id, true AS cand, true AS free
                      FROM cand
                    UNION ALL
                    SELECT account_id, endpoint_id, openid, id, false,
                           next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
                      FROM behind) x
            WINDOW w AS (PARTITION BY x.account_id COLLATE "C", x.endpoint_id COLLATE "C",
                         x.openid COLLATE "C")) y
     WHERE CASE WHEN y.cand THEN y.first_behind IS NULL OR y.id < y.first_behind
                ELSE y.id = y.first_behind AND y.last_cand > y.first_behind AND y.free END
), locked AS MATERIALIZED (
    -- each ready row locked by key (see wh_record's `mine`), still pending and not leased;
    -- with its endpoint the list index (account, endpoint, id) is an exact probe too, not a
    -- read of the account's rows filtered by id
    SELECT x.account_id, x.id, x.endpoint_id, r.openid, x.ctid
      FROM (SELECT account_id, id, endpoint_id, openid FROM ready ORDER BY account_id, id) r
     CROSS JOIN LATERAL (
           SELECT d.ctid, d.account_id, d.id, d.endpoint_id, d.status, d.lease_until,
                  d.next_attempt_at
             FROM webhook_deliveries d
            WHERE d.account_id = r.account_id AND d.id = r.id
              AND d.endpoint_id = r.endpoint_id
           OFFSET 0
              FOR NO KEY UPDATE SKIP LOCKED) x
     WHERE x.status = 'pending' AND (x.lease_until IS NULL OR x.lease_until < $1)
       AND x.next_attempt_at <= $1  -- a failure recorded meanwhile keeps its wait
), kept AS (
    -- A row waits while an earlier ready row of its follower could not be locked (another
    -- transaction holds it: a lapsed lease's former owner, the API's retry or cancel). When
    -- every ready row was locked (nearly always) the rows go as they are: the check is one
    -- count, and the sort below does not run. Else one sort by follower, as in `ready`
    -- (nested probes of these CTEs cost n^3 at n rows).
    SELECT l.ctid
      FROM locked l
     WHERE (SELECT count(*) FROM locked) = (SELECT count(*) FROM ready)
    UNION ALL
    SELECT z.ctid
      FROM (SELECT u.*,
                   min(u.id) FILTER (WHERE NOT u.got)
                       OVER (PARTITION BY u.account_id COLLATE "C", u.endpoint_id COLLATE "C",
                             u.openid COLLATE "C") AS first_missing
              FROM (SELECT l.account_id, l.id, l.endpoint_id, l.openid, l.ctid, true AS got
                      FROM locked l
                    UNION ALL
                    SELECT r.account_id, r.id, r.endpoint_id, r.openid, NULL::tid, false
                      FROM ready r
                      LEFT JOIN locked k ON k.account_id = r.account_id AND k.id = r.id
                     WHERE k.id IS NULL) u) z
     WHERE (SELECT count(*) FROM locked) <> (SELECT count(*) FROM ready)
       AND z.got AND (z.first_missing IS NULL OR z.id < z.first_missing)
), leased AS (
    -- each kept row by the tuple `locked` locked (nobody can have moved it since)
    UPDATE webhook_deliveries d
       SET lease_until = $3, leased_by = $2
      FROM kept k
     WHERE d.ctid = k.ctid
    RETURNING d.account_id, d.id, d.endpoint_id, d.openid, d.event_type, d.attempts,
              d.created_at, d.inbound_key, d.event_id
)
-- what the requests need: the endpoint, and the event's row probed by its key
SELECT d.account_id, d.id, d.endpoint_id, d.openid, d.event_type, d.attempts, d.created_at,
       ep.url, ep.secret, ep.previous_secret, ep.previous_expires_at, ep.rate_limit,
       (d.inbound_key IS NOT NULL) AS inbound, coalesce(ie.id, we.id) AS row_id,
       ie.openid AS in_openid, ie.create_time AS in_create_time,
       ie.fields AS in_fields, ie.raw_xml AS in_raw_xml,
       coalesce(ie.received_at, we.created_at) AS event_created_at, we.data AS data
  FROM leased d
  JOIN webhook_endpoints ep ON ep.account_id = d.account_id AND ep.id = d.endpoint_id
  LEFT JOIN LATERAL (
        SELECT ie.id, ie.openid, ie.create_time, ie.fields, ie.raw_xml, ie.received_at
          FROM inbound_events ie
         WHERE ie.account_id = d.account_id AND ie.dedupe_key = d.inbound_key
        OFFSET 0) ie ON true
  LEFT JOIN LATERAL (
        SELECT we.id, we.created_at, we.data
          FROM webhook_events we
         WHERE we.account_id = d.account_id AND we.id = d.event_id
        OFFSET 0) we ON true;

-- name: wh_lanes_release
-- Give back lanes $3/$4 of worker $1 that have nothing in flight, and the deliveries $5/$6
-- it claimed and did not send (claimable again at once). A rate-limited endpoint's lane stays
-- closed until $2 + $7 s (one rate window after the last start), an other's is free at once.
WITH rows AS (
    UPDATE webhook_deliveries d
       SET lease_until = NULL, leased_by = NULL
      FROM unnest($5::text[], $6::bigint[]) AS h (account_id, id)
     WHERE d.account_id = h.account_id AND d.id = h.id AND d.leased_by = $1
       AND d.status = 'pending'
    RETURNING 1
)
-- the deliveries first (the count, always true, runs `rows` before any endpoint is locked),
-- as wh_record and wh_lanes lock them
UPDATE webhook_endpoints e
   SET lane_owner = NULL,
       lane_until = CASE WHEN e.rate_limit IS NULL THEN NULL
                         ELSE $2::timestamptz + make_interval(secs => $7) END
  FROM unnest($3::text[], $4::text[]) AS l (account_id, id)
 WHERE e.account_id = l.account_id AND e.id = l.id AND e.lane_owner = $1
   AND (SELECT count(*) FROM rows) >= 0;

-- name: wh_record
-- The outcome of attempts, many in one statement: the outcomes $3-$11 are written (an attempt
-- row each, the delivery delivered / retried / failed, the endpoint's failure streak,
-- disabling once every attempt failed for $2; rows whose lease another worker took over are
-- left to it). Rows: kind 'delivery' (a recorded row's new status), 'disabled' (endpoint_id).
WITH r AS (
    SELECT *
      FROM unnest($3::text[], $4::bigint[], $5::boolean[], $6::integer[], $7::text[],
                  $8::float8[], $9::text[], $10::timestamptz[], $11::timestamptz[])
           AS t (account_id, id, ok, http_status, error, latency_ms, response, at, next_at)
), mine AS MATERIALIZED (
    -- Each outcome's delivery locked through its primary key, one probe per outcome in key
    -- order, then kept if still $1's and pending. The probe holds only the key (OFFSET 0
    -- keeps it one): with the status and lease in it, statistics taken while the table was
    -- small (a burst grows it faster than autovacuum analyzes) rate the pending rows at one
    -- and the plan reads every pending row, or the whole table, per statement or per row.
    SELECT k.account_id, k.id
      FROM (SELECT account_id, id FROM r ORDER BY account_id, id) k
     CROSS JOIN LATERAL (
           SELECT d.leased_by, d.status
             FROM webhook_deliveries d
            WHERE d.account_id = k.account_id AND d.id = k.id
           OFFSET 0
              FOR NO KEY UPDATE) x
     WHERE x.leased_by = $1 AND x.status = 'pending'
), upd AS (
    -- locked above, so nobody changed them since: the key alone picks them
    UPDATE webhook_deliveries d
       SET attempts = d.attempts + 1,
           status = CASE WHEN r.ok THEN 'delivered'
                         WHEN r.next_at IS NULL THEN 'failed' ELSE 'pending' END,
           next_attempt_at = coalesce(r.next_at, d.next_attempt_at),
           lease_until = NULL, leased_by = NULL, updated_at = r.at
      FROM mine m
      JOIN r ON r.account_id = m.account_id AND r.id = m.id
     WHERE d.account_id = m.account_id AND d.id = m.id
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
)
SELECT 'delivery' AS kind, u.status, u.account_id, u.id, NULL::text AS endpoint_id FROM upd u
UNION ALL
SELECT 'disabled', NULL, e.account_id, NULL, e.id FROM eps e WHERE e.disable;
