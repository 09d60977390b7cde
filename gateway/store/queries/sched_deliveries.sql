-- Queries of the release scheduler (gateway/store/deliveries.py). Times come in as
-- parameters (the worker's clock), so that tests can move time; `now()` is not used here.

-- name: sched_claim_due
-- Lock due deliveries: at most $2 per account (less for the accounts $4 caps at $5: calls of theirs already wait), accounts in random order, $3 in all; rows other workers hold are skipped.
SELECT d.account_id, d.id, d.message_id, d.openid, d.status, d.reason, d.channel,
       d.client_msg_id, d.quota_kind, d.quota_key, d.attempts, d.send_key, d.unknown_since,
       d.takeovers
  FROM (SELECT a.id, coalesce(c.cap, $2) AS cap
          FROM accounts a
          LEFT JOIN unnest($4::text[], $5::integer[]) AS c (account_id, cap)
            ON c.account_id = a.id
         ORDER BY random()) a
 CROSS JOIN LATERAL (
       SELECT * FROM deliveries d
        WHERE d.account_id = a.id AND d.status IN ('queued', 'held') AND d.release_at <= $1
        ORDER BY d.release_at, d.id
        LIMIT a.cap
          FOR UPDATE SKIP LOCKED) d
 LIMIT $3;

-- name: sched_claim_message_rows
-- More due rows of the given mass messages (not pinned ones), so that one openid-list call can carry up to $4 recipients.
SELECT d.account_id, d.id, d.message_id, d.openid, d.status, d.reason, d.channel,
       d.client_msg_id, d.quota_kind, d.quota_key, d.attempts, d.send_key, d.unknown_since,
       d.takeovers
  FROM unnest($2::text[], $3::bigint[]) AS m (account_id, id)
 CROSS JOIN LATERAL (
       SELECT * FROM deliveries d
        WHERE d.account_id = m.account_id AND d.message_id = m.id
          AND d.status IN ('queued', 'held') AND d.release_at <= $1
          AND d.client_msg_id IS NULL
        ORDER BY d.id
        LIMIT $4
          FOR UPDATE SKIP LOCKED) d;

-- name: sched_lock_batch_members
-- The other rows of pinned mass batches whose first row was claimed: they are only ever due through it.
SELECT d.account_id, d.id, d.message_id, d.openid, d.status, d.reason, d.channel,
       d.client_msg_id, d.quota_kind, d.quota_key, d.attempts, d.send_key, d.unknown_since,
       d.takeovers
  FROM deliveries d
 WHERE (d.account_id, d.client_msg_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
   AND d.status IN ('queued', 'held') AND d.release_at IS NULL
 ORDER BY d.account_id, d.id
   FOR UPDATE;

-- name: sched_expired_leases
-- Sending rows whose worker's lease ran out (it died or stalled): candidates to take over.
SELECT account_id, id, channel, client_msg_id
  FROM deliveries
 WHERE status = 'sending' AND lease_until < $1
 ORDER BY lease_until
 LIMIT $2;

-- name: sched_take_leases
-- Lease expired rows to this worker, whole mass batches (one clientmsgid) together; waits rather than skips, so a batch is never split.
WITH expired AS (
    SELECT d.account_id, d.id
      FROM deliveries d
     WHERE d.status = 'sending' AND d.lease_until < $1
       AND ((d.account_id, d.id) IN (SELECT * FROM unnest($2::text[], $3::bigint[]))
            OR (d.channel = 'mass_openids'
                AND (d.account_id, d.client_msg_id) IN (SELECT * FROM unnest($4::text[], $5::text[]))))
     ORDER BY d.account_id, d.id
       FOR UPDATE
)
UPDATE deliveries d
   SET lease_until = $6, leased_by = $7, attempts = d.attempts + 1, updated_at = $1,
       -- the dead worker's call may have reached WeChat: its outcome is unknown
       unknown_since = coalesce(d.unknown_since, d.attempted_at, d.updated_at),
       takeovers = d.takeovers + 1, attempted_at = $1
  FROM expired e
 WHERE d.account_id = e.account_id AND d.id = e.id
RETURNING d.account_id, d.id, d.message_id, d.openid, d.status, d.reason, d.channel,
          d.client_msg_id, d.quota_kind, d.quota_key, d.attempts, d.send_key, d.unknown_since,
          d.takeovers;

-- name: sched_messages
-- The messages of claimed deliveries.
SELECT account_id, id, type, audience, content, template, outside_window, not_before,
       expires_at, created_at
  FROM messages
 WHERE (account_id, id) IN (SELECT * FROM unnest($1::text[], $2::bigint[]));

-- name: sched_accounts
-- What deciding and calling WeChat need of each account.
SELECT id, kind, rule_profile, app_id, app_secret, pay_mch_id
  FROM accounts WHERE id = ANY($1::text[]);

-- name: sched_lock_followers
-- Lock recipients' follower rows, skipping rows another transaction holds (busy): the inbound path locks followers before deliveries, so waiting here could deadlock.
WITH wanted AS (
    SELECT DISTINCT a, o FROM unnest($1::text[], $2::text[]) AS t (a, o)
), locked AS (
    SELECT f.account_id, f.openid, f.subscribed, f.window_ends_at, f.window_remaining,
           f.last_interaction_at
      FROM followers f
     WHERE (f.account_id, f.openid) IN (SELECT a, o FROM wanted)
       FOR UPDATE SKIP LOCKED
)
SELECT w.a AS account_id, w.o AS openid, l.subscribed, l.window_ends_at, l.window_remaining,
       l.last_interaction_at, l.account_id IS NOT NULL AS locked,
       l.account_id IS NULL
       AND EXISTS (SELECT 1 FROM followers f WHERE f.account_id = w.a AND f.openid = w.o) AS busy
  FROM wanted w
  LEFT JOIN locked l ON l.account_id = w.a AND l.openid = w.o;

-- name: sched_follower_usage
-- Mass units used by followers in the given periods.
SELECT account_id, openid, period, used
  FROM follower_mass_usage
 WHERE (account_id, openid, period) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::date[]));

