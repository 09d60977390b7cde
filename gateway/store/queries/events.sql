-- Marketing events (C5): events, registrations, check-ins, their messages, survey answers.

-- name: event_insert
-- A new event with its check-in QR code.
INSERT INTO events (account_id, name, starts_at, ends_at, capacity, reminder_offsets,
                    reminder_template, welcome_text, survey_url, survey_template, qr_scene,
                    qr_ticket, qr_url, qr_expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
RETURNING *;

-- name: event_get
-- One event.
SELECT * FROM events WHERE account_id = $1 AND id = $2;

-- name: event_lock
-- One event, locked: registrations of one event are serialized (capacity, idempotency).
SELECT * FROM events WHERE account_id = $1 AND id = $2 FOR UPDATE;

-- name: event_by_scene
-- The event whose check-in QR code has this scene.
SELECT * FROM events WHERE account_id = $1 AND qr_scene = $2;

-- name: event_registration_lock
-- A follower's registration row for an event, locked.
SELECT registered_at, checked_in_at FROM event_registrations
 WHERE account_id = $1 AND event_id = $2 AND openid = $3
   FOR UPDATE;

-- name: event_register
-- Register a follower (a walk-in's row gains its registration time).
INSERT INTO event_registrations (account_id, event_id, openid, registered_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (account_id, event_id, openid) DO UPDATE
   SET registered_at = coalesce(event_registrations.registered_at, EXCLUDED.registered_at);

-- name: event_count_registration
-- One more registration; the CHECK (registered <= capacity) makes the limit an invariant.
UPDATE events SET registered = registered + 1, updated_at = now()
 WHERE account_id = $1 AND id = $2;

-- name: event_check_in_new
-- Check in a follower who has no row yet (a walk-in); no row back if they have one.
INSERT INTO event_registrations (account_id, event_id, openid, checked_in_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (account_id, event_id, openid) DO NOTHING
RETURNING checked_in_at;

-- name: event_check_in_registered
-- Check in a follower who has a row, once: a later scan keeps the first time.
UPDATE event_registrations SET checked_in_at = $4
 WHERE account_id = $1 AND event_id = $2 AND openid = $3 AND checked_in_at IS NULL
RETURNING checked_in_at;

-- name: event_attendee
-- A follower's registration and check-in for an event, if any.
SELECT registered_at, checked_in_at FROM event_registrations
 WHERE account_id = $1 AND event_id = $2 AND openid = $3;

-- name: event_message_link
-- Remember a message an event queued, for the event's statistics.
INSERT INTO event_messages (account_id, event_id, message_id, purpose, openid)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING;

-- name: event_survey_answer
-- Store a follower's survey answers once; no row back means they had answered already.
INSERT INTO survey_answers (account_id, event_id, openid, answers)
VALUES ($1, $2, $3, $4)
ON CONFLICT (account_id, event_id, openid) DO NOTHING
RETURNING answered_at;

-- name: event_stats
-- An event's numbers: registrations, check-ins, messages by purpose (sent = sent or delivered), answers.
WITH r AS (
    SELECT count(registered_at) AS registered,
           count(checked_in_at) AS checked_in,
           count(*) FILTER (WHERE registered_at IS NULL) AS walk_ins
      FROM event_registrations
     WHERE account_id = $1 AND event_id = $2
), m AS (
    SELECT count(*) FILTER (WHERE e.purpose = 'reminder') AS reminders_queued,
           count(*) FILTER (WHERE e.purpose = 'reminder' AND sent) AS reminders_sent,
           count(*) FILTER (WHERE e.purpose = 'welcome' AND sent) AS welcomes_sent,
           count(*) FILTER (WHERE e.purpose = 'survey') AS surveys_queued,
           count(*) FILTER (WHERE e.purpose = 'survey' AND sent) AS surveys_sent
      FROM (SELECT em.purpose, msg.status IN ('sent', 'delivered') AS sent
              FROM event_messages em
              JOIN messages msg ON msg.account_id = em.account_id AND msg.id = em.message_id
             WHERE em.account_id = $1 AND em.event_id = $2) e
), s AS (
    SELECT count(*) AS surveys_answered
      FROM survey_answers
     WHERE account_id = $1 AND event_id = $2
)
SELECT * FROM r, m, s;

-- name: event_survey_answered
-- Whether a follower has answered an event's survey.
SELECT EXISTS (SELECT 1 FROM survey_answers WHERE account_id = $1 AND event_id = $2 AND openid = $3);
