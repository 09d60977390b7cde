-- The account's tags as the platform has them (gateway/store/tags.py).

-- name: tags_list
-- The account's tags by id.
SELECT tag_id, name, count FROM tags WHERE account_id = $1 ORDER BY tag_id;

-- name: tags_get
-- One tag.
SELECT tag_id, name, count FROM tags WHERE account_id = $1 AND tag_id = $2;

-- name: tags_insert
-- A tag the platform just created.
INSERT INTO tags (account_id, tag_id, name, count) VALUES ($1, $2, $3, 0)
ON CONFLICT (account_id, tag_id) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
RETURNING tag_id, name, count;

-- name: tags_delete
-- Forget a tag and take it off every follower who had it.
WITH gone AS (DELETE FROM tags WHERE account_id = $1 AND tag_id = $2 RETURNING tag_id)
UPDATE followers SET tags = array_remove(tags, $2), updated_at = now()
 WHERE account_id = $1 AND $2 = ANY(tags);

-- name: tags_replace
-- The platform's list (tags/get) replaces ours.
WITH incoming AS (
    SELECT * FROM unnest($2::integer[], $3::text[], $4::integer[]) AS t (tag_id, name, count)
), gone AS (
    DELETE FROM tags WHERE account_id = $1 AND tag_id NOT IN (SELECT tag_id FROM incoming)
)
INSERT INTO tags AS t (account_id, tag_id, name, count)
SELECT $1, tag_id, name, count FROM incoming
ON CONFLICT (account_id, tag_id) DO UPDATE
   SET name = EXCLUDED.name, count = EXCLUDED.count, updated_at = now();

-- name: tags_member_counts
-- Tags held per follower of $2 (to refuse a 21st before calling the platform).
SELECT o AS openid, coalesce(cardinality(f.tags), 0) AS held,
       coalesce($3 = ANY(f.tags), false) AS has
  FROM unnest($2::text[]) AS o
  LEFT JOIN followers f ON f.account_id = $1 AND f.openid = o;

-- name: tags_add_members
-- Record that the followers have the tag (rows made for followers we had not seen).
WITH wanted AS (
    SELECT DISTINCT o FROM unnest($2::text[]) AS o
), had AS (
    SELECT openid FROM followers
     WHERE account_id = $1 AND openid IN (SELECT o FROM wanted) AND $3 = ANY(tags)
), changed AS (
    INSERT INTO followers AS f (account_id, openid, tags)
    SELECT $1, o, ARRAY[$3::integer] FROM wanted
    ON CONFLICT (account_id, openid) DO UPDATE
       SET tags = CASE WHEN $3 = ANY(f.tags) THEN f.tags ELSE f.tags || $3 END,
           updated_at = now()
)
UPDATE tags
   SET count = count + (SELECT count(*) FROM wanted) - (SELECT count(*) FROM had),
       updated_at = now()
 WHERE account_id = $1 AND tag_id = $3;

-- name: tags_remove_members
-- Record that the followers no longer have the tag.
WITH changed AS (
    UPDATE followers SET tags = array_remove(tags, $3), updated_at = now()
     WHERE account_id = $1 AND openid = ANY($2::text[]) AND $3 = ANY(tags)
    RETURNING openid
)
UPDATE tags SET count = greatest(count - (SELECT count(*) FROM changed), 0), updated_at = now()
 WHERE account_id = $1 AND tag_id = $3;

-- name: tags_charge_mass
-- Delivery $2, a service mass to tag $3: one unit of period $4 from every subscribed member
-- still under the limit $5 (the platform skips the others), each charge recorded; members
-- already charged for this delivery are not charged again. How many were charged.
WITH members AS (
    SELECT f.openid FROM followers f
     WHERE f.account_id = $1 AND f.subscribed AND f.tags @> ARRAY[$3::integer]
       AND NOT EXISTS (SELECT 1 FROM tag_mass_charges c
                        WHERE c.account_id = $1 AND c.delivery_id = $2 AND c.openid = f.openid)
     ORDER BY f.openid
), charged AS (
    INSERT INTO follower_mass_usage AS u (account_id, openid, period, used)
    SELECT $1, openid, $4, 1 FROM members
    ON CONFLICT (account_id, openid, period) DO UPDATE
       SET used = u.used + 1
     WHERE u.used + 1 <= $5
    RETURNING openid
), recorded AS (
    INSERT INTO tag_mass_charges (account_id, delivery_id, openid, period)
    SELECT $1, $2, openid, $4 FROM charged
    RETURNING 1
)
SELECT count(*) FROM recorded;

-- name: tags_give_back_mass
-- The tag masses ($1, $2 delivery ids) WeChat did not send: their members get the units back.
WITH gone AS (
    DELETE FROM tag_mass_charges c
     USING unnest($1::text[], $2::bigint[]) AS d (account_id, id)
     WHERE c.account_id = d.account_id AND c.delivery_id = d.id
    RETURNING c.account_id, c.openid, c.period
)
UPDATE follower_mass_usage u
   SET used = greatest(u.used - 1, 0)
  FROM gone g
 WHERE u.account_id = g.account_id AND u.openid = g.openid AND u.period = g.period;
