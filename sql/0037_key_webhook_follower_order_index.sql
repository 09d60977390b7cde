-- The claim's follower check (query wh_claim: is an earlier never-attempted delivery of this
-- follower to this endpoint pending?) probes one index per claimed row. Before a table has
-- statistics (a fresh queue, a burst before autovacuum analyzed it) the planner rated every
-- index led by (account_id, endpoint_id) alike and probed the due or list index with the
-- openid as a filter: every earlier row of the endpoint per claimed row, a 200-row claim of a
-- 10,000-row queue taking 300-900 ms. Keyed by one expression, the (account, endpoint,
-- follower) triple, this index is the only one that can answer the probe's condition, so the
-- probe reads a few pages whatever the statistics say. It replaces the column index (0010).
CREATE INDEX webhook_deliveries_follower_idx
    ON webhook_deliveries ((ARRAY[account_id, endpoint_id, openid]), id)
    WHERE status = 'pending' AND attempts = 0;
DROP INDEX webhook_deliveries_order_idx;
