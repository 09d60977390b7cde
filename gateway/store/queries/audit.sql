-- name: audit_insert
-- One change made through the API or the console.
INSERT INTO audit_log (actor, token_id, via, method, route, path, account_id, status,
                       remote_addr, summary)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id;

-- name: audit_list
-- One keyset page of the audit log, newest first, below id $1, with optional filters:
-- account $2, actor name $3, token $4, method $5, since $6 (inclusive), until $7 (exclusive).
SELECT id, at, actor, token_id, via, method, route, path, account_id, status, remote_addr,
       summary
  FROM audit_log
 WHERE ($1::bigint IS NULL OR id < $1)
   AND ($2::text IS NULL OR account_id = $2)
   AND ($3::text IS NULL OR actor = $3)
   AND ($4::bigint IS NULL OR token_id = $4)
   AND ($5::text IS NULL OR method = $5)
   AND ($6::timestamptz IS NULL OR at >= $6)
   AND ($7::timestamptz IS NULL OR at < $7)
 ORDER BY id DESC
 LIMIT $8;
