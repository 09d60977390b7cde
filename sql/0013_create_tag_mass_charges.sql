-- A service account's mass to a tag consumes a unit of every member who still has one
-- (SPEC 9, C7), in the claim transaction; each charge is recorded so that a send WeChat
-- refuses for good gives exactly those units back, and a re-claim never charges twice.

CREATE TABLE tag_mass_charges (
    account_id            text NOT NULL,
    delivery_id           bigint NOT NULL,
    openid                text NOT NULL,
    period                date NOT NULL,
    PRIMARY KEY (account_id, delivery_id, openid),
    FOREIGN KEY (account_id, delivery_id) REFERENCES deliveries (account_id, id) ON DELETE CASCADE
);

-- Members of a tag: `tags @> ARRAY[tag_id]`.
CREATE INDEX followers_tags_idx ON followers USING gin (tags);
