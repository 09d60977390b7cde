-- Queries of retention (gateway/store/retention.py). Times come in as parameters (the worker's clock), so that
-- tests can move time; `now()` is not used here.

-- name: purge_inbound_events
-- cross-account: retention sweep, over every account.
-- Retention: raw callbacks older than $1, at most $2 per call.
DELETE FROM inbound_events e
 USING (SELECT account_id, id FROM inbound_events WHERE received_at < $1 LIMIT $2) old
 WHERE e.account_id = old.account_id AND e.id = old.id;

-- name: purge_finished_messages
-- cross-account: retention sweep, over every account.
-- Retention: finished messages last changed before $1 (deliveries and history cascade), at most $2 per call.
DELETE FROM messages m
 USING (SELECT account_id, id FROM messages
         WHERE status IN ('sent', 'delivered', 'failed', 'expired', 'canceled')
           AND updated_at < $1
         LIMIT $2) old
 WHERE m.account_id = old.account_id AND m.id = old.id;

-- name: purge_quota_usage
-- cross-account: retention sweep, over every account.
-- Retention: quota counters of periods that ended long ago.
WITH f AS (DELETE FROM follower_mass_usage WHERE period < $1 RETURNING 1),
     a AS (DELETE FROM account_mass_usage WHERE period < $1 RETURNING 1)
SELECT (SELECT count(*) FROM f) + (SELECT count(*) FROM a) AS deleted;
