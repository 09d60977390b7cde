-- Queries of WeChat's answers to sends (gateway/store/delivery_results.py). Times come in as parameters (the worker's clock), so that
-- tests can move time; `now()` is not used here.

-- name: give_back_window_counts
-- Counted windows: the counts of calls put back unmade, returned to the allowance they came from (same end, no interaction since the claim); a newer trigger's allowance is left as it is.
UPDATE followers f
   SET window_remaining = f.window_remaining + g.n, updated_at = $1
  FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::integer[])
       AS g (account_id, openid, ends_at, interacted_at, n)
 WHERE f.account_id = g.account_id AND f.openid = g.openid
   AND f.window_remaining IS NOT NULL
   AND f.window_ends_at = g.ends_at
   AND f.last_interaction_at IS NOT DISTINCT FROM g.interacted_at;

-- name: record_delivery_results
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

-- name: close_windows
-- WeChat refused a customer-service message (45015/45047): the window is closed, whatever we thought.
UPDATE followers f
   SET window_ends_at = $1, updated_at = $1
  FROM unnest($2::text[], $3::text[]) AS u (account_id, openid)
 WHERE f.account_id = u.account_id AND f.openid = u.openid AND f.window_ends_at > $1;

-- name: mark_followers_unsubscribed
-- WeChat said the recipient does not follow the account (43004).
UPDATE followers f
   SET subscribed = false, unsubscribed_at = coalesce(f.unsubscribed_at, $1), updated_at = $1
  FROM unnest($2::text[], $3::text[]) AS u (account_id, openid)
 WHERE f.account_id = u.account_id AND f.openid = u.openid AND f.subscribed;