-- name: sched_account_usage
-- Mass units used by accounts in the given periods.
SELECT account_id, period, used
  FROM account_mass_usage
 WHERE (account_id, period) IN (SELECT * FROM unnest($1::text[], $2::date[]));

-- name: sched_consume_follower_units
-- Take n units per follower and period unless that passes the limit $5; the rows that took nothing are absent from the result.
INSERT INTO follower_mass_usage AS u (account_id, openid, period, used)
SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::integer[])
ON CONFLICT (account_id, openid, period) DO UPDATE
   SET used = u.used + EXCLUDED.used
 WHERE u.used + EXCLUDED.used <= $5
RETURNING account_id, openid, period;

-- name: sched_consume_account_units
-- Take n units per account and period unless that passes the limit $4.
INSERT INTO account_mass_usage AS u (account_id, period, used)
SELECT * FROM unnest($1::text[], $2::date[], $3::integer[])
ON CONFLICT (account_id, period) DO UPDATE
   SET used = u.used + EXCLUDED.used
 WHERE u.used + EXCLUDED.used <= $4
RETURNING account_id, period;

-- name: sched_give_back_follower_units
-- Return units WeChat did not use (one row per key; never below zero).
UPDATE follower_mass_usage u
   SET used = greatest(u.used - g.n, 0)
  FROM unnest($1::text[], $2::text[], $3::date[], $4::integer[]) AS g (account_id, openid, period, n)
 WHERE u.account_id = g.account_id AND u.openid = g.openid AND u.period = g.period;

-- name: sched_give_back_account_units
-- Return account units WeChat did not use.
UPDATE account_mass_usage u
   SET used = greatest(u.used - g.n, 0)
  FROM unnest($1::text[], $2::date[], $3::integer[]) AS g (account_id, period, n)
 WHERE u.account_id = g.account_id AND u.period = g.period;

-- name: sched_fill_account_usage
-- WeChat said the account has no mass quota left (45028): our count was stale; mark the period used up.
INSERT INTO account_mass_usage AS u (account_id, period, used)
SELECT * FROM unnest($1::text[], $2::date[], $3::integer[])
ON CONFLICT (account_id, period) DO UPDATE SET used = EXCLUDED.used;

