-- name: console_session_insert
-- A console session: the hash of its id, its token (NULL: the administrator's, with the
-- hash of that token in $3), its CSRF token, its end.
INSERT INTO console_sessions (id_hash, token_id, admin_hash, csrf, expires_at)
VALUES ($1, $2, $3, $4, $5);

-- name: console_session_get
-- cross-account: console sessions and API tokens are global; reference tables on Citus.
-- A live session with its token's grant; a revoked token has no sessions.
SELECT s.token_id, s.admin_hash, s.csrf, s.expires_at,
       t.name, t.all_accounts, t.accounts, t.scopes
  FROM console_sessions s
  LEFT JOIN api_tokens t ON t.id = s.token_id
 WHERE s.id_hash = $1 AND s.expires_at > now()
   AND (s.token_id IS NULL OR t.revoked_at IS NULL);

-- name: console_session_delete
-- cross-account: console sessions are global (a token spans accounts); a reference table on Citus.
-- Sign-out.
DELETE FROM console_sessions WHERE id_hash = $1;

-- name: console_session_purge
-- cross-account: retention sweep of the global console sessions.
-- Sessions past their end (a bounded batch, at each sign-in).
DELETE FROM console_sessions
 WHERE id_hash IN (SELECT id_hash FROM console_sessions WHERE expires_at <= now() LIMIT 1000);

-- name: console_follower_counts
-- An account's followers and open windows at $2, each counted up to $3 (bounded reads).
SELECT (SELECT count(*) FROM (SELECT 1 FROM followers
                               WHERE account_id = $1 LIMIT $3) f) AS followers,
       (SELECT count(*) FROM (SELECT 1 FROM followers
                               WHERE account_id = $1 AND subscribed LIMIT $3) s) AS subscribed,
       (SELECT count(*) FROM (SELECT 1 FROM followers
                               WHERE account_id = $1 AND window_ends_at > $2
                                 AND coalesce(window_remaining > 0, true) LIMIT $3) w)
           AS open_windows;

-- name: console_message_counts
-- An account's messages of each status in $2, each counted up to $3.
SELECT s.status,
       (SELECT count(*) FROM (SELECT 1 FROM messages m
                               WHERE m.account_id = $1 AND m.status = s.status LIMIT $3) x) AS n
  FROM unnest($2::text[]) AS s (status);

-- name: console_held_reasons
-- An account's held messages by reason, over at most $2 of them.
SELECT coalesce(reason, '') AS reason, count(*) AS n
  FROM (SELECT reason FROM messages WHERE account_id = $1 AND status = 'held' LIMIT $2) h
 GROUP BY 1
 ORDER BY 2 DESC, 1;

-- name: console_callbacks_per_minute
-- Callbacks stored for an account since $2, per minute.
SELECT date_trunc('minute', received_at) AS minute, count(*) AS n
  FROM inbound_events
 WHERE account_id = $1 AND received_at >= $2
 GROUP BY 1;

-- name: console_sends_per_minute
-- Deliveries of an account sent since $2, per minute.
SELECT date_trunc('minute', sent_at) AS minute, count(*) AS n
  FROM deliveries
 WHERE account_id = $1 AND sent_at >= $2
 GROUP BY 1;

-- name: console_inbound_list
-- One keyset page of an account's stored callbacks, newest first, below id $2, filtered by
-- openid $3, msg_type $4, event (lower case) $5, received since $6 and before $7. The page's
-- ids come first (from an index alone where the filters allow: a time window of a million
-- rows is not read from the table), then their rows. Run with a custom plan
-- (pool.fetch_planned), so each given filter uses its index.
SELECT e.*
  FROM (SELECT id
          FROM inbound_events
         WHERE account_id = $1
           AND ($2::bigint IS NULL OR id < $2)
           AND ($3::text IS NULL OR openid = $3)
           AND ($4::text IS NULL OR msg_type = $4)
           AND ($5::text IS NULL OR lower(event) = $5)
           AND ($6::timestamptz IS NULL OR received_at >= $6)
           AND ($7::timestamptz IS NULL OR received_at < $7)
         ORDER BY id DESC
         LIMIT $8) page
  JOIN inbound_events e ON e.account_id = $1 AND e.id = page.id
 ORDER BY e.id DESC;

