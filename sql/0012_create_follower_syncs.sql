-- Followers the account already had (SPEC 9): syncs from the platform's follower list, the
-- profile fields a sync brings, and the account's tags.

ALTER TABLE followers
    ADD COLUMN subscribe_scene text,
    ADD COLUMN qr_scene        text,
    ADD COLUMN remark          text,
    ADD COLUMN tags            integer[] NOT NULL DEFAULT '{}',
    -- When a sync last wrote this row; a completed sync marks followers it did not see
    -- (synced_at before its start) as unsubscribed.
    ADD COLUMN synced_at       timestamptz;

ALTER TABLE accounts ADD COLUMN followers_synced_at timestamptz;

CREATE TABLE follower_syncs (
    account_id            text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id                    bigint GENERATED ALWAYS AS IDENTITY,
    status                text NOT NULL DEFAULT 'running'
                          CHECK (status IN ('running', 'completed', 'failed')),
    error                 text,
    errcode               integer,
    pages                 integer NOT NULL DEFAULT 0,
    followers_seen        bigint NOT NULL DEFAULT 0,
    total                 bigint,
    -- The platform's cursor after the last committed page; NULL: start from the beginning.
    next_openid           text,
    lease_until           timestamptz,
    leased_by             text,
    started_at            timestamptz NOT NULL DEFAULT now(),
    finished_at           timestamptz,
    PRIMARY KEY (account_id, id)
);

-- One running sync per account: a second start is a unique violation (409).
CREATE UNIQUE INDEX follower_syncs_one_running ON follower_syncs (account_id)
    WHERE status = 'running';

CREATE TABLE tags (
    account_id            text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tag_id                integer NOT NULL,
    name                  text NOT NULL,
    count                 integer NOT NULL DEFAULT 0,
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, tag_id)
);
