-- Flags a teacher can trust: a unit a class has stopped practising is
-- flagged, levels carry their evidence, and pupils keep a daily habit.

-- A school day is one of the school's weekdays that the calendar does not
-- close: the rule the batch job decides by, in one place.
CREATE FUNCTION recalld_school_day(p_school bigint, p_day date) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT extract(isodow FROM p_day)::smallint = ANY (s.school_days)
       AND NOT EXISTS (SELECT 1 FROM school_calendar c
                        WHERE c.school_id = s.school_id AND c.day = p_day)
      FROM school s WHERE s.school_id = p_school
$$;

-- The first of the last p_n school days up to p_today (p_today counts when
-- it is one). It looks back at most p_n weeks and a year: a school with
-- almost no school days gets a window that far back.
CREATE FUNCTION recalld_school_days_back(p_school bigint, p_today date, p_n integer)
RETURNS date
LANGUAGE plpgsql STABLE AS $$
DECLARE
    d date := p_today;
    n integer := p_n;
BEGIN
    LOOP
        IF recalld_school_day(p_school, d) THEN
            n := n - 1;
            IF n <= 0 THEN
                RETURN d;
            END IF;
        END IF;
        IF d <= p_today - (p_n * 7 + 366) THEN
            RETURN d;
        END IF;
        d := d - 1;
    END LOOP;
END
$$;

ALTER TABLE school
    -- not practised: this share of a class's pupils ...
    ADD COLUMN flag_unanswered_share double precision NOT NULL DEFAULT 0.5
        CHECK (flag_unanswered_share BETWEEN 0 AND 1),
    -- ... left a unit's prompts unanswered for this many school days
    ADD COLUMN flag_unanswered_days integer NOT NULL DEFAULT 10
        CHECK (flag_unanswered_days BETWEEN 1 AND 60),
    -- a level whose latest answer is older than this many school days is stale
    ADD COLUMN mastery_evidence_days integer NOT NULL DEFAULT 20
        CHECK (mastery_evidence_days BETWEEN 1 AND 200),
    -- a school day's batch is topped up to this many prompts (0: never)
    ADD COLUMN min_per_day integer NOT NULL DEFAULT 3
        CHECK (min_per_day BETWEEN 0 AND 50);

-- The flag's new status, and the numbers behind its new reason: how many
-- pupils left the unit unanswered, and for how many school days then.
ALTER TABLE flag
    DROP CONSTRAINT flag_status_check,
    ADD CONSTRAINT flag_status_check
        CHECK (status IN ('none', 'at_risk', 'not_practised', 'forgotten')),
    ADD COLUMN unanswered integer NOT NULL DEFAULT 0,
    ADD COLUMN unanswered_days integer;

-- The answers on a unit by a pupil and when, for the evidence and the rule.
CREATE INDEX prompt_by_pupil ON prompt (school_id, pupil_id, question_id);
