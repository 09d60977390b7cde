-- The account's custom menu (SPEC 8): what the API last asked for, applied to WeChat by any
-- worker with `/cgi-bin/menu/create` (or removed with `/cgi-bin/menu/delete`), retried with
-- backoff like a message. One row per account.

CREATE TABLE menus (
    account_id       text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    -- The `{"button": [...]}` body to apply; NULL while a delete is asked for.
    body             jsonb,
    state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'applied', 'failed', 'deleting')),
    -- Every PUT or DELETE adds one: a worker's answer for an older version is not recorded
    -- (the newer request is applied next).
    version          bigint NOT NULL DEFAULT 1,
    -- WeChat's answer to the latest attempt that failed (a retry keeps state pending).
    errcode          integer,
    errmsg           text,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    leased_by        text,
    lease_until      timestamptz,
    applied_at       timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (state = 'failed' OR (body IS NULL) = (state = 'deleting'))
);

-- The workers' claim: due menus only, oldest first.
CREATE INDEX menus_due_idx ON menus (next_attempt_at) WHERE state IN ('pending', 'deleting');
