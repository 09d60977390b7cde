-- Follower syncs (SPEC 9; gateway/store/syncs.py). Times are the database's `now()`: the API
-- starts a sync and any worker continues it, so one clock orders them.

-- name: sync_start
-- A new running sync; the partial unique index refuses a second one for the account.
INSERT INTO follower_syncs (account_id) VALUES ($1)
RETURNING account_id, id, status, error, errcode, pages, followers_seen, total, started_at,
          finished_at;

-- name: sync_get
-- One sync of the account.
SELECT account_id, id, status, error, errcode, pages, followers_seen, total, started_at,
       finished_at
  FROM follower_syncs WHERE account_id = $1 AND id = $2;

-- name: sync_claim
-- cross-account: a worker claims the next running sync of any account.
-- Lease one running sync no live worker holds (never leased, or its lease ran out: that
-- worker died), oldest first; other workers skip it while this transaction decides.
UPDATE follower_syncs s
   SET lease_until = now() + make_interval(secs => $2), leased_by = $1
 WHERE (s.account_id, s.id) = (
       SELECT account_id, id FROM follower_syncs
        WHERE status = 'running' AND (lease_until IS NULL OR lease_until < now())
        ORDER BY started_at, id
        LIMIT 1
          FOR UPDATE SKIP LOCKED)
RETURNING s.account_id, s.id, s.next_openid, s.pages, s.followers_seen, s.started_at;

-- name: sync_advance
-- Commit a page's progress, only while this worker ($3) holds the lease; renews the lease.
UPDATE follower_syncs
   SET next_openid = $4, pages = pages + 1, followers_seen = followers_seen + $5,
       total = $6, lease_until = now() + make_interval(secs => $7)
 WHERE account_id = $1 AND id = $2 AND leased_by = $3 AND status = 'running'
RETURNING started_at;

-- name: sync_upsert_followers
-- One page of profiles in one statement. A subscribe or unsubscribe applied from a callback
-- at or after the sync's start ($2, to the second) is newer than the list: the row keeps it.
-- Never touches the window: a synced follower's window stays as it was (closed if new).
INSERT INTO followers AS f
       (account_id, openid, subscribed, subscribed_at, subscribe_scene, qr_scene, remark,
        unionid, tags, synced_at)
SELECT $1, u.openid, u.subscribed, u.subscribed_at, u.scene, u.qr_scene, u.remark, u.unionid,
       u.tags::integer[], now()
  FROM unnest($3::text[], $4::boolean[], $5::timestamptz[], $6::text[], $7::text[],
              $8::text[], $9::text[], $10::text[])
       AS u (openid, subscribed, subscribed_at, scene, qr_scene, remark, unionid, tags)
ON CONFLICT (account_id, openid) DO UPDATE
   SET subscribed = CASE WHEN greatest(f.subscribed_at, f.unsubscribed_at) >= $2
                         THEN f.subscribed ELSE EXCLUDED.subscribed END,
       subscribed_at = CASE WHEN greatest(f.subscribed_at, f.unsubscribed_at) >= $2
                            THEN f.subscribed_at
                            ELSE coalesce(EXCLUDED.subscribed_at, f.subscribed_at) END,
       unsubscribed_at = CASE WHEN f.subscribed AND NOT EXCLUDED.subscribed
                               AND NOT coalesce(greatest(f.subscribed_at, f.unsubscribed_at)
                                                >= $2, false)
                              THEN now() ELSE f.unsubscribed_at END,
       subscribe_scene = coalesce(EXCLUDED.subscribe_scene, f.subscribe_scene),
       qr_scene = coalesce(EXCLUDED.qr_scene, f.qr_scene),
       remark = coalesce(EXCLUDED.remark, f.remark),
       unionid = coalesce(EXCLUDED.unionid, f.unionid),
       tags = EXCLUDED.tags,
       synced_at = EXCLUDED.synced_at,
       updated_at = now();

-- name: sync_wake_subscribed
-- Deliveries held until their follower subscribes, for followers the page found subscribed
-- (driven from the few held rows, not the page's 10,000 followers).
WITH woke AS (
    UPDATE deliveries d
       SET release_at = now(), updated_at = now()
     WHERE d.account_id = $1 AND d.status = 'held' AND d.wait_for = 'subscribe'
       AND d.openid = ANY($2::text[])
       AND EXISTS (SELECT 1 FROM followers f
                    WHERE f.account_id = d.account_id AND f.openid = d.openid AND f.subscribed)
    RETURNING d.account_id
)
SELECT pg_notify('wxgate_release', account_id) FROM (SELECT DISTINCT account_id FROM woke) s;

-- name: sync_mark_unseen
-- At completion: followers we had as subscribed that the list no longer has (no page of
-- this sync wrote them, no callback subscribed them since its start $2) are unsubscribed.
UPDATE followers
   SET subscribed = false, unsubscribed_at = now(), updated_at = now()
 WHERE account_id = $1 AND subscribed
   AND (synced_at IS NULL OR synced_at < $3)
   AND coalesce(subscribed_at >= $2, false) IS FALSE;

-- name: sync_complete
-- Finish the sync (while this worker holds it) and stamp the account.
WITH done AS (
    UPDATE follower_syncs
       SET status = 'completed', finished_at = now(), lease_until = NULL, leased_by = NULL
     WHERE account_id = $1 AND id = $2 AND leased_by = $3 AND status = 'running'
    RETURNING account_id, finished_at
)
UPDATE accounts a SET followers_synced_at = d.finished_at
  FROM done d WHERE a.id = d.account_id
RETURNING a.id;

-- name: sync_fail
-- The platform refused: the sync fails with its error and a new one may start.
UPDATE follower_syncs
   SET status = 'failed', error = $4, errcode = $5, finished_at = now(), lease_until = NULL,
       leased_by = NULL
 WHERE account_id = $1 AND id = $2 AND leased_by = $3 AND status = 'running';

-- name: sync_release
-- Give the lease back (the worker stops): another worker may continue at once.
UPDATE follower_syncs SET lease_until = NULL, leased_by = NULL
 WHERE account_id = $1 AND id = $2 AND leased_by = $3 AND status = 'running';

-- name: sync_account
-- What a sync needs of its account to call the platform.
SELECT id, kind, rule_profile, app_id, app_secret, pay_mch_id FROM accounts WHERE id = $1;
