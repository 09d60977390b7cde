-- name: inbound_account
-- What the callback path needs to verify, decrypt, answer and apply a callback for one
-- account: with its reply rules (and their version) and its enabled reply endpoint. The rule
-- set itself only when its version is not $2, the one the caller has compiled already.
SELECT a.id, a.kind, a.app_id, a.token, a.encoding_aes_key, a.previous_aes_key,
       a.aes_key_rotated_at, a.rule_profile, a.encoding_mode, a.original_id,
       r.version AS rules_version,
       CASE WHEN r.version IS DISTINCT FROM $2::integer THEN r.rules END AS rules,
       ep.id AS reply_endpoint_id, ep.url AS reply_url, ep.event_types AS reply_event_types,
       ep.secret, ep.previous_secret, ep.previous_expires_at
  FROM accounts a
  LEFT JOIN reply_rules r ON r.account_id = a.id
  LEFT JOIN webhook_endpoints ep
         ON ep.account_id = a.id AND ep.mode = 'reply' AND NOT ep.disabled
 WHERE a.id = $1;

-- name: inbound_insert_events
-- Store a batch of callbacks with their passive replies; retries of one push share a dedupe
-- key and are skipped.
INSERT INTO inbound_events
       (account_id, dedupe_key, openid, msg_type, event, event_key, msg_id, create_time,
        received_at, fields, raw_xml, reply_xml)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::timestamptz[], $9::timestamptz[], $10::jsonb[],
                     $11::text[], $12::text[])
ON CONFLICT (account_id, dedupe_key) DO NOTHING
RETURNING account_id, dedupe_key, reply_xml;

-- name: inbound_stored_replies
-- The passive replies of callbacks already stored (retries: they are answered the same).
SELECT e.account_id, e.dedupe_key, e.reply_xml
  FROM unnest($1::text[], $2::text[]) AS k (a, d)
  JOIN inbound_events e ON e.account_id = k.a AND e.dedupe_key = k.d;

-- name: inbound_lock_followers
-- Make sure each follower of the batch has a row, then lock them in a stable order.
WITH wanted AS (
    SELECT DISTINCT a, o FROM unnest($1::text[], $2::text[]) AS t (a, o)
), created AS (
    INSERT INTO followers (account_id, openid)
    SELECT a, o FROM wanted
    ON CONFLICT (account_id, openid) DO NOTHING
    RETURNING account_id, openid, subscribed, window_ends_at, window_remaining,
              first_qr_scene, last_interaction_at, subscription_at
)
SELECT account_id, openid, subscribed, window_ends_at, window_remaining, first_qr_scene,
       last_interaction_at, subscription_at
  FROM created
UNION ALL
SELECT f.account_id, f.openid, f.subscribed, f.window_ends_at, f.window_remaining,
       f.first_qr_scene, f.last_interaction_at, f.subscription_at
  FROM (SELECT * FROM followers f
         WHERE (f.account_id, f.openid) IN (SELECT a, o FROM wanted)
         ORDER BY f.account_id, f.openid
           FOR UPDATE) f;

-- name: inbound_update_followers
-- Write the new state of every follower the batch touched.
UPDATE followers f
   SET subscribed = u.subscribed,
       subscription_at = u.subscription_at,
       subscribed_at = greatest(u.subscribed_at, f.subscribed_at),
       unsubscribed_at = greatest(u.unsubscribed_at, f.unsubscribed_at),
       last_interaction_at = coalesce(u.last_interaction_at, f.last_interaction_at),
       last_interaction = coalesce(u.last_interaction, f.last_interaction),
       window_ends_at = u.window_ends_at,
       window_remaining = u.window_remaining,
       first_qr_scene = coalesce(f.first_qr_scene, u.first_qr_scene),
       latest_qr_scene = coalesce(u.latest_qr_scene, f.latest_qr_scene),
       updated_at = now()
  FROM unnest($1::text[], $2::text[], $3::boolean[], $4::timestamptz[], $5::timestamptz[],
              $6::timestamptz[], $7::text[], $8::timestamptz[], $9::integer[], $10::text[],
              $11::text[], $12::timestamptz[])
       AS u (account_id, openid, subscribed, subscribed_at, unsubscribed_at,
             last_interaction_at, last_interaction, window_ends_at, window_remaining,
             first_qr_scene, latest_qr_scene, subscription_at)
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

