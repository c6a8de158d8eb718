-- An answer's outcome (the feedback replayed when the same prompt is
-- answered again) moves from its prompt to its review row.
--
-- Answering used to rewrite the whole prompt row, growing it from about
-- 90 bytes to about 600: never a HOT update, so a new entry in each of
-- the prompt's indexes and a full new row in the WAL for every answer.
-- The review row is written anyway, and found by review_one_per_prompt
-- (its reviewed_at is the prompt's answered_at). What is left on the
-- prompt, answered_at, is a fixed-size change that fits in the room the
-- fill factor keeps on each page: a HOT update, no index touched.
ALTER TABLE review ADD COLUMN result jsonb;
UPDATE review r SET result = p.result
  FROM prompt p
 WHERE p.school_id = r.school_id AND p.prompt_id = r.prompt_id
   AND p.answered_at = r.reviewed_at AND p.result IS NOT NULL;
ALTER TABLE prompt DROP COLUMN result;
ALTER TABLE prompt SET (fillfactor = 85);
