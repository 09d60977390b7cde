-- The one clock of the installation (README "Reliability"): the database's.

-- name: sched_db_clock
-- The database's time now (clock_timestamp: not frozen at a transaction's start).
SELECT clock_timestamp() AS now;
