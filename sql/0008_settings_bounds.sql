-- A school's settings have one set of bounds: what PATCH /v1/school takes
-- and the daemon reads (daemon/school/settings.h). Two CHECKs said
-- otherwise: desired_retention (0.5, 1) against [0.7, 0.99], and
-- mastery_stability_days > 0 against [1, 3650]. They now say the same.
--
-- A school already outside the new bounds (set by hand) stops the
-- migration, naming the school and the setting, and nothing changes: its
-- value is for an admin to choose, not for a migration to guess.
DO $$
DECLARE
    bad text;
BEGIN
    SELECT string_agg(format('school %s: %s', s.school_id, s.what), '; ' ORDER BY s.school_id)
      INTO bad
      FROM (SELECT school_id, format('desired_retention is %s, outside [0.7, 0.99]',
                   desired_retention) AS what
              FROM school WHERE NOT (desired_retention BETWEEN 0.7 AND 0.99)
            UNION ALL
            SELECT school_id, format('mastery_stability_days is %s, outside [1, 3650]',
                   mastery_stability_days)
              FROM school WHERE NOT (mastery_stability_days BETWEEN 1 AND 3650)) s;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'school settings outside their bounds: %', bad
            USING HINT = 'set them within the bounds (PATCH /v1/school), then migrate again';
    END IF;
END
$$;

ALTER TABLE school
    DROP CONSTRAINT school_desired_retention_check,
    ADD CONSTRAINT school_desired_retention_check
        CHECK (desired_retention BETWEEN 0.7 AND 0.99),
    DROP CONSTRAINT school_mastery_stability_days_check,
    ADD CONSTRAINT school_mastery_stability_days_check
        CHECK (mastery_stability_days BETWEEN 1 AND 3650);
