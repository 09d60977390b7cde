-- Queries of a message's status from its deliveries (gateway/store/message_status.py). Times come in as parameters (the worker's clock), so that
-- tests can move time; `now()` is not used here.

-- name: refresh_message_status
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

-- name: find_messages_in_flight
-- Of these messages, those with deliveries being sent or due by $3: passes to come will recompute their status.
SELECT m.a AS account_id, m.i AS id
  FROM unnest($1::text[], $2::bigint[]) AS m (a, i)
 WHERE EXISTS (SELECT 1 FROM deliveries d
                WHERE d.account_id = m.a AND d.message_id = m.i
                  AND d.status IN ('queued', 'held', 'sending')
                  AND (d.status = 'sending' OR d.release_at <= $3));

-- name: refresh_single_message_status
-- refresh_message_status for messages of one delivery (customer-service, template): the status and reason are the delivery's, no aggregate. Rows with recipients_total name the other messages (batched: a service `all` mass): locked, not recomputed.
WITH wanted AS (
    SELECT DISTINCT a, i FROM unnest($1::text[], $2::bigint[]) AS t (a, i)
), locked AS (
    SELECT m.account_id, m.id, m.status, m.reason, m.created_at, m.recipients_total, m.batched
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
     WHERE l.recipients_total = 1 AND NOT l.batched
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
       NULL::integer AS recipients_total, false AS batched
  FROM changed c
 WHERE (c.old_status, c.old_reason) IS DISTINCT FROM (c.status, c.reason)
UNION ALL
SELECT l.account_id, l.id, NULL, NULL, NULL, l.recipients_total, l.batched
  FROM locked l
 WHERE l.recipients_total <> 1 OR l.batched;

-- name: refresh_batched_message_status
-- refresh_message_status for batched messages (a service `all` mass): the same rules over
-- their batches (each weighing its recipients), their skipped followers (expired with their
-- reason) and their deliveries (a lone recipient, followers held for the next month, read a
-- row each). About 100 batch rows at a million recipients, plus one per held follower.
WITH wanted AS (
    SELECT DISTINCT a, i FROM unnest($1::text[], $2::bigint[]) AS t (a, i)
), locked AS (
    SELECT m.account_id, m.id, m.status, m.reason, m.created_at
      FROM messages m
     WHERE (m.account_id, m.id) IN (SELECT a, i FROM wanted)
     ORDER BY m.account_id, m.id
       FOR UPDATE
), agg AS MATERIALIZED (
    SELECT l.account_id, l.id, l.status AS old_status, l.reason AS old_reason, l.created_at,
           s.*
      FROM locked l
     CROSS JOIN LATERAL (
           SELECT coalesce(sum(x.n), 0) AS rows_total,
                  coalesce(sum(x.n) FILTER (WHERE x.status = 'sending'), 0) AS sending,
                  coalesce(sum(x.n) FILTER (WHERE x.status = 'queued'), 0) AS queued,
                  coalesce(sum(x.n) FILTER (WHERE x.status = 'held'), 0) AS held,
                  coalesce(sum(x.n) FILTER (WHERE x.status = 'sent'), 0) AS sent,
                  coalesce(sum(x.n) FILTER (WHERE x.status = 'delivered'), 0) AS delivered,
                  coalesce(sum(x.n) FILTER (WHERE x.status = 'failed'), 0) AS failed,
                  coalesce(sum(x.n) FILTER (WHERE x.status = 'expired'), 0) AS expired,
                  coalesce(sum(x.n) FILTER (WHERE x.status = 'canceled'), 0) AS canceled,
                  min(x.release_at) FILTER (WHERE x.status IN ('queued', 'held')) AS release_at,
                  (array_agg(x.reason ORDER BY x.release_at NULLS LAST, x.ord)
                      FILTER (WHERE x.status = 'held'))[1] AS held_reason,
                  (array_agg(x.reason ORDER BY x.updated_at DESC, x.ord)
                      FILTER (WHERE x.status = 'failed'))[1] AS failed_reason,
                  (array_agg(x.reason ORDER BY x.n DESC, x.updated_at DESC, x.ord)
                      FILTER (WHERE x.status = 'expired'))[1] AS expired_reason,
                  max(x.attempts) AS attempts,
                  (array_agg(x.errcode ORDER BY x.updated_at DESC, x.ord)
                      FILTER (WHERE x.errcode IS NOT NULL))[1] AS errcode,
                  (array_agg(x.errmsg ORDER BY x.updated_at DESC, x.ord)
                      FILTER (WHERE x.errmsg IS NOT NULL))[1] AS errmsg,
                  (array_agg(x.wechat_msgid ORDER BY x.sent_at, x.ord)
                      FILTER (WHERE x.wechat_msgid IS NOT NULL))[1] AS wechat_msgid
             FROM (SELECT b.status, b.recipients::bigint AS n, b.reason, b.release_at,
                          b.attempts, b.errcode, b.errmsg, b.updated_at, b.wechat_msgid,
                          b.sent_at, b.seq::bigint AS ord
                     FROM mass_batches b
                    WHERE b.account_id = l.account_id AND b.message_id = l.id
                   UNION ALL
                   SELECT 'expired', count(*), k.reason, NULL, 0, NULL, NULL, max(k.created_at),
                          NULL, NULL, -1
                     FROM mass_skips k
                    WHERE k.account_id = l.account_id AND k.message_id = l.id
                    GROUP BY k.reason
                   UNION ALL
                   SELECT d.status, 1, d.reason, d.release_at, d.attempts, d.errcode, d.errmsg,
                          d.updated_at, d.wechat_msgid, d.sent_at, -2
                     FROM deliveries d
                    WHERE d.account_id = l.account_id AND d.message_id = l.id) x) s
     WHERE s.rows_total > 0  -- not expanded yet: left alone
), next AS (
    SELECT a.*,
           CASE WHEN a.sending > 0 THEN 'sending'
                WHEN a.queued > 0 THEN 'queued'
                WHEN a.held > 0 THEN 'held'
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
