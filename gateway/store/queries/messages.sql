-- name: api_account_kind_share
-- The account's kind, share-locked so it cannot change while a message is enqueued.
SELECT kind FROM accounts WHERE id = $1 FOR SHARE;

-- name: api_account_exists
-- Whether the account exists (for list routes that answer 404 for unknown accounts).
SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1);

-- name: find_message_by_key
-- The message already stored under an idempotency key, with the hash of its request.
SELECT id, request_hash FROM messages WHERE account_id = $1 AND idempotency_key = $2;

-- name: insert_message
-- A new message, queued, or held `not_before` until a future not_before (SPEC 2.2); release_at
-- is when the scheduler first looks at it.
INSERT INTO messages (account_id, type, recipient, audience, content, template, outside_window,
                      status, reason, release_at, not_before, expires_at, idempotency_key,
                      request_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7,
        CASE WHEN $8::timestamptz > now() THEN 'held' ELSE 'queued' END,
        CASE WHEN $8::timestamptz > now() THEN 'not_before' END,
        greatest(now(), $8::timestamptz), $8, $9, $10, $11)
RETURNING id, status, reason;

-- name: insert_deliveries
-- One delivery per element of $3 (a NULL element: an account-level sendall), queued or held
-- until a future not_before ($4).
INSERT INTO deliveries (account_id, message_id, openid, status, reason, release_at)
SELECT $1, $2, recipient, CASE WHEN $4::timestamptz > now() THEN 'held' ELSE 'queued' END,
       CASE WHEN $4::timestamptz > now() THEN 'not_before' END, greatest(now(), $4::timestamptz)
  FROM unnest($3::text[]) AS recipient;

-- name: batch_fan_out
-- Service `all`: the message is batched (the worker expands its audience into mass_batches at
-- its release time); its recipients are the followers subscribed now.
UPDATE messages
   SET batched = true,
       recipients_total = (SELECT count(*) FROM followers f
                            WHERE f.account_id = $1 AND f.subscribed)
 WHERE account_id = $1 AND id = $2
RETURNING recipients_total;

-- name: set_message_total
-- Record how many deliveries a message has.
UPDATE messages SET recipients_total = $3 WHERE account_id = $1 AND id = $2;

-- name: fail_empty_message
-- A message whose audience resolved to nobody fails at once.
UPDATE messages SET status = 'failed', errmsg = $3, release_at = NULL, updated_at = now()
 WHERE account_id = $1 AND id = $2;

-- name: insert_message_transition
-- Append one entry to a message's history.
INSERT INTO message_transitions (account_id, message_id, status, reason, detail)
VALUES ($1, $2, $3, $4, $5);

-- name: get_message
-- One message, every column the API shows.
SELECT id, account_id, type, recipient, audience, content, template, outside_window, status,
       reason, release_at, not_before, expires_at, idempotency_key, attempts, wechat_msgid,
       errcode, errmsg, recipients_total, created_at, updated_at
  FROM messages
 WHERE account_id = $1 AND id = $2;

-- name: count_message_deliveries
-- Recipients of a message by status: its deliveries; for a batched message (a service `all`
-- mass) also its batches' recipients and its skipped followers (expired), or before the
-- expansion its audience at enqueue under the message's status.
SELECT c.status, sum(c.n)::bigint AS n
  FROM (SELECT d.status, count(*) AS n FROM deliveries d
         WHERE d.account_id = $1 AND d.message_id = $2
         GROUP BY d.status
        UNION ALL
        SELECT b.status, sum(b.recipients) FROM mass_batches b
         WHERE b.account_id = $1 AND b.message_id = $2
         GROUP BY b.status
        UNION ALL
        SELECT 'expired', count(*) FROM mass_skips k
         WHERE k.account_id = $1 AND k.message_id = $2
        HAVING count(*) > 0
        UNION ALL
        SELECT m.status, m.recipients_total FROM messages m
         WHERE m.account_id = $1 AND m.id = $2 AND m.batched AND m.expanded_at IS NULL
           AND m.recipients_total > 0) c
 GROUP BY c.status;

