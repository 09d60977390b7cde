-- Follower state is ordered by CreateTime, not arrival (SPEC 2.2): `subscription_at` is the
-- time of the event that set `subscribed` last (a subscribe, an unsubscribe, or a callback
-- interaction that proves the subscription). An older event leaves `subscribed` alone.
ALTER TABLE followers ADD COLUMN subscription_at timestamptz;

UPDATE followers
   SET subscription_at = CASE WHEN subscribed
                              THEN greatest(subscribed_at, unsubscribed_at, last_interaction_at)
                              ELSE greatest(subscribed_at, unsubscribed_at) END
 WHERE subscribed_at IS NOT NULL OR unsubscribed_at IS NOT NULL;
