-- The webhook claim (query wh_claim) reads an endpoint's due rows in claim order and, per
-- claimed row, probes for an earlier never-attempted delivery of the same follower. Before a
-- table has statistics (a fresh queue, a burst before autovacuum analyzed it) the planner
-- rated every index led by (account_id, endpoint_id) alike: it probed the due or list index
-- with the openid as a filter (every earlier row of the endpoint per claimed row) and read
-- the due rows from the list index (every row of the endpoint, finished ones included, then
-- a sort). A 200-row claim of a 10,000-row queue took 300-900 ms. Keyed by one expression,
-- each index below is the only one that can answer its query's condition, so the plan
-- reads a few pages whatever the statistics say. They replace the column indexes of
-- 0010 (order) and 0011 (due): a new delivery still writes two entries.
CREATE INDEX webhook_deliveries_follower_idx
    ON webhook_deliveries ((ARRAY[account_id, endpoint_id, openid]), id)
    WHERE status = 'pending' AND attempts = 0;
DROP INDEX webhook_deliveries_order_idx;
CREATE INDEX webhook_deliveries_queue_idx
    ON webhook_deliveries ((ARRAY[account_id, endpoint_id]), next_attempt_at, id)
    WHERE status = 'pending';
DROP INDEX webhook_deliveries_endpoint_due_idx;