-- name: sched_apply_decisions
-- Write the claim's decisions: sending (leased), held, expired or failed.
UPDATE deliveries d
   SET status = u.status, reason = u.reason, release_at = u.release_at, wait_for = u.wait_for,
       channel = u.channel, client_msg_id = u.client_msg_id,
       quota_kind = u.quota_kind, quota_key = u.quota_key,
       lease_until = u.lease_until, leased_by = u.leased_by,
       attempts = d.attempts + u.attempt, errmsg = coalesce(u.errmsg, d.errmsg), updated_at = $1,
       attempted_at = CASE WHEN u.status = 'sending' THEN $1 ELSE d.attempted_at END
  FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::timestamptz[], $7::text[],
              $8::text[], $9::text[], $10::text[], $11::date[], $12::timestamptz[], $13::text[],
              $14::integer[], $15::text[])
       AS u (account_id, id, status, reason, release_at, wait_for, channel, client_msg_id,
             quota_kind, quota_key, lease_until, leased_by, attempt, errmsg)
 WHERE d.account_id = u.account_id AND d.id = u.id;

-- name: sched_update_windows
-- Counted windows (wechat-2023): the remaining count after this claim's customer-service sends.
UPDATE followers f
   SET window_remaining = u.remaining, updated_at = $1
  FROM unnest($2::text[], $3::text[], $4::integer[]) AS u (account_id, openid, remaining)
 WHERE f.account_id = u.account_id AND f.openid = u.openid;

-- name: sched_give_back_windows
-- Counted windows: the counts of calls put back unmade, returned to the allowance they came from (same end, no interaction since the claim); a newer trigger's allowance is left as it is.
UPDATE followers f
   SET window_remaining = f.window_remaining + g.n, updated_at = $1
  FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::integer[])
       AS g (account_id, openid, ends_at, interacted_at, n)
 WHERE f.account_id = g.account_id AND f.openid = g.openid
   AND f.window_remaining IS NOT NULL
   AND f.window_ends_at = g.ends_at
   AND f.last_interaction_at IS NOT DISTINCT FROM g.interacted_at;

-- name: sched_record_results
-- Write what WeChat answered, only for rows this worker still holds the lease of.
UPDATE deliveries d
   SET status = u.status, reason = u.reason, release_at = u.release_at, wait_for = NULL,
       lease_until = NULL, leased_by = NULL, attempts = d.attempts - u.undo_attempt,
       channel = u.channel, client_msg_id = u.client_msg_id,
       quota_kind = u.quota_kind, quota_key = u.quota_key,
       wechat_msgid = coalesce(u.wechat_msgid, d.wechat_msgid), errcode = u.errcode,
       errmsg = u.errmsg, sent_at = CASE WHEN u.status = 'sent' THEN $2 ELSE d.sent_at END,
       unknown_since = CASE WHEN u.unknown THEN coalesce(d.unknown_since, d.attempted_at, $2)
                            ELSE d.unknown_since END,
       updated_at = $2
  FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[], $7::timestamptz[],
              $8::integer[], $9::text[], $10::text[], $11::text[], $12::date[], $13::text[],
              $14::integer[], $15::text[], $16::boolean[], $17::integer[])
       AS u (account_id, id, status, reason, release_at, undo_attempt, channel, client_msg_id,
             quota_kind, quota_key, wechat_msgid, errcode, errmsg, unknown, leased_attempts)
 WHERE d.account_id = u.account_id AND d.id = u.id
   -- `IS TRUE` hides the lease index's predicate from the planner: that partial index holds
   -- an entry for every row ever leased until vacuum, so a plan scanning it costs the whole
   -- backlog per batch (1 s per 1,000 rows at 100,000); primary-key lookups cost the batch.
   AND (d.status = 'sending') IS TRUE AND d.leased_by = $1
   -- a put-back (no call made) speaks for its own lease only: after this worker took the row
   -- over (attempts counted again) the take-over's call is the one in flight
   AND (u.undo_attempt = 0 OR u.leased_attempts IS NULL OR d.attempts = u.leased_attempts)
