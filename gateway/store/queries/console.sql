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

-- name: console_inbound_list_window
-- console_inbound_list for a time filter that ends in the past ($7 given): the ids of the
-- whole window from the time index alone (it carries id and the type; `|| ''` keeps the
-- planner off the type index, which would read every callback of the type), the page's
-- newest of them, then their rows. The planner takes ids and times as unrelated and would
-- rather walk every newer callback by id.
SELECT e.*
  FROM (SELECT id
          FROM (SELECT id
                  FROM inbound_events
                 WHERE account_id = $1
                   AND ($2::bigint IS NULL OR id < $2)
                   AND ($3::text IS NULL OR openid = $3)
                   AND ($4::text IS NULL OR msg_type || '' = $4)
                   AND ($5::text IS NULL OR lower(event) || '' = $5)
                   AND ($6::timestamptz IS NULL OR received_at >= $6)
                   AND received_at < $7
                OFFSET 0) w
         ORDER BY id DESC
         LIMIT $8) page
  JOIN inbound_events e ON e.account_id = $1 AND e.id = page.id
 ORDER BY e.id DESC;

-- name: console_inbound_newer
-- How many of an account's callbacks were received at or after $2, counted up to $3 (an
-- index range read alone): what walking the log by id from the newest would read first.
SELECT count(*) FROM (SELECT 1 FROM inbound_events
                       WHERE account_id = $1 AND received_at >= $2 LIMIT $3) n;
