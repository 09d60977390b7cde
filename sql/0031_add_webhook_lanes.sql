-- Webhook lanes (README "Webhooks"): one worker at a time delivers to an endpoint. It holds
-- the endpoint's lane until lane_until (renewed while it works, taken by another worker only
-- once it has lapsed) and keeps at most 16 requests in flight for it itself, so the cap holds
-- across workers. A rate-limited endpoint's lane, given back, stays closed for one rate window.
ALTER TABLE webhook_endpoints ADD COLUMN lane_owner text, ADD COLUMN lane_until timestamptz;
