-- When a pupil left (was made inactive: by a roster import, NRPS or the
-- API), so that the leavers job can erase them privacy.leaver_erase_after
-- later. Taken from updated_at, which the daemon sets from its clock (the
-- manual one in tests and demos). Back to NULL if the pupil returns.
ALTER TABLE pupil ADD COLUMN left_at timestamptz;
UPDATE pupil SET left_at = updated_at WHERE NOT active;

CREATE FUNCTION recalld_pupil_left() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.active THEN
        NEW.left_at := NULL;
    ELSIF TG_OP = 'INSERT' OR OLD.active THEN
        NEW.left_at := NEW.updated_at;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER pupil_left BEFORE INSERT OR UPDATE OF active ON pupil
    FOR EACH ROW EXECUTE FUNCTION recalld_pupil_left();

CREATE INDEX pupil_leavers ON pupil (school_id, left_at) WHERE left_at IS NOT NULL;
