-- 0043's statement trigger, with each lookup by key: the transition table `new_rows` has no
-- statistics, so the planner may join it to message_transitions and messages by scanning
-- them whole (hash joins), a cost that grows with every message ever stored (release
-- benchmark, 6,000 messages: 47 ms a claim statement of 24 rows). Now a statement with no
-- outcome transition (queued, held, sending) returns at once, and the repeat check and the
-- message's columns are read per outcome through the primary keys (OFFSET 0 keeps each
-- subquery a per-row probe). The rows written are the same as 0043's.
CREATE OR REPLACE FUNCTION wxgate_webhook_outbound_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows n
                    WHERE n.status IN ('sent', 'delivered', 'failed', 'expired', 'canceled')) THEN
        RETURN NULL;
    END IF;
    WITH outcome AS MATERIALIZED (
        SELECT n.account_id, n.message_id, n.id, n.status, n.reason
          FROM new_rows n
         WHERE n.status IN ('sent', 'delivered', 'failed', 'expired', 'canceled')
           AND NOT EXISTS (SELECT 1 FROM message_transitions t
                            WHERE t.account_id = n.account_id AND t.message_id = n.message_id
                              AND t.id < n.id AND t.status = n.status
                           OFFSET 0)
    ), ev AS (
        INSERT INTO webhook_events (account_id, type, openid, data)
        SELECT o.account_id, 'outbound.' || o.status, m.recipient,
               jsonb_build_object('message_id', o.message_id, 'message_type', m.type,
                                  'to', m.recipient, 'audience', m.audience,
                                  'status', o.status, 'reason', o.reason,
                                  'errcode', m.errcode, 'errmsg', m.errmsg)
          FROM outcome o
          LEFT JOIN LATERAL (
                SELECT x.type, x.recipient, x.audience, x.errcode, x.errmsg
                  FROM messages x
                 WHERE x.account_id = o.account_id AND x.id = o.message_id
                OFFSET 0) m ON true
         ORDER BY o.id
        RETURNING account_id, id, type, openid
    ), eps AS (
        SELECT ep.account_id, ep.id, ep.event_types
          FROM webhook_endpoints ep
         WHERE ep.account_id IN (SELECT o.account_id FROM outcome o)
           AND NOT ep.disabled AND ep.mode = 'deliver'
           AND EXISTS (SELECT 1 FROM outcome o
                        WHERE o.account_id = ep.account_id
                          AND wxgate_webhook_matches(ep.event_types, 'outbound.' || o.status))
           FOR KEY SHARE
    )
    INSERT INTO webhook_deliveries (account_id, endpoint_id, event_id, event_type, openid)
    SELECT ev.account_id, eps.id, ev.id, ev.type, coalesce(ev.openid, '')
      FROM ev
      JOIN eps ON eps.account_id = ev.account_id
     WHERE wxgate_webhook_matches(eps.event_types, ev.type)
     ORDER BY ev.id, eps.id;
    RETURN NULL;
END $$;
