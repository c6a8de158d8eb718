-- 0004_teachers: what the flag job and teachers' checks need.

-- The flag job's state per school: one daemon works on a school at a time
-- (a lease, as the batch job's, but on its own row so the two jobs never
-- wait for or skip each other); review_mark is the highest review_id it has
-- seen, so a run after answers can skip the schools that had none; done_at
-- the clock of the last run that visited the school.
CREATE TABLE school_flag_job (
    school_id bigint PRIMARY KEY REFERENCES school (school_id),
    lease_until timestamptz,
    done_at timestamptz,
    review_mark bigint NOT NULL DEFAULT 0
);

-- What a flag shows beside its status: the class's size, how many fell
-- from Secure or Mastery, and the class mean recall at the horizon.
ALTER TABLE flag
    ADD COLUMN class_pupils integer NOT NULL DEFAULT 0,
    ADD COLUMN fallen integer NOT NULL DEFAULT 0,
    ADD COLUMN class_recall_ahead double precision,
    ADD COLUMN horizon_days integer;

-- The weekly teacher digest went out for this class this (ISO) week.
CREATE TABLE class_digest (
    school_id bigint NOT NULL,
    class_id bigint NOT NULL,
    week date NOT NULL,		-- the Monday of the school's local week
    sent_at timestamptz NOT NULL,
    PRIMARY KEY (school_id, class_id, week),
    FOREIGN KEY (school_id, class_id) REFERENCES class (school_id, class_id)
);

-- A check on demand names the class and unit it was pushed for.
ALTER TABLE batch
    ADD COLUMN class_id bigint,
    ADD COLUMN unit_id bigint,
    ADD CONSTRAINT batch_class_id_fk FOREIGN KEY (school_id, class_id)
        REFERENCES class (school_id, class_id),
    ADD CONSTRAINT batch_unit_id_fk FOREIGN KEY (school_id, unit_id)
        REFERENCES unit (school_id, unit_id),
    ADD CONSTRAINT batch_check_names_unit CHECK ((kind = 'daily') = (unit_id IS NULL));
