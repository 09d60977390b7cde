-- Reply rules (SPEC 8): one rule set per account, replaced whole by each PUT. `rules` holds
-- {"rules": [...], "default_reply": ...} as checked by gateway.domain.reply_rules; `version`
-- grows by one on each PUT, so a process recompiles a set only when it changed.
CREATE TABLE reply_rules (
    account_id            text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    rules                 jsonb NOT NULL,
    version               integer NOT NULL DEFAULT 1,
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- At most one endpoint in mode 'reply' per account (a second create is a 409).
CREATE UNIQUE INDEX webhook_endpoints_one_reply_idx ON webhook_endpoints (account_id)
    WHERE mode = 'reply';
