-- 0029_unit_levels: what each level looks like in one unit, in its
-- teacher's words (PUT /v1/units/{id}/levels), shown to pupils beside the
-- school-wide descriptor recalld derives from its thresholds. Plain text,
-- escaped wherever shown. No pupil's data.
CREATE TABLE unit_level (
    school_id bigint NOT NULL,
    unit_id bigint NOT NULL,
    level text NOT NULL CHECK (level IN ('emerging', 'developing', 'secure', 'mastery')),
    descriptor text NOT NULL CHECK (length(descriptor) BETWEEN 1 AND 300),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (school_id, unit_id, level),
    FOREIGN KEY (school_id, unit_id) REFERENCES unit (school_id, unit_id)
);