-- name: console_inbound_near
-- The first read of console_inbound_list for a time filter ending where many callbacks were
-- received after it (inbound_log.list_events): the ids of the $8 callbacks received last
-- before $7 (and not after the cursor $2's own receipt: a deep cursor starts there), walked
-- backwards on the time index (`|| ''` keeps the planner off the type index), and the id
-- above which the page's other ids lie: the lowest of them; 0 (every id) when they are
-- fewer than $8 because of the cursor's time; none above (the max) when they are all.
WITH cursor_row AS (
    SELECT received_at FROM inbound_events WHERE account_id = $1 AND id = $2
), near AS (
    SELECT id
      FROM inbound_events
     WHERE account_id = $1
       AND ($2::bigint IS NULL OR id < $2)
       AND ($3::text IS NULL OR openid = $3)
       AND ($4::text IS NULL OR msg_type || '' = $4)
       AND ($5::text IS NULL OR lower(event) || '' = $5)
       AND ($6::timestamptz IS NULL OR received_at >= $6)
       AND received_at < $7
       AND received_at <= coalesce((SELECT received_at FROM cursor_row), 'infinity')
     ORDER BY received_at DESC, id DESC
     LIMIT $8
)
SELECT coalesce(array_agg(id), '{}') AS ids,
       CASE WHEN count(*) = $8 THEN min(id)
            WHEN EXISTS (SELECT FROM cursor_row) THEN 0
            ELSE 9223372036854775807 END AS above
  FROM near;

-- name: console_inbound_late
-- The rest of that page's candidates: callbacks with ids above $8 received before $7 (the
-- filters as console_inbound_list's). Run with only bitmap scans allowed, so it reads the
-- block ranges of the BRIN index on (id, received_at) whose ids reach above $8 and whose
-- times reach below $7 (where ids ascend with receipt times, the few around $8). `|| ''`
-- keeps the filters' btrees out (each would read most of the log, as would the time index
-- or the primary key, which the planner costs above the BRIN index).
SELECT id
  FROM inbound_events
 WHERE id > $8
   AND received_at < $7
   AND account_id = $1
   AND ($2::bigint IS NULL OR id < $2)
   AND ($3::text IS NULL OR openid || '' = $3)
   AND ($4::text IS NULL OR msg_type || '' = $4)
   AND ($5::text IS NULL OR lower(event) || '' = $5)
   AND ($6::timestamptz IS NULL OR received_at >= $6);

-- name: console_inbound_rows
-- The rows of a page's ids, newest first.
SELECT * FROM inbound_events WHERE account_id = $1 AND id = ANY($2::bigint[]) ORDER BY id DESC;

-- name: console_inbound_newer
-- How many of an account's callbacks were received at or after $2, counted up to $3 (an
-- index range read alone): what walking the log by id from the newest would read first.
SELECT count(*) FROM (SELECT 1 FROM inbound_events
                       WHERE account_id = $1 AND received_at >= $2 LIMIT $3) n;

-- name: console_inbound_newer_matching
-- console_inbound_newer for a filter by openid $4 or type ($5, event in lower case $6):
-- walked by id from the newest on the filter's index, as console_inbound_list walks it
-- (`+ interval '0'` keeps the planner off the time index, which would read every newer
-- callback of other types).
SELECT count(*) FROM (SELECT 1 FROM inbound_events
                       WHERE account_id = $1
                         AND ($4::text IS NULL OR openid = $4)
                         AND ($5::text IS NULL OR msg_type = $5)
                         AND ($6::text IS NULL OR lower(event) = $6)
                         AND received_at + interval '0' >= $2
                       ORDER BY id DESC LIMIT $3) n;
