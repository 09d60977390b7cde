-- A webhook attempt row is written only by the dispatcher's record (query wh_record), in the
-- statement that locks and updates its delivery: the delivery exists then. The foreign key
-- checked that once more per attempt row, a query of its own each (a record of 100 outcomes
-- ran 100 of them: 181 against 100 us of the statement's time a delivery, 314 against 241 us
-- of Postgres CPU, in the dispatch benchmark, issue 16). What the key also did, deleting the
-- attempts with their delivery, a trigger now does once per statement, for every statement
-- that deletes deliveries (the endpoint's delete, retention, and any later one).
ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_account_id_delivery_id_fkey;

CREATE FUNCTION wxgate_webhook_attempts_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM webhook_attempts a
     USING gone g
     WHERE a.account_id = g.account_id AND a.delivery_id = g.id;
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_deliveries_attempts_cascade AFTER DELETE ON webhook_deliveries
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION wxgate_webhook_attempts_cascade();

-- Attempts whose delivery is already gone would now stay: none can exist (the key held until
-- this migration), and this removes any all the same.
DELETE FROM webhook_attempts a
 WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                    WHERE d.account_id = a.account_id AND d.id = a.delivery_id);
