-- An endpoint's rate_limit holds across workers: the claim statement locks a rate-limited
-- endpoint's row and keeps here the start times of its requests in the last rate window
-- (at most rate_limit entries), granting a new request only while fewer are recorded.
ALTER TABLE webhook_endpoints ADD COLUMN rate_sent timestamptz[] NOT NULL DEFAULT '{}';
