-- outbound.<status> events (0010) are written once per statement that appends message
-- transitions, set-based, instead of by a row trigger that called wxgate_webhook_emit per
-- transition: a pass's status recompute appends one transition for each of hundreds of
-- customer-service messages, and each call planned and ran the emit's statements again
-- (about 290 us of Postgres CPU a message in the drain benchmark). The rows written are the
-- same: an event for each transition to sent, delivered, failed, expired or canceled that is
-- not a repeat of the message's status (an earlier transition with it, in this statement or
-- before), in transition order; its deliveries to every matching enabled `deliver` endpoint
-- of the account, in endpoint order within an event, those endpoints locked FOR KEY SHARE
-- (as wxgate_webhook_emit does since 0033).
CREATE FUNCTION wxgate_webhook_outbound_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH outcome AS (
        SELECT n.account_id, n.message_id, n.id, n.status, n.reason
          FROM new_rows n
         WHERE n.status IN ('sent', 'delivered', 'failed', 'expired', 'canceled')
           AND NOT EXISTS (SELECT 1 FROM message_transitions t
                            WHERE t.account_id = n.account_id AND t.message_id = n.message_id
                              AND t.id < n.id AND t.status = n.status)
    ), ev AS (
        INSERT INTO webhook_events (account_id, type, openid, data)
        SELECT o.account_id, 'outbound.' || o.status, m.recipient,
               jsonb_build_object('message_id', o.message_id, 'message_type', m.type,
                                  'to', m.recipient, 'audience', m.audience,
                                  'status', o.status, 'reason', o.reason,
                                  'errcode', m.errcode, 'errmsg', m.errmsg)
          FROM outcome o
          LEFT JOIN messages m ON m.account_id = o.account_id AND m.id = o.message_id
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

DROP TRIGGER message_transitions_webhooks ON message_transitions;
CREATE TRIGGER message_transitions_webhooks AFTER INSERT ON message_transitions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wxgate_webhook_outbound_rows();
DROP FUNCTION wxgate_webhook_outbound();