-- name: inbound_ingest_seed
-- The whole batch in one statement, for seed-profile accounts (the default): store the events
-- (retries skipped), fold each follower's new events into their row (the seed window is
-- max(end, last interaction + 48 h)), wake their held deliveries, notify the workers. One
-- statement is one round trip and its own transaction. Mirrors gateway.store.inbound.apply
-- for the seed profile; tests/integration/test_ingest_sql.py checks both agree.
WITH input AS (
    SELECT *
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                  $7::text[], $8::timestamptz[], $9::timestamptz[], $10::jsonb[],
                  $11::timestamptz[], $12::text[], $13::text[], $14::smallint[],
                  $15::text[], $16::text[])
           WITH ORDINALITY
           AS t (account_id, dedupe_key, openid, msg_type, event, event_key, msg_id,
                 create_time, received_at, fields, at, interaction, scene, sub_change,
                 raw_xml, reply_xml, ord)
), ins AS (
    INSERT INTO inbound_events
           (account_id, dedupe_key, openid, msg_type, event, event_key, msg_id, create_time,
            received_at, fields, raw_xml, reply_xml)
    SELECT account_id, dedupe_key, openid, msg_type, event, event_key, msg_id, create_time,
           received_at, fields, raw_xml, reply_xml
      FROM input
    ON CONFLICT (account_id, dedupe_key) DO NOTHING
    RETURNING account_id, dedupe_key, reply_xml
), old AS (
    -- Retries: the reply the stored event was answered with (only rows not inserted now are
    -- looked up). A duplicate committed concurrently, after this statement's snapshot, is
    -- not seen here: gateway.store.inbound looks it up in a statement of its own.
    SELECT e.account_id, e.dedupe_key, e.reply_xml
      FROM input i
      JOIN inbound_events e USING (account_id, dedupe_key)
     WHERE NOT EXISTS (SELECT 1 FROM ins
                        WHERE ins.account_id = i.account_id AND ins.dedupe_key = i.dedupe_key)
), fresh AS (
    SELECT i.* FROM input i JOIN ins USING (account_id, dedupe_key)
), agg AS (
    SELECT account_id, openid,
           -- The subscription is what the latest event by time says (ties: the later arrival).
           (array_agg(sub_change <> -1 ORDER BY at DESC, ord DESC)
               FILTER (WHERE sub_change <> 0 OR interaction IS NOT NULL))[1] AS subscribed,
           max(at) FILTER (WHERE sub_change <> 0 OR interaction IS NOT NULL) AS subscription_at,
           max(at) FILTER (WHERE sub_change = 1) AS subscribed_at,
           max(at) FILTER (WHERE sub_change = -1) AS unsubscribed_at,
           max(at) FILTER (WHERE interaction IS NOT NULL) AS interacted_at,
           (array_agg(interaction ORDER BY at DESC, ord DESC)
               FILTER (WHERE interaction IS NOT NULL))[1] AS interaction,
           (array_agg(scene ORDER BY ord) FILTER (WHERE scene IS NOT NULL))[1] AS first_scene,
           (array_agg(scene ORDER BY ord DESC) FILTER (WHERE scene IS NOT NULL))[1] AS last_scene
      FROM fresh
     WHERE event IS DISTINCT FROM 'TEMPLATESENDJOBFINISH'
       AND event IS DISTINCT FROM 'MASSSENDJOBFINISH'
     GROUP BY account_id, openid
), upsert AS (
    INSERT INTO followers AS f
           (account_id, openid, subscribed, subscribed_at, unsubscribed_at, last_interaction_at,
            last_interaction, window_ends_at, window_remaining, first_qr_scene, latest_qr_scene,
            subscription_at)
    SELECT account_id, openid, coalesce(subscribed, false), subscribed_at, unsubscribed_at,
           interacted_at, interaction, interacted_at + interval '48 hours', NULL, first_scene,
           last_scene, subscription_at
      FROM agg
    ON CONFLICT (account_id, openid) DO UPDATE
       -- An event older than the latest one applied leaves the subscription as it is.
       SET subscribed = CASE WHEN EXCLUDED.subscription_at
                                  >= coalesce(f.subscription_at, '-infinity')
                             THEN EXCLUDED.subscribed ELSE f.subscribed END,
           subscription_at = greatest(f.subscription_at, EXCLUDED.subscription_at),
           subscribed_at = greatest(EXCLUDED.subscribed_at, f.subscribed_at),
           unsubscribed_at = greatest(EXCLUDED.unsubscribed_at, f.unsubscribed_at),
           last_interaction = CASE WHEN EXCLUDED.last_interaction_at
                                        >= coalesce(f.last_interaction_at, '-infinity')
                                   THEN EXCLUDED.last_interaction
                                   ELSE f.last_interaction END,
           last_interaction_at = greatest(f.last_interaction_at, EXCLUDED.last_interaction_at),
           window_ends_at = greatest(f.window_ends_at, EXCLUDED.window_ends_at),
           window_remaining = CASE WHEN EXCLUDED.window_ends_at IS NULL
                                   THEN f.window_remaining END,
           first_qr_scene = coalesce(f.first_qr_scene, EXCLUDED.first_qr_scene),
           latest_qr_scene = coalesce(EXCLUDED.latest_qr_scene, f.latest_qr_scene),
           updated_at = now()
), woke AS (
    UPDATE deliveries d
       SET release_at = now(), updated_at = now()
      FROM agg a
     WHERE a.interacted_at IS NOT NULL AND d.account_id = a.account_id AND d.openid = a.openid
       AND d.status = 'held' AND d.wait_for IS NOT NULL
    RETURNING d.account_id
), eps AS (
    -- The enabled endpoints of the batch's accounts, each locked FOR KEY SHARE once per
    -- batch (what the foreign key used to check per delivery, 0033): an endpoint being
    -- deleted is either waited for (and then gone) or waits for this commit.
    SELECT ep.account_id, ep.id, ep.event_types
      FROM webhook_endpoints ep
     WHERE ep.account_id IN (SELECT DISTINCT account_id FROM fresh)
       AND NOT ep.disabled AND ep.mode = 'deliver'
       FOR KEY SHARE
), webhooks AS (
    -- The webhook outbox (SPEC 7): one delivery per new event per matching enabled endpoint,
    -- in the order the events were stored; the same as the query wh_outbox_inbound.
    INSERT INTO webhook_deliveries (account_id, endpoint_id, inbound_key, event_type, openid)
    SELECT f.account_id, ep.id, f.dedupe_key, t.type, f.openid
      FROM fresh f
     CROSS JOIN LATERAL (SELECT wxgate_inbound_type(f.msg_type, f.event) AS type) t
      JOIN eps ep ON ep.account_id = f.account_id
     WHERE wxgate_webhook_matches(ep.event_types, t.type)
     ORDER BY f.ord, ep.id
)
SELECT 'event' AS kind, account_id, dedupe_key, reply_xml FROM ins
UNION ALL
SELECT 'old', account_id, dedupe_key, reply_xml FROM old
UNION ALL
SELECT 'notify', account_id, pg_notify('wxgate_release', account_id)::text, NULL
  FROM (SELECT DISTINCT account_id FROM woke) s;
