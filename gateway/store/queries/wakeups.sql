-- Wake-ups that a statement's snapshot could miss (gateway/store/wakeups.py). Each runs in a
-- transaction of its own, after the writer it completes has committed.

-- name: wake_after_ingest
-- Held deliveries of followers a committed callback batch woke, that its own wake could not see: a claim that locked the follower first committed its hold after the batch's snapshot. Rows already due are left alone.
WITH woke AS (
    UPDATE deliveries d
       SET release_at = now(), updated_at = now()
      FROM unnest($1::text[], $2::text[]) AS w (a, o)
      JOIN followers f ON f.account_id = w.a AND f.openid = w.o
     WHERE d.account_id = w.a AND d.openid = w.o AND f.subscribed
       AND d.status = 'held' AND d.wait_for IS NOT NULL
       AND (d.release_at IS NULL OR d.release_at > now())
    RETURNING d.account_id
)
SELECT pg_notify('wxgate_release', account_id) FROM (SELECT DISTINCT account_id FROM woke) s;

-- name: wake_after_claim
-- Rows a committed claim held for an event because their follower had no row: the follower's first callback may have been storing it meanwhile, unseen by both. Due now ($1) if the follower now exists subscribed.
WITH woke AS (
    UPDATE deliveries d
       SET release_at = $1, updated_at = $1
      FROM unnest($2::text[], $3::bigint[]) AS w (a, i)
     WHERE d.account_id = w.a AND d.id = w.i
       AND d.status = 'held' AND d.wait_for IS NOT NULL
       AND (d.release_at IS NULL OR d.release_at > $1)
       AND EXISTS (SELECT 1 FROM followers f
                    WHERE f.account_id = d.account_id AND f.openid = d.openid AND f.subscribed)
    RETURNING d.account_id
)
SELECT pg_notify('wxgate_release', account_id) FROM (SELECT DISTINCT account_id FROM woke) s;