-- name: list_message_history
-- Every transition of a message, oldest first.
SELECT at, status, reason, detail FROM message_transitions
 WHERE account_id = $1 AND message_id = $2
 ORDER BY id;

-- name: list_messages
-- One keyset page of an account's messages, newest first, optionally of one status and
-- one reason ($5).
SELECT id, account_id, type, recipient, status, reason, release_at, not_before, expires_at,
       idempotency_key, attempts, wechat_msgid, errcode, errmsg, created_at, updated_at
  FROM messages
 WHERE account_id = $1
   AND ($2::text IS NULL OR status = $2)
   AND ($3::bigint IS NULL OR id < $3)
   AND ($5::text IS NULL OR reason = $5)
 ORDER BY id DESC
 LIMIT $4;

-- name: get_message_status
-- A message's current status (unlocked: cancel re-checks through the rows it changes).
SELECT status FROM messages WHERE account_id = $1 AND id = $2;

-- name: enqueue_list_message
-- A message to a list of recipients in one statement: lock the account's kind (FOR SHARE),
-- insert the message, one delivery per element of $12 (NULL: account-level sendall) and the
-- first transition (`queued`, or `held` `not_before` until a future not_before), and wake the
-- scheduler. No row: no such account.
WITH account AS (
    SELECT id FROM accounts WHERE id = $1 FOR SHARE
), message AS (
    INSERT INTO messages (account_id, type, recipient, audience, content, template,
                          outside_window, status, reason, release_at, not_before,
                          expires_at, idempotency_key, request_hash, recipients_total)
    SELECT a.id, $2, $3, $4, $5, $6, $7,
           CASE WHEN $8::timestamptz > now() THEN 'held' ELSE 'queued' END,
           CASE WHEN $8::timestamptz > now() THEN 'not_before' END,
           greatest(now(), $8::timestamptz), $8, $9, $10, $11, cardinality($12::text[])
      FROM account a
    RETURNING id, account_id, type, recipient, audience, content, template, outside_window,
              status, reason, release_at, not_before, expires_at, idempotency_key, attempts,
              wechat_msgid, errcode, errmsg, recipients_total, created_at, updated_at
), delivered AS (
    INSERT INTO deliveries (account_id, message_id, openid, status, reason, release_at)
    SELECT m.account_id, m.id, r.openid, m.status, m.reason, m.release_at
      FROM message m, unnest($12::text[]) AS r (openid)
), logged AS (
    INSERT INTO message_transitions (account_id, message_id, status, reason, detail)
    SELECT m.account_id, m.id, m.status, m.reason,
           jsonb_strip_nulls(jsonb_build_object('recipients', m.recipients_total,
                                                'release_at', CASE WHEN m.reason IS NOT NULL
                                                                   THEN m.release_at END))
      FROM message m
    RETURNING at, status, reason, detail
)
SELECT m.*, l.at AS history_at, l.detail AS history_detail,
       pg_notify('wxgate_release', m.account_id) IS NULL AS notified
  FROM message m, logged l;

-- name: retry_failed_deliveries
-- Queue the failed deliveries of a failed message again as new sends: decided afresh, with new keys (the caller accepts that an earlier attempt of unknown outcome may have arrived); the units they kept are returned, the new send takes its own.
UPDATE deliveries d
   SET status = 'queued', reason = NULL, release_at = now(), wait_for = NULL, channel = NULL,
       client_msg_id = NULL, quota_kind = NULL, quota_key = NULL, lease_until = NULL,
       leased_by = NULL, unknown_since = NULL, takeovers = 0, send_key = gen_random_uuid(),
       errcode = NULL, errmsg = NULL, updated_at = now()
  FROM (SELECT account_id, id, quota_kind, quota_key FROM deliveries
         WHERE account_id = $1 AND message_id = $2 AND status = 'failed'
         ORDER BY id
           FOR UPDATE) old
 WHERE d.account_id = old.account_id AND d.id = old.id
RETURNING d.account_id, d.id, d.message_id, d.openid, old.quota_kind, old.quota_key, now() AS at;

-- name: get_message_now
-- The database's time (the hand retry's transitions).
SELECT now();
