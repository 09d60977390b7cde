-- name: api_qr_reserve_permanent
-- Take one of the account's permanent-code slots, unless all $2 are used (no row back then).
-- The row lock it takes serializes permanent-code creation per account until commit.
INSERT INTO qr_permanent_counts AS c (account_id, used) VALUES ($1, 1)
ON CONFLICT (account_id) DO UPDATE SET used = c.used + 1 WHERE c.used < $2
RETURNING used;

-- name: api_qr_find_permanent
-- The permanent code already created for a scene, if any (WeChat returns the same ticket).
SELECT scene, scene_is_int, permanent, ticket, url, expires_at
  FROM qr_codes
 WHERE account_id = $1 AND permanent AND scene = $2 AND scene_is_int = $3
 ORDER BY id
 LIMIT 1;

-- name: api_qr_insert
-- Record a code WeChat created.
INSERT INTO qr_codes (account_id, scene, scene_is_int, permanent, ticket, url, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING scene, scene_is_int, permanent, ticket, url, expires_at;
