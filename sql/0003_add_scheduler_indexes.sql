-- Indexes the release scheduler's queries rely on.

-- The fair claim: each account's due rows, oldest first (one index probe per account).
CREATE INDEX deliveries_account_due_idx ON deliveries (account_id, release_at)
    WHERE status IN ('queued', 'held') AND release_at IS NOT NULL;
-- The rows of one mass batch (one clientmsgid), taken over or retried together.
CREATE INDEX deliveries_batch_idx ON deliveries (account_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;
-- TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH name the job by WeChat's msgid.
CREATE INDEX deliveries_wechat_msgid_idx ON deliveries (account_id, wechat_msgid)
    WHERE wechat_msgid IS NOT NULL;
-- The expiry sweep: unfinished messages by deadline.
CREATE INDEX messages_expiry_idx ON messages (expires_at)
    WHERE status IN ('queued', 'held', 'sending');
-- Retention: finished messages by age.
CREATE INDEX messages_finished_idx ON messages (updated_at)
    WHERE status IN ('sent', 'delivered', 'failed', 'expired', 'canceled');
-- A job-finish push that arrived before the worker recorded the send it reports.
CREATE INDEX inbound_events_job_idx ON inbound_events (account_id, msg_id)
    WHERE event IN ('TEMPLATESENDJOBFINISH', 'MASSSENDJOBFINISH');
