-- Nothing reads engine_decision by the post's key hash (the trace reads by source system and booking id);
-- the index cost the engine a write to a random page per decision at national volumes.
DROP INDEX IF EXISTS "engine_decision_post_idx";
