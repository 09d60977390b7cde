-- A callback's deliveries are written in the statement that stores it (SPEC 7); each row
-- used to cost a heap tuple, seven index entries and a foreign-key check (a trigger and a
-- lookup per row). What a new row no longer pays for:
-- - the foreign key to webhook_endpoints: the statements that write deliveries lock each
--   matching endpoint row FOR KEY SHARE once (what the check did per row), and deleting an
--   endpoint locks it FOR UPDATE first, then deletes its deliveries and itself (query
--   wh_endpoint_delete), so no delivery outlives its endpoint;
-- - webhook_deliveries_due_idx (every pending row by due time): no query reads it, the
--   claims go endpoint by endpoint (webhook_deliveries_endpoint_due_idx);
-- - webhook_deliveries_status_idx: the same index over finished rows only (a new row is
--   pending); listing the pending ones reads webhook_deliveries_list_idx.
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_account_id_endpoint_id_fkey;
DROP INDEX webhook_deliveries_due_idx;
CREATE INDEX webhook_deliveries_finished_idx
    ON webhook_deliveries (account_id, endpoint_id, status, id) WHERE status <> 'pending';
DROP INDEX webhook_deliveries_status_idx;

-- As in 0010, with the endpoints locked once per event instead of checked per delivery.
CREATE OR REPLACE FUNCTION wxgate_webhook_emit(p_account text, p_type text, p_openid text,
                                               p_data jsonb)
    RETURNS void LANGUAGE sql AS $$
    WITH ev AS (
        INSERT INTO webhook_events (account_id, type, openid, data)
        VALUES (p_account, p_type, p_openid, p_data)
        RETURNING account_id, id, type, openid
    ), eps AS (
        SELECT ep.account_id, ep.id
          FROM webhook_endpoints ep
         WHERE ep.account_id = p_account AND NOT ep.disabled AND ep.mode = 'deliver'
           AND wxgate_webhook_matches(ep.event_types, p_type)
           FOR KEY SHARE
    )
    INSERT INTO webhook_deliveries (account_id, endpoint_id, event_id, event_type, openid)
    SELECT ev.account_id, eps.id, ev.id, ev.type, coalesce(ev.openid, '')
      FROM ev
      JOIN eps ON eps.account_id = ev.account_id
     ORDER BY eps.id;
$$;
