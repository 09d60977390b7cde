-- Queries of service `all` masses sent in batches (gateway/store/mass_batches.py): the
-- expansion of the audience into mass_batches, their claims and leases, results, job-finish
-- pushes, cancel and expiry. Times come in as parameters (the worker's clock).

-- name: lock_due_expansions
-- cross-account: the worker's claim of batched messages due to be expanded, over every account.
-- Batched messages whose release time has come and whose audience is not expanded yet.
SELECT m.account_id, m.id, m.expires_at
  FROM messages m
 WHERE m.batched AND m.expanded_at IS NULL AND m.release_at <= $1
   AND m.status IN ('queued', 'held')
 ORDER BY m.release_at
 LIMIT $2
   FOR UPDATE SKIP LOCKED;

-- name: expand_mass_batches
-- The audience of message $2 (account $1): every subscribed follower with a unit left in
-- month $3 (limit $4, periods.MASS_LIMIT of a service account) takes one, set-based: rows of
-- the month under the limit are bumped, followers without one get one by a plain INSERT (a
-- row another transaction adds meanwhile makes it fail with a unique violation: the caller
-- runs expand_mass_batches_upsert instead). The recipients, in the order they took their
-- unit, are cut into ceil(n / $5) batches of nearly equal size (2 to $5 openids each when n >= 2), queued at $6;
-- the others are held until the next month ($7). Returns n, the batches, the skipped and, when
-- n = 1, the lone recipient (no batch: the caller sends it as a delivery).
WITH audience AS MATERIALIZED (
    SELECT f.openid
      FROM followers f
     WHERE f.account_id = $1 AND f.subscribed
     ORDER BY f.openid
), bumped AS (
    UPDATE follower_mass_usage u
       SET used = u.used + 1
      FROM audience a
     WHERE u.account_id = $1 AND u.period = $3 AND u.openid = a.openid AND u.used < $4
    RETURNING u.openid
), added AS (
    INSERT INTO follower_mass_usage (account_id, openid, period, used)
    SELECT $1, a.openid, $3, 1
      FROM audience a
     WHERE NOT EXISTS (SELECT 1 FROM follower_mass_usage x
                        WHERE x.account_id = $1 AND x.openid = a.openid AND x.period = $3)
    RETURNING openid
), took AS MATERIALIZED (
    SELECT openid FROM bumped UNION ALL SELECT openid FROM added
), total AS MATERIALIZED (
    SELECT count(*) AS n, (count(*) + $5 - 1) / $5 AS b FROM took
), numbered AS (
    -- any order will do (batches are cut by position): no sort
    SELECT t.openid, row_number() OVER () - 1 AS rn FROM took t
), batches AS (
    INSERT INTO mass_batches (account_id, message_id, seq, openids, recipients, status,
                              release_at, quota_period)
    SELECT $1, $2, s.seq, s.openids, cardinality(s.openids), 'queued', $6, $3
      FROM (SELECT (nb.rn * tt.b / tt.n)::integer AS seq, array_agg(nb.openid) AS openids
              FROM numbered nb, total tt
             WHERE tt.n >= 2
             GROUP BY 1) s
    RETURNING seq
), skipped AS (
    -- the followers left out (no unit left in month $3) wait as deliveries of the message
    -- held until the next month starts ($7), decided again then like any held delivery
    -- (SPEC 1.4: hold until the next quota period), or expire at once when the message
    -- expires before that ($7 NULL); the anti join runs only when someone was left out (a
    -- one-time filter)
    INSERT INTO deliveries (account_id, message_id, openid, status, reason, release_at)
    SELECT $1, $2, a.openid, CASE WHEN $7::timestamptz IS NULL THEN 'expired' ELSE 'held' END,
           'mass_quota_exhausted', $7::timestamptz
      FROM audience a
     WHERE (SELECT n FROM total) < (SELECT count(*) FROM audience)
       AND NOT EXISTS (SELECT 1 FROM took t WHERE t.openid = a.openid)
    RETURNING openid
)
SELECT (SELECT n FROM total) AS recipients,
       (SELECT count(*) FROM batches) AS batches,
       (SELECT count(*) FROM skipped) AS skipped,
       (SELECT t.openid FROM took t WHERE (SELECT n FROM total) = 1) AS lone;

-- name: expand_mass_batches_upsert
-- expand_mass_batches when another transaction added unit rows of these followers meanwhile:
-- each unit taken by a conditional upsert (`used < $4`), which waits for such rows.
WITH audience AS MATERIALIZED (
    SELECT f.openid
      FROM followers f
     WHERE f.account_id = $1 AND f.subscribed
     ORDER BY f.openid
), took AS MATERIALIZED (
    INSERT INTO follower_mass_usage AS u (account_id, openid, period, used)
    SELECT $1, a.openid, $3, 1 FROM audience a
    ON CONFLICT (account_id, openid, period) DO UPDATE
       SET used = u.used + 1
     WHERE u.used < $4
    RETURNING u.openid
), total AS MATERIALIZED (
    SELECT count(*) AS n, (count(*) + $5 - 1) / $5 AS b FROM took
), numbered AS (
    -- any order will do (batches are cut by position): no sort
    SELECT t.openid, row_number() OVER () - 1 AS rn FROM took t
), batches AS (
    INSERT INTO mass_batches (account_id, message_id, seq, openids, recipients, status,
                              release_at, quota_period)
    SELECT $1, $2, s.seq, s.openids, cardinality(s.openids), 'queued', $6, $3
      FROM (SELECT (nb.rn * tt.b / tt.n)::integer AS seq, array_agg(nb.openid) AS openids
              FROM numbered nb, total tt
             WHERE tt.n >= 2
             GROUP BY 1) s
    RETURNING seq
), skipped AS (
    -- the followers left out (no unit left in month $3) wait as deliveries of the message
    -- held until the next month starts ($7), decided again then like any held delivery
    -- (SPEC 1.4: hold until the next quota period), or expire at once when the message
    -- expires before that ($7 NULL); the anti join runs only when someone was left out (a
    -- one-time filter)
    INSERT INTO deliveries (account_id, message_id, openid, status, reason, release_at)
    SELECT $1, $2, a.openid, CASE WHEN $7::timestamptz IS NULL THEN 'expired' ELSE 'held' END,
           'mass_quota_exhausted', $7::timestamptz
      FROM audience a
     WHERE (SELECT n FROM total) < (SELECT count(*) FROM audience)
       AND NOT EXISTS (SELECT 1 FROM took t WHERE t.openid = a.openid)
    RETURNING openid
)
SELECT (SELECT n FROM total) AS recipients,
       (SELECT count(*) FROM batches) AS batches,
       (SELECT count(*) FROM skipped) AS skipped,
       (SELECT t.openid FROM took t WHERE (SELECT n FROM total) = 1) AS lone;

-- name: set_message_expanded
-- The message's audience is expanded: its recipients (sent to, or skipped) and the time.
UPDATE messages
   SET expanded_at = $3, recipients_total = $4, updated_at = $3
 WHERE account_id = $1 AND id = $2;

-- name: end_unexpanded_message
-- A batched message that ends before its expansion (expired, canceled, an empty audience):
-- its status, reason and errmsg, and the transition; a terminal message is never expanded.
WITH ended AS (
    UPDATE messages
       SET status = $3, reason = $4, errmsg = $5, release_at = NULL, updated_at = $6
     WHERE account_id = $1 AND id = $2 AND batched AND expanded_at IS NULL
       AND status IN ('queued', 'held')
    RETURNING account_id, id, status, reason, created_at, recipients_total
)
INSERT INTO message_transitions (account_id, message_id, at, status, reason, detail)
SELECT e.account_id, e.id, $6, e.status, e.reason,
       jsonb_strip_nulls(jsonb_build_object('recipients', jsonb_build_object(e.status, e.recipients_total), 'error', $5::text))
  FROM ended e
RETURNING account_id, message_id, status, reason,
          (SELECT created_at FROM ended) AS created_at;

-- name: find_expired_batch_leases
-- cross-account: the take-over of batches whose worker's lease ended, over every account.
-- Sending batches whose lease ended (no lock taken).
SELECT b.account_id, b.message_id, b.seq
  FROM mass_batches b
 WHERE b.status = 'sending' AND b.lease_until < $1
 ORDER BY b.lease_until
 LIMIT $2;

-- name: take_batch_leases
-- Lease these sending batches whose lease ended to worker $6 until $5, counting a take-over;
-- the lost attempt may have reached WeChat (unknown_since). Others taken meanwhile are left.
UPDATE mass_batches b
   SET lease_until = $5, leased_by = $6, takeovers = b.takeovers + 1,
       unknown_since = coalesce(b.unknown_since, b.attempted_at, b.updated_at),
       attempts = b.attempts + 1, attempted_at = $1, updated_at = $1
  FROM (SELECT x.account_id, x.message_id, x.seq
          FROM mass_batches x
         WHERE (x.account_id, x.message_id, x.seq) IN
               (SELECT * FROM unnest($2::text[], $3::bigint[], $4::integer[]))
           AND x.status = 'sending' AND x.lease_until < $1
         ORDER BY x.account_id, x.message_id, x.seq
           FOR UPDATE SKIP LOCKED) t
 WHERE b.account_id = t.account_id AND b.message_id = t.message_id AND b.seq = t.seq
RETURNING b.account_id, b.message_id, b.seq, b.openids, b.client_msg_id, b.attempts,
          b.takeovers, b.unknown_since, b.quota_period, b.lease_until;

-- name: lock_due_batches
-- cross-account: the worker's claim of due batches, over every account.
-- Due batches (queued, or held until a time that has come), locked; with their message's
-- expiry.
SELECT b.account_id, b.message_id, b.seq, b.quota_period, b.unknown_since, m.expires_at,
       b.reason
  FROM mass_batches b
  JOIN messages m ON m.account_id = b.account_id AND m.id = b.message_id
 WHERE b.status IN ('queued', 'held') AND b.release_at <= $1
 ORDER BY b.release_at, b.account_id, b.message_id, b.seq
 LIMIT $2
   FOR UPDATE OF b SKIP LOCKED;

-- name: lease_batches
-- Lease locked batches to worker $5 until $4 for a call, counting the attempt.
UPDATE mass_batches b
   SET status = 'sending', reason = NULL, release_at = NULL, lease_until = $4, leased_by = $5,
       attempts = b.attempts + 1, attempted_at = $1, updated_at = $1
 WHERE (b.account_id, b.message_id, b.seq) IN
       (SELECT * FROM unnest($2::text[], $3::bigint[], $6::integer[]))
RETURNING b.account_id, b.message_id, b.seq, b.openids, b.client_msg_id, b.attempts,
          b.takeovers, b.unknown_since, b.quota_period, b.lease_until;

-- name: rebase_batch_units
-- A locked batch none of whose attempts may have reached WeChat, whose units are not of
-- month $4 (another month's, or given back): the old units go back and each recipient takes
-- one of month $4 unless that passes the limit $5 (periods.MASS_LIMIT of a service account);
-- those without one are skipped. Returns the recipients that took a unit, in openid order.
WITH b AS (
    SELECT x.account_id, x.message_id, x.openids, x.quota_period
      FROM mass_batches x
     WHERE x.account_id = $1 AND x.message_id = $2 AND x.seq = $3
), back AS (
    UPDATE follower_mass_usage u
       SET used = greatest(u.used - 1, 0)
      FROM b, unnest(b.openids) AS o (openid)
     WHERE b.quota_period IS NOT NULL AND b.quota_period <> $4
       AND u.account_id = b.account_id AND u.openid = o.openid AND u.period = b.quota_period
), took AS MATERIALIZED (
    INSERT INTO follower_mass_usage AS u (account_id, openid, period, used)
    SELECT b.account_id, o.openid, $4, 1 FROM b, unnest(b.openids) AS o (openid)
     ORDER BY o.openid
    ON CONFLICT (account_id, openid, period) DO UPDATE
       SET used = u.used + 1
     WHERE u.used < $5
    RETURNING u.openid
), skipped AS (
    INSERT INTO mass_skips (account_id, message_id, openid, reason)
    SELECT b.account_id, b.message_id, o.openid, 'mass_quota_exhausted'
      FROM b, unnest(b.openids) AS o (openid)
     WHERE NOT EXISTS (SELECT 1 FROM took t WHERE t.openid = o.openid)
    ON CONFLICT DO NOTHING
)
SELECT coalesce(array_agg(t.openid ORDER BY t.openid), '{}') AS openids FROM took t;

-- name: set_batch_recipients
-- A rebased batch's recipients and the month their units are of.
UPDATE mass_batches
   SET openids = $4, recipients = cardinality($4::text[]), quota_period = $5, updated_at = $6
 WHERE account_id = $1 AND message_id = $2 AND seq = $3;

-- name: delete_batch
-- A rebased batch left with fewer than two recipients (the caller skipped or re-queued them).
DELETE FROM mass_batches WHERE account_id = $1 AND message_id = $2 AND seq = $3;

-- name: lone_delivery
-- A lone recipient of a batched message goes out as one delivery (mass/send needs two
-- openids): queued at $4, decided by the claim like any other.
INSERT INTO deliveries (account_id, message_id, openid, status, release_at)
VALUES ($1, $2, $3, 'queued', $4);

-- name: end_batches
-- Batches that end without a call (expired, failed), with status $5 and reason $6; their
-- units go back when $7 (no attempt can have reached WeChat). Returns the batches' keys.
WITH ended AS (
    SELECT x.account_id, x.message_id, x.seq, x.openids, x.quota_period
      FROM mass_batches x
     WHERE (x.account_id, x.message_id, x.seq) IN
           (SELECT * FROM unnest($1::text[], $2::bigint[], $3::integer[]))
), gave AS (
    UPDATE follower_mass_usage u
       SET used = greatest(u.used - 1, 0)
      FROM (SELECT e.account_id, e.quota_period, o.openid
              FROM unnest($1::text[], $2::bigint[], $3::integer[], $7::boolean[])
                       AS g (account_id, message_id, seq, give)
              JOIN ended e USING (account_id, message_id, seq)
             CROSS JOIN LATERAL unnest(e.openids) AS o (openid)
             WHERE g.give AND e.quota_period IS NOT NULL) r
     WHERE u.account_id = r.account_id AND u.openid = r.openid AND u.period = r.quota_period
)
UPDATE mass_batches b
   SET status = s.status, reason = s.reason, release_at = NULL, lease_until = NULL,
       leased_by = NULL,
       quota_period = CASE WHEN s.give THEN NULL ELSE b.quota_period END, updated_at = $4
  FROM unnest($1::text[], $2::bigint[], $3::integer[], $5::text[], $6::text[], $7::boolean[])
           AS s (account_id, message_id, seq, status, reason, give)
 WHERE b.account_id = s.account_id AND b.message_id = s.message_id AND b.seq = s.seq
RETURNING b.account_id, b.message_id;

-- name: record_batch_results
-- WeChat's answers for leased batches, written only while worker $1 still holds the lease:
-- status, reason, release_at, msgid, errcode, errmsg; unknown marks an attempt that may have
-- reached WeChat; released puts a call that never started back (its attempt uncounted).
UPDATE mass_batches b
   SET status = r.status, reason = r.reason, release_at = r.release_at,
       lease_until = NULL, leased_by = NULL,
       wechat_msgid = coalesce(r.msgid, b.wechat_msgid), errcode = r.errcode, errmsg = r.errmsg,
       sent_at = CASE WHEN r.status = 'sent' THEN $2 ELSE b.sent_at END,
       unknown_since = CASE WHEN r.unknown THEN coalesce(b.unknown_since, b.attempted_at, $2)
                            ELSE b.unknown_since END,
       attempts = b.attempts - CASE WHEN r.released THEN 1 ELSE 0 END,
       updated_at = $2
  FROM unnest($3::text[], $4::bigint[], $5::integer[], $6::text[], $7::text[],
              $8::timestamptz[], $9::text[], $10::integer[], $11::text[], $12::boolean[],
              $13::boolean[])
           AS r (account_id, message_id, seq, status, reason, release_at, msgid, errcode,
                 errmsg, unknown, released)
 WHERE b.account_id = r.account_id AND b.message_id = r.message_id AND b.seq = r.seq
   AND b.status = 'sending' AND b.leased_by = $1
RETURNING b.account_id, b.message_id, b.seq, b.wechat_msgid, b.status;

-- name: finish_job_batches
-- A MASSSENDJOBFINISH for the sent batch of one WeChat msg_id: delivered or failed, with the
-- push's Status and counts.
UPDATE mass_batches b
   SET status = $3, reason = $4, errcode = $5, errmsg = $6, job_status = $7,
       total_count = $8, filter_count = $9, sent_count = $10, error_count = $11,
       updated_at = $12
 WHERE b.account_id = $1 AND b.wechat_msgid = $2 AND b.status = 'sent'
RETURNING b.message_id;

-- name: cancel_message_batches
-- Cancel the batches of a message that have not gone out (queued, held), returning their
-- units unless an earlier attempt may have reached WeChat.
WITH old AS (
    SELECT x.account_id, x.message_id, x.seq, x.openids, x.quota_period,
           x.unknown_since IS NULL AND x.quota_period IS NOT NULL AS unused
      FROM mass_batches x
     WHERE x.account_id = $1 AND x.message_id = $2 AND x.status IN ('queued', 'held')
     ORDER BY x.seq
       FOR UPDATE
), gave AS (
    UPDATE follower_mass_usage u
       SET used = greatest(u.used - 1, 0)
      FROM old, unnest(old.openids) AS o (openid)
     WHERE old.unused AND u.account_id = old.account_id AND u.openid = o.openid
       AND u.period = old.quota_period
)
UPDATE mass_batches b
   SET status = 'canceled', release_at = NULL,
       quota_period = CASE WHEN old.unused THEN NULL ELSE b.quota_period END, updated_at = $3
  FROM old
 WHERE b.account_id = old.account_id AND b.message_id = old.message_id AND b.seq = old.seq
RETURNING b.recipients;

-- name: find_overdue_batches
-- cross-account: the expiry sweep, over every account.
-- Unfinished batches of messages past expires_at: queued or held, and sending ones whose
-- lease ended; and batched messages past it that were never expanded.
SELECT b.account_id, b.message_id, b.seq, b.status, b.reason, b.unknown_since
  FROM mass_batches b
  JOIN messages m ON m.account_id = b.account_id AND m.id = b.message_id
 WHERE m.status IN ('queued', 'held', 'sending') AND m.expires_at <= $1
   AND (b.status IN ('queued', 'held') OR (b.status = 'sending' AND b.lease_until < $1))
 LIMIT $2
   FOR UPDATE OF b SKIP LOCKED;

-- name: find_overdue_unexpanded
-- cross-account: the expiry sweep, over every account.
-- Batched messages past expires_at whose audience was never expanded.
SELECT m.account_id, m.id
  FROM messages m
 WHERE m.batched AND m.expanded_at IS NULL AND m.expires_at <= $1
   AND m.status IN ('queued', 'held')
 LIMIT $2
   FOR UPDATE SKIP LOCKED;

-- name: retry_failed_batches
-- Queue the failed batches of a failed message again as new sends with new keys (the caller
-- accepts a possible repeat); the units they kept are returned, and the claim takes new ones.
WITH old AS (
    SELECT x.account_id, x.message_id, x.seq, x.openids, x.quota_period
      FROM mass_batches x
     WHERE x.account_id = $1 AND x.message_id = $2 AND x.status = 'failed'
     ORDER BY x.seq
       FOR UPDATE
), gave AS (
    UPDATE follower_mass_usage u
       SET used = greatest(u.used - 1, 0)
      FROM old, unnest(old.openids) AS o (openid)
     WHERE old.quota_period IS NOT NULL AND u.account_id = old.account_id
       AND u.openid = o.openid AND u.period = old.quota_period
)
UPDATE mass_batches b
   SET status = 'queued', reason = NULL, release_at = now(), lease_until = NULL,
       leased_by = NULL, unknown_since = NULL, takeovers = 0, quota_period = NULL,
       client_msg_id = 'wxgate-' || replace(gen_random_uuid()::text, '-', ''),
       wechat_msgid = NULL, errcode = NULL, errmsg = NULL, job_status = NULL,
       total_count = NULL, filter_count = NULL, sent_count = NULL, error_count = NULL,
       updated_at = now()
  FROM old
 WHERE b.account_id = old.account_id AND b.message_id = old.message_id AND b.seq = old.seq
RETURNING b.seq, now() AS at;

-- name: find_recipient
-- One recipient of a message: their batch (status, reason, msgid), their skip (a rebase) or
-- their delivery (a lone recipient, a follower held for the next month, the delivery path).
SELECT b.seq, b.status, b.reason, b.wechat_msgid, b.errcode, b.errmsg
  FROM mass_batches b
 WHERE b.account_id = $1 AND b.message_id = $2 AND $3::text = ANY (b.openids)
UNION ALL
SELECT NULL, 'expired', s.reason, NULL, NULL, NULL
  FROM mass_skips s
 WHERE s.account_id = $1 AND s.message_id = $2 AND s.openid = $3
UNION ALL
SELECT NULL, d.status, d.reason, d.wechat_msgid, d.errcode, d.errmsg
  FROM deliveries d
 WHERE d.account_id = $1 AND d.message_id = $2 AND d.openid = $3
 LIMIT 1;

-- name: get_batched_expiry
-- The expiry of these messages (batches taken over).
SELECT m.account_id, m.id, m.expires_at
  FROM messages m
 WHERE (m.account_id, m.id) IN (SELECT * FROM unnest($1::text[], $2::bigint[]));

-- name: get_message_total
-- A message's recipients.
SELECT recipients_total FROM messages WHERE account_id = $1 AND id = $2;

-- name: find_mass_work
-- cross-account: the worker's one probe per pass, over every account.
-- Whether any batch work is due by $1: an expansion, a due batch, a batch whose lease ended.
SELECT EXISTS (SELECT 1 FROM messages m
                WHERE m.batched AND m.expanded_at IS NULL AND m.release_at <= $1
                  AND m.status IN ('queued', 'held'))
    OR EXISTS (SELECT 1 FROM mass_batches b
                WHERE b.status IN ('queued', 'held') AND b.release_at <= $1)
    OR EXISTS (SELECT 1 FROM mass_batches b
                WHERE b.status = 'sending' AND b.lease_until < $1);

-- name: has_message
-- Whether the account has this message (a recipient look that found nobody: 404 which).
SELECT EXISTS (SELECT 1 FROM messages WHERE account_id = $1 AND id = $2);
