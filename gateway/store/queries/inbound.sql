-- name: inbound_account
-- What the callback path needs to verify, decrypt and apply a callback for one account.
SELECT id, kind, app_id, token, encoding_aes_key, previous_aes_key, rule_profile
  FROM accounts WHERE id = $1;

-- name: inbound_insert_events
-- Store a batch of callbacks; retries of one push share a dedupe key and are skipped.
INSERT INTO inbound_events
       (account_id, dedupe_key, openid, msg_type, event, event_key, msg_id, create_time,
        received_at, fields)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::timestamptz[], $9::timestamptz[], $10::jsonb[])
ON CONFLICT (account_id, dedupe_key) DO NOTHING
RETURNING account_id, dedupe_key;

-- name: inbound_lock_followers
-- Make sure each follower of the batch has a row, then lock them in a stable order.
WITH wanted AS (
    SELECT DISTINCT a, o FROM unnest($1::text[], $2::text[]) AS t (a, o)
), created AS (
    INSERT INTO followers (account_id, openid)
    SELECT a, o FROM wanted
    ON CONFLICT (account_id, openid) DO NOTHING
    RETURNING account_id, openid, subscribed, window_ends_at, window_remaining,
              first_qr_scene, last_interaction_at
)
SELECT account_id, openid, subscribed, window_ends_at, window_remaining, first_qr_scene,
       last_interaction_at
  FROM created
UNION ALL
SELECT f.account_id, f.openid, f.subscribed, f.window_ends_at, f.window_remaining,
       f.first_qr_scene, f.last_interaction_at
  FROM (SELECT * FROM followers f
         WHERE (f.account_id, f.openid) IN (SELECT a, o FROM wanted)
         ORDER BY f.account_id, f.openid
           FOR UPDATE) f;

-- name: inbound_update_followers
-- Write the new state of every follower the batch touched.
UPDATE followers f
   SET subscribed = u.subscribed,
       subscribed_at = coalesce(u.subscribed_at, f.subscribed_at),
       unsubscribed_at = coalesce(u.unsubscribed_at, f.unsubscribed_at),
       last_interaction_at = coalesce(u.last_interaction_at, f.last_interaction_at),
       last_interaction = coalesce(u.last_interaction, f.last_interaction),
       window_ends_at = u.window_ends_at,
       window_remaining = u.window_remaining,
       first_qr_scene = coalesce(f.first_qr_scene, u.first_qr_scene),
       latest_qr_scene = coalesce(u.latest_qr_scene, f.latest_qr_scene),
       updated_at = now()
  FROM unnest($1::text[], $2::text[], $3::boolean[], $4::timestamptz[], $5::timestamptz[],
              $6::timestamptz[], $7::text[], $8::timestamptz[], $9::integer[], $10::text[],
              $11::text[])
       AS u (account_id, openid, subscribed, subscribed_at, unsubscribed_at,
             last_interaction_at, last_interaction, window_ends_at, window_remaining,
             first_qr_scene, latest_qr_scene)
 WHERE f.account_id = u.account_id AND f.openid = u.openid;

-- name: inbound_wake_deliveries
-- Followers who interacted or re-subscribed: their held deliveries are due now; wake workers.
WITH woke AS (
    UPDATE deliveries d
       SET release_at = now(), updated_at = now()
      FROM unnest($1::text[], $2::text[]) AS w (a, o)
     WHERE d.account_id = w.a AND d.openid = w.o
       AND d.status = 'held' AND d.wait_for IS NOT NULL
    RETURNING d.account_id
)
SELECT pg_notify('wxgate_release', account_id) FROM (SELECT DISTINCT account_id FROM woke) s;