RETURNING d.account_id, d.id;

-- name: sched_close_windows
-- WeChat refused a customer-service message (45015/45047): the window is closed, whatever we thought.
UPDATE followers f
   SET window_ends_at = $1, updated_at = $1
  FROM unnest($2::text[], $3::text[]) AS u (account_id, openid)
 WHERE f.account_id = u.account_id AND f.openid = u.openid AND f.window_ends_at > $1;

-- name: sched_mark_unsubscribed
-- WeChat said the recipient does not follow the account (43004).
UPDATE followers f
   SET subscribed = false, unsubscribed_at = coalesce(f.unsubscribed_at, $1), updated_at = $1
  FROM unnest($2::text[], $3::text[]) AS u (account_id, openid)
 WHERE f.account_id = u.account_id AND f.openid = u.openid AND f.subscribed;

-- name: sched_refresh_messages
-- Recompute each message's status from its deliveries (see message_status.refresh_messages), append a transition when status or reason changed.
WITH wanted AS (
    SELECT DISTINCT a, i FROM unnest($1::text[], $2::bigint[]) AS t (a, i)
), locked AS (
    SELECT m.account_id, m.id, m.status, m.reason, m.created_at
      FROM messages m
     WHERE (m.account_id, m.id) IN (SELECT a, i FROM wanted)
     ORDER BY m.account_id, m.id
       FOR UPDATE
), agg AS MATERIALIZED (
    -- One aggregate per message (LATERAL), not a GROUP BY over the join: that sorted all the
    -- deliveries of a message by the group key first, 3 s of 7.7 s at a million recipients.
    -- The first msgid is a top-1 of its own for the same reason: sorting every sent row of
    -- a fan-out on each pass made a million-recipient fan-out quadratic. MATERIALIZED: the
    -- planner would otherwise copy that subquery into each later use of the column.
    SELECT l.account_id, l.id, l.status AS old_status, l.reason AS old_reason, l.created_at,
           s.*,
           (SELECT d.wechat_msgid
              FROM deliveries d
             WHERE d.account_id = l.account_id AND d.message_id = l.id
               AND d.wechat_msgid IS NOT NULL
             ORDER BY d.sent_at, d.id
             LIMIT 1) AS wechat_msgid
      FROM locked l
     CROSS JOIN LATERAL (
           SELECT count(*) AS rows_total,
                  count(*) FILTER (WHERE d.status = 'sending') AS sending,
                  count(*) FILTER (WHERE d.status = 'queued') AS queued,
                  count(*) FILTER (WHERE d.status = 'held') AS held,
                  count(*) FILTER (WHERE d.status = 'sent') AS sent,
                  count(*) FILTER (WHERE d.status = 'delivered') AS delivered,
                  count(*) FILTER (WHERE d.status = 'failed') AS failed,
                  count(*) FILTER (WHERE d.status = 'expired') AS expired,
                  count(*) FILTER (WHERE d.status = 'canceled') AS canceled,
                  min(d.release_at) FILTER (WHERE d.status IN ('queued', 'held')) AS release_at,
                  (array_agg(d.reason ORDER BY d.release_at NULLS LAST, d.id)
                      FILTER (WHERE d.status = 'held'))[1] AS held_reason,
                  (array_agg(d.reason ORDER BY d.updated_at DESC, d.id)
                      FILTER (WHERE d.status = 'failed'))[1] AS failed_reason,
                  (array_agg(d.reason ORDER BY d.updated_at DESC, d.id)
                      FILTER (WHERE d.status = 'expired'))[1] AS expired_reason,
                  max(d.attempts) AS attempts,
                  (array_agg(d.errcode ORDER BY d.updated_at DESC, d.id)
                      FILTER (WHERE d.errcode IS NOT NULL))[1] AS errcode,
                  (array_agg(d.errmsg ORDER BY d.updated_at DESC, d.id)
                      FILTER (WHERE d.errmsg IS NOT NULL))[1] AS errmsg
             FROM deliveries d
            WHERE d.account_id = l.account_id AND d.message_id = l.id) s
     WHERE s.rows_total > 0  -- as the join was: a message without deliveries is left alone
), next AS (
    SELECT a.*,
           CASE WHEN a.sending > 0 THEN 'sending'
                WHEN a.queued > 0 THEN 'queued'
                WHEN a.held > 0 THEN 'held'
                -- all terminal: the most frequent, ties as gateway.store.messages.TERMINAL
                -- (a CASE, not a sorted VALUES list: the planner copies this expression
                -- into every use of `status`, and a subquery there ran ~7 times a message)
                WHEN a.delivered >= greatest(a.sent, a.failed, a.expired, a.canceled)
                     THEN 'delivered'
                WHEN a.sent >= greatest(a.failed, a.expired, a.canceled) THEN 'sent'
                WHEN a.failed >= greatest(a.expired, a.canceled) THEN 'failed'
                WHEN a.expired >= a.canceled THEN 'expired'
                ELSE 'canceled' END AS status
      FROM agg a
), final AS (
    SELECT n.*,
           CASE n.status WHEN 'held' THEN n.held_reason
                         WHEN 'failed' THEN n.failed_reason
                         WHEN 'expired' THEN n.expired_reason END AS reason,
           CASE WHEN n.status IN ('queued', 'held') THEN n.release_at END AS due
      FROM next n
), changed AS (
    -- RETURNING carries what the transition needs: joining CTEs again would be quadratic.
    UPDATE messages m
       SET status = f.status, reason = f.reason, release_at = f.due, attempts = f.attempts,
           wechat_msgid = coalesce(f.wechat_msgid, m.wechat_msgid), errcode = f.errcode,
           errmsg = f.errmsg, updated_at = $3
      FROM final f
     WHERE m.account_id = f.account_id AND m.id = f.id
       AND (m.status, m.reason, m.release_at, m.attempts, m.wechat_msgid, m.errcode, m.errmsg)
           IS DISTINCT FROM
           (f.status, f.reason, f.due, f.attempts, coalesce(f.wechat_msgid, m.wechat_msgid),
            f.errcode, f.errmsg)
    RETURNING m.account_id, m.id, f.status, f.reason, f.old_status, f.old_reason, f.created_at,
              jsonb_strip_nulls(jsonb_build_object(
                  'recipients', jsonb_strip_nulls(jsonb_build_object(
                      'queued', nullif(f.queued, 0), 'held', nullif(f.held, 0),
                      'sending', nullif(f.sending, 0), 'sent', nullif(f.sent, 0),
                      'delivered', nullif(f.delivered, 0), 'failed', nullif(f.failed, 0),
                      'expired', nullif(f.expired, 0), 'canceled', nullif(f.canceled, 0))),
                  'release_at', f.due, 'attempts', f.attempts, 'msgid', f.wechat_msgid,
                  'errcode', f.errcode, 'errmsg', f.errmsg))
              || coalesce($4::jsonb, '{}'::jsonb) AS detail
), logged AS (
    INSERT INTO message_transitions (account_id, message_id, at, status, reason, detail)
    SELECT c.account_id, c.id, $3, c.status, c.reason, c.detail
      FROM changed c
     WHERE (c.old_status, c.old_reason) IS DISTINCT FROM (c.status, c.reason)
)
SELECT c.account_id, c.id AS message_id, c.status, c.reason, c.created_at
  FROM changed c
 WHERE (c.old_status, c.old_reason) IS DISTINCT FROM (c.status, c.reason);

