-- Queries of job-finish pushes applied to sent deliveries (gateway/store/job_finish.py). Times come in as parameters (the worker's clock), so that
-- tests can move time; `now()` is not used here.

-- name: finish_job_deliveries
-- A TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH result for the sent deliveries of one WeChat msgid.
UPDATE deliveries d
   SET status = $3, reason = $4, errcode = $5, errmsg = $6, updated_at = $7
 WHERE d.account_id = $1 AND d.wechat_msgid = $2 AND d.status = 'sent'
RETURNING d.message_id;

-- name: find_early_job_finishes
-- Job-finish pushes stored before the worker recorded the send they report.
SELECT account_id, msg_id, fields
  FROM inbound_events
 WHERE event IN ('TEMPLATESENDJOBFINISH', 'MASSSENDJOBFINISH')
   AND (account_id, msg_id) IN (SELECT * FROM unnest($1::text[], $2::text[]));
