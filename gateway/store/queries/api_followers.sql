-- name: api_follower_get
-- One follower with its mass units used in period $3 (NULL when none were used).
SELECT f.account_id, f.openid, f.subscribed, f.subscribed_at, f.unsubscribed_at,
       f.last_interaction_at, f.last_interaction, f.window_ends_at, f.window_remaining,
       f.first_qr_scene, f.latest_qr_scene, f.oauth_scope, f.oauth_at, f.unionid, f.nickname,
       f.subscribe_scene, f.qr_scene, f.remark, f.tags, f.synced_at,
       f.updated_at, u.used AS mass_used
  FROM followers f
  LEFT JOIN follower_mass_usage u
         ON u.account_id = f.account_id AND u.openid = f.openid AND u.period = $3
 WHERE f.account_id = $1 AND f.openid = $2;

-- name: api_follower_list
-- One keyset page of followers by openid after $2; $3 'open'/'closed' filters by the window
-- at $4 (open: before its end with messages left), $5 is the mass-quota period.
SELECT f.account_id, f.openid, f.subscribed, f.subscribed_at, f.unsubscribed_at,
       f.last_interaction_at, f.last_interaction, f.window_ends_at, f.window_remaining,
       f.first_qr_scene, f.latest_qr_scene, f.oauth_scope, f.oauth_at, f.unionid, f.nickname,
       f.subscribe_scene, f.qr_scene, f.remark, f.tags, f.synced_at,
       f.updated_at, u.used AS mass_used
  FROM followers f
  LEFT JOIN follower_mass_usage u
         ON u.account_id = f.account_id AND u.openid = f.openid AND u.period = $5
 WHERE f.account_id = $1
   AND ($2::text IS NULL OR f.openid > $2)
   AND ($3::text IS NULL
        OR ($3::text = 'open') = coalesce(f.window_ends_at > $4::timestamptz
                                          AND coalesce(f.window_remaining > 0, true), false))
 ORDER BY f.openid
 LIMIT $6;