-- name: sched_expire_overdue
-- The expiry sweep: unfinished deliveries of messages past expires_at expire, keeping the reason they waited for; sending rows whose lease ended too (outcome_unknown). Units come back only from rows no attempt of which may have reached WeChat.
WITH due AS (
    SELECT d.account_id, d.id
      FROM messages m
      JOIN deliveries d ON d.account_id = m.account_id AND d.message_id = m.id
     WHERE m.status IN ('queued', 'held', 'sending') AND m.expires_at <= $1
       AND (d.status IN ('queued', 'held') OR (d.status = 'sending' AND d.lease_until < $1))
     LIMIT $2
       FOR UPDATE OF d SKIP LOCKED
), old AS (
    SELECT d.account_id, d.id, d.quota_kind, d.quota_key,
           d.status = 'sending' AS abandoned,
           d.status <> 'sending' AND d.unknown_since IS NULL AS unused
      FROM deliveries d JOIN due USING (account_id, id)
)
UPDATE deliveries d
   SET status = 'expired',
       reason = CASE WHEN old.abandoned THEN 'outcome_unknown' ELSE coalesce(d.reason, 'expired') END,
       unknown_since = CASE WHEN old.abandoned
                            THEN coalesce(d.unknown_since, d.attempted_at, d.updated_at)
                            ELSE d.unknown_since END,
       release_at = NULL, wait_for = NULL, lease_until = NULL, leased_by = NULL,
       quota_kind = CASE WHEN old.unused THEN NULL ELSE d.quota_kind END,
       quota_key = CASE WHEN old.unused THEN NULL ELSE d.quota_key END, updated_at = $1
  FROM old
 WHERE d.account_id = old.account_id AND d.id = old.id
