-- A callback's deliveries are written in the statement that stores it (SPEC 7); of the seed
-- statement's ~30 us a delivery row (issue 16), about 12 went to the follower index (0037):
-- an entry at a random place (keyed by the follower), a B-tree descent comparing arrays of
-- three texts. And 6 to the queue index (0037), keyed by an array of two texts.
--
-- The follower-order check of the webhook claim (query wh_claim) no longer probes an index
-- per follower. Per lane it reads the lane's never-attempted pending rows below its highest
-- candidate that the claim does not take (leased, locked, or later in claim order: a few)
-- and holds back a candidate with an earlier row of its follower among them: the same rows
-- as before are held back. They come from the fresh index, keyed by a hash of (account_id,
-- endpoint_id) and the id: a new row's entry goes to the right end of its lane's range.
CREATE INDEX webhook_deliveries_fresh_idx
    ON webhook_deliveries ((hashtextextended(endpoint_id, hashtext(account_id))), id)
    WHERE status = 'pending' AND attempts = 0;
DROP INDEX webhook_deliveries_follower_idx;

-- The queue index keyed by another hash of the lane instead of the array: two integers and a
-- timestamp per entry, compared without collation (about 6 -> 3 us a new row). Its queries
-- (wh_claim's candidates, wh_lanes' due check, wh_queue_depth's count per endpoint) compare
-- the hash, then the array itself as a filter.
-- Each key is an expression no other index has (as 0037 argues for its indexes), so the
-- planner reads this index for that condition whatever the statistics say, and no index is
-- keyed by the array any more, so none can answer the array's comparison.
CREATE INDEX webhook_deliveries_lane_queue_idx
    ON webhook_deliveries ((hash_array_extended(ARRAY[account_id, endpoint_id], 0)),
                           next_attempt_at, id)
    WHERE status = 'pending';
DROP INDEX webhook_deliveries_queue_idx;
