-- Queries of claims and leases (gateway/store/claims.py). Times come in as parameters (the worker's clock), so that
-- tests can move time; `now()` is not used here.

-- name: claim_due_deliveries
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

-- name: claim_message_deliveries
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

-- name: lock_batch_members
-- The other rows of pinned mass batches whose first row was claimed: they are only ever due through it.
SELECT d.account_id, d.id, d.message_id, d.openid, d.status, d.reason, d.channel,
       d.client_msg_id, d.quota_kind, d.quota_key, d.attempts, d.send_key, d.unknown_since,
       d.takeovers
  FROM deliveries d
 WHERE (d.account_id, d.client_msg_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
   AND d.status IN ('queued', 'held') AND d.release_at IS NULL
 ORDER BY d.account_id, d.id
   FOR UPDATE;

-- name: find_expired_leases
-- cross-account: the take-over sweep of lapsed leases, over every account.
-- Sending rows whose worker's lease ran out (it died or stalled): candidates to take over.
SELECT account_id, id, channel, client_msg_id
  FROM deliveries
 WHERE status = 'sending' AND lease_until < $1
 ORDER BY lease_until
 LIMIT $2;

-- name: take_expired_leases
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

-- name: get_claimed_messages
-- The messages of claimed deliveries.
SELECT account_id, id, type, audience, content, template, outside_window, not_before,
       expires_at, created_at
  FROM messages
 WHERE (account_id, id) IN (SELECT * FROM unnest($1::text[], $2::bigint[]));

-- name: get_claim_accounts
-- What deciding and calling WeChat need of each account.
SELECT id, kind, rule_profile, app_id, app_secret, pay_mch_id
  FROM accounts WHERE id = ANY($1::text[]);

-- name: lock_claim_followers
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

-- name: apply_claim_decisions
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

-- name: update_counted_windows
-- Counted windows (wechat-2023): the remaining count after this claim's customer-service sends.
UPDATE followers f
   SET window_remaining = u.remaining, updated_at = $1
  FROM unnest($2::text[], $3::text[], $4::integer[]) AS u (account_id, openid, remaining)
 WHERE f.account_id = u.account_id AND f.openid = u.openid;