RETURNING d.account_id, d.id, d.message_id, d.openid,
          CASE WHEN old.unused THEN old.quota_kind END AS quota_kind, old.quota_key;

-- name: sched_job_finish
-- A TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH result for the sent deliveries of one WeChat msgid.
UPDATE deliveries d
   SET status = $3, reason = $4, errcode = $5, errmsg = $6, updated_at = $7
 WHERE d.account_id = $1 AND d.wechat_msgid = $2 AND d.status = 'sent'
RETURNING d.message_id;

-- name: sched_early_job_finishes
-- Job-finish pushes stored before the worker recorded the send they report.
SELECT account_id, msg_id, fields
  FROM inbound_events
 WHERE event IN ('TEMPLATESENDJOBFINISH', 'MASSSENDJOBFINISH')
   AND (account_id, msg_id) IN (SELECT * FROM unnest($1::text[], $2::text[]));

-- name: sched_tokens_expiring
-- Accounts whose cached access token expires before $1 (the refresh job renews them early).
SELECT a.id, a.kind, a.rule_profile, a.app_id, a.app_secret
  FROM access_tokens t
  JOIN accounts a ON a.id = t.account_id
 WHERE t.expires_at < $1;

-- name: sched_purge_inbound_events
-- Retention: raw callbacks older than $1, at most $2 per call.
DELETE FROM inbound_events e
 USING (SELECT account_id, id FROM inbound_events WHERE received_at < $1 LIMIT $2) old
 WHERE e.account_id = old.account_id AND e.id = old.id;

-- name: sched_purge_messages
-- Retention: finished messages last changed before $1 (deliveries and history cascade), at most $2 per call.
DELETE FROM messages m
 USING (SELECT account_id, id FROM messages
         WHERE status IN ('sent', 'delivered', 'failed', 'expired', 'canceled')
           AND updated_at < $1
         LIMIT $2) old
 WHERE m.account_id = old.account_id AND m.id = old.id;

-- name: sched_purge_usage
-- Retention: quota counters of periods that ended long ago.
WITH f AS (DELETE FROM follower_mass_usage WHERE period < $1 RETURNING 1),
     a AS (DELETE FROM account_mass_usage WHERE period < $1 RETURNING 1)
SELECT (SELECT count(*) FROM f) + (SELECT count(*) FROM a) AS deleted;

-- name: sched_cancel_message
-- Cancel what has not gone out yet (queued or held rows), returning their units unless an earlier attempt may have reached WeChat (then they stay taken).
UPDATE deliveries d
   SET status = 'canceled', release_at = NULL, wait_for = NULL,
       quota_kind = CASE WHEN old.unused THEN NULL ELSE d.quota_kind END,
       quota_key = CASE WHEN old.unused THEN NULL ELSE d.quota_key END, updated_at = $3
  FROM (SELECT account_id, id, quota_kind, quota_key, unknown_since IS NULL AS unused
          FROM deliveries
         WHERE account_id = $1 AND message_id = $2 AND status IN ('queued', 'held')
         ORDER BY id
           FOR UPDATE) old
 WHERE d.account_id = old.account_id AND d.id = old.id
