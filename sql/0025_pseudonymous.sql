-- Data minimisation: a school may keep no names. With school.pseudonymous
-- (PATCH /v1/school), or for one import with `recalld import roster
-- --pseudonymous` (which sets recalld.pseudonymous for its session), the
-- names of pupils and teachers and teachers' emails are dropped as rows
-- are written, whoever writes them; recalld needs only the roster's
-- sourcedIds (external_id), which every page, event and export then shows.
-- Turning the setting on drops the names the school already holds.
ALTER TABLE school ADD COLUMN pseudonymous boolean NOT NULL DEFAULT false;

CREATE FUNCTION recalld_drop_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('recalld.pseudonymous', true), '') = 'on'
       OR EXISTS (SELECT 1 FROM school s WHERE s.school_id = NEW.school_id AND s.pseudonymous) THEN
        NEW.given_name := NULL;
        NEW.family_name := NULL;
        IF TG_TABLE_NAME = 'teacher' THEN
            NEW.email := NULL;
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER pupil_names BEFORE INSERT OR UPDATE ON pupil
    FOR EACH ROW EXECUTE FUNCTION recalld_drop_names();
CREATE TRIGGER teacher_names BEFORE INSERT OR UPDATE ON teacher
    FOR EACH ROW EXECUTE FUNCTION recalld_drop_names();

CREATE FUNCTION recalld_school_pseudonymous() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE pupil SET given_name = NULL, family_name = NULL
     WHERE school_id = NEW.school_id AND (given_name IS NOT NULL OR family_name IS NOT NULL);
    UPDATE teacher SET given_name = NULL, family_name = NULL, email = NULL
     WHERE school_id = NEW.school_id
       AND (given_name IS NOT NULL OR family_name IS NOT NULL OR email IS NOT NULL);
    RETURN NULL;
END $$;

CREATE TRIGGER school_pseudonymous AFTER UPDATE OF pseudonymous ON school
    FOR EACH ROW WHEN (NEW.pseudonymous AND NOT OLD.pseudonymous)
    EXECUTE FUNCTION recalld_school_pseudonymous();
