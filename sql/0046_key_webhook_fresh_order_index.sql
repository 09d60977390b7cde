-- The follower-order check of the webhook claim (query wh_claim) no longer probes an index per
-- follower. A callback's deliveries are written in the statement that stores it (SPEC 7), and
-- each new row cost an entry in webhook_deliveries_follower_idx (0037) at a random place of
-- the index (keyed by the follower): a B-tree descent comparing three-text arrays, about
-- 12 us of the seed statement's ~30 us a delivery row (issue 16). The claim now reads, per
-- lane, the lane's never-attempted pending rows below its highest candidate that the claim
-- does not take (leased, locked, or later in claim order: a few), and holds back a candidate
-- with an earlier one of its follower among them: the same rows as before are held back.
-- They are read from the index below, keyed by a hash of (account_id, endpoint_id) and the
-- id: a new row's entry goes to the right end of its lane's range (ids grow), two integers
-- compared. The key is an expression no other index has, so the planner reads this index for
-- that condition whatever the statistics say (as 0037 argues for its indexes).
CREATE INDEX webhook_deliveries_fresh_idx
    ON webhook_deliveries ((hashtextextended(endpoint_id, hashtext(account_id))), id)
    WHERE status = 'pending' AND attempts = 0;
DROP INDEX webhook_deliveries_follower_idx;
