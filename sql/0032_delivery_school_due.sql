-- 0032_delivery_school_due: the webhook sender works school by school
-- (issue 18): it asks when a school's next pending delivery is due, never
-- when any school's is. The index follows the question.
DROP INDEX delivery_due;
CREATE INDEX delivery_school_due ON delivery (school_id, next_attempt_at)
    WHERE status = 'pending';
