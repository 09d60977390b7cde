-- With lanes (0031) nothing counts an endpoint's live leases any more, so their index goes:
-- a claim or a lease renewal then changes no indexed column, and with room left on each page
-- (fillfactor, for the pages written from now on) it is a HOT update without index writes.
DROP INDEX webhook_deliveries_leased_idx;
ALTER TABLE webhook_deliveries SET (fillfactor = 80);
