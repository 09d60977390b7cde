-- Service `all` masses as batches (issue 19): one row per mass/send call of up to 10,000
-- openids, carrying its recipients, instead of one delivery row per follower.

-- A batched message has no deliveries of its own (but one, for a lone recipient): the worker
-- expands its audience into mass_batches at its release time (expanded_at set then).
ALTER TABLE messages ADD COLUMN batched boolean NOT NULL DEFAULT false;
ALTER TABLE messages ADD COLUMN expanded_at timestamptz;
-- The expansion's claim: batched messages due and not yet expanded.
CREATE INDEX messages_unexpanded_idx ON messages (release_at)
    WHERE batched AND expanded_at IS NULL;

CREATE TABLE mass_batches (
    account_id            text NOT NULL,
    message_id            bigint NOT NULL,
    seq                   integer NOT NULL,
    openids               text[] NOT NULL,
    recipients            integer NOT NULL,
    status                text NOT NULL DEFAULT 'queued',
    reason                text,
    release_at            timestamptz,
    lease_until           timestamptz,
    leased_by             text,
    attempts              integer NOT NULL DEFAULT 0,
    takeovers             integer NOT NULL DEFAULT 0,
    -- The month (first day, quota time zone) whose unit every recipient took; NULL once
    -- the units were given back.
    quota_period          date,
    -- The batch's clientmsgid, random, fixed at the expansion: every retry reuses it.
    client_msg_id         text NOT NULL
        DEFAULT 'wxgate-' || replace(gen_random_uuid()::text, '-', ''),
    attempted_at          timestamptz,
    unknown_since         timestamptz,
    wechat_msgid          text,
    errcode               integer,
    errmsg                text,
    -- MASSSENDJOBFINISH of the batch's msg_id: Status and the four counts.
    job_status            text,
    total_count           integer,
    filter_count          integer,
    sent_count            integer,
    error_count           integer,
    sent_at               timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, message_id, seq),
    FOREIGN KEY (account_id, message_id) REFERENCES messages (account_id, id) ON DELETE CASCADE,
    CHECK (status IN ('queued', 'held', 'sending', 'sent', 'delivered', 'failed', 'expired', 'canceled')),
    CHECK (recipients = cardinality(openids) AND recipients BETWEEN 2 AND 10000)
);
CREATE INDEX mass_batches_due_idx ON mass_batches (release_at)
    WHERE status IN ('queued', 'held');
CREATE INDEX mass_batches_lease_idx ON mass_batches (lease_until)
    WHERE status = 'sending';
CREATE INDEX mass_batches_msgid_idx ON mass_batches (account_id, wechat_msgid)
    WHERE wechat_msgid IS NOT NULL;

-- Followers of a batched message's audience the expansion did not send to, with the reason
-- (mass_quota_exhausted: their four units of the month were used).
CREATE TABLE mass_skips (
    account_id            text NOT NULL,
    message_id            bigint NOT NULL,
    openid                text NOT NULL,
    reason                text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, message_id, openid),
    FOREIGN KEY (account_id, message_id) REFERENCES messages (account_id, id) ON DELETE CASCADE
);