RETURNING d.account_id, d.id, d.message_id, d.openid,
          CASE WHEN old.unused THEN old.quota_kind END AS quota_kind, old.quota_key;

-- name: sched_messages_in_flight
-- Of these messages, those with deliveries being sent or due by $3: passes to come will recompute their status.
SELECT m.a AS account_id, m.i AS id
  FROM unnest($1::text[], $2::bigint[]) AS m (a, i)
 WHERE EXISTS (SELECT 1 FROM deliveries d
                WHERE d.account_id = m.a AND d.message_id = m.i
                  AND d.status IN ('queued', 'held', 'sending')
                  AND (d.status = 'sending' OR d.release_at <= $3));

-- name: sched_refresh_single
-- sched_refresh_messages for messages of one delivery (customer-service, template): the status and reason are the delivery's, no aggregate. Rows with recipients_total name the other messages: locked, not recomputed.
WITH wanted AS (
    SELECT DISTINCT a, i FROM unnest($1::text[], $2::bigint[]) AS t (a, i)
), locked AS (
    SELECT m.account_id, m.id, m.status, m.reason, m.created_at, m.recipients_total
      FROM messages m
     WHERE (m.account_id, m.id) IN (SELECT a, i FROM wanted)
     ORDER BY m.account_id, m.id
       FOR UPDATE
), single AS MATERIALIZED (
    SELECT l.account_id, l.id, l.status AS old_status, l.reason AS old_reason, l.created_at,
           d.status,
           CASE WHEN d.status IN ('held', 'failed', 'expired') THEN d.reason END AS reason,
           CASE WHEN d.status IN ('queued', 'held') THEN d.release_at END AS due,
           d.attempts, d.wechat_msgid, d.errcode, d.errmsg
      FROM locked l
      JOIN deliveries d ON d.account_id = l.account_id AND d.message_id = l.id
     WHERE l.recipients_total = 1
), changed AS (
    UPDATE messages m
       SET status = s.status, reason = s.reason, release_at = s.due, attempts = s.attempts,
           wechat_msgid = coalesce(s.wechat_msgid, m.wechat_msgid), errcode = s.errcode,
           errmsg = s.errmsg, updated_at = $3
      FROM single s
     WHERE m.account_id = s.account_id AND m.id = s.id
       AND (m.status, m.reason, m.release_at, m.attempts, m.wechat_msgid, m.errcode, m.errmsg)
           IS DISTINCT FROM
           (s.status, s.reason, s.due, s.attempts, coalesce(s.wechat_msgid, m.wechat_msgid),
            s.errcode, s.errmsg)
    RETURNING m.account_id, m.id, s.status, s.reason, s.old_status, s.old_reason, s.created_at,
              jsonb_strip_nulls(jsonb_build_object(
                  'recipients', jsonb_build_object(s.status, 1),
                  'release_at', s.due, 'attempts', s.attempts, 'msgid', s.wechat_msgid,
                  'errcode', s.errcode, 'errmsg', s.errmsg))
              || coalesce($4::jsonb, '{}'::jsonb) AS detail
), logged AS (
    INSERT INTO message_transitions (account_id, message_id, at, status, reason, detail)
    SELECT c.account_id, c.id, $3, c.status, c.reason, c.detail
      FROM changed c
     WHERE (c.old_status, c.old_reason) IS DISTINCT FROM (c.status, c.reason)
)
SELECT c.account_id, c.id AS message_id, c.status, c.reason, c.created_at,
       NULL::integer AS recipients_total
  FROM changed c
 WHERE (c.old_status, c.old_reason) IS DISTINCT FROM (c.status, c.reason)
UNION ALL
SELECT l.account_id, l.id, NULL, NULL, NULL, l.recipients_total
  FROM locked l
 WHERE l.recipients_total <> 1;
