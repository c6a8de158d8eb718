-- Deleting a whole school (recalld school delete, DELETE /v1/school): every
-- row of every table that has a school_id, then the school. The tables are
-- found from the catalogue, so a table added later is deleted from without
-- editing this; the order follows the foreign keys by trying each table
-- and coming back to the ones another table still refers to. Tokens die
-- with their rows; the NOTIFY makes every daemon forget cached ones.
-- Returns the rows deleted, or NULL when there is no such school.
CREATE FUNCTION recalld_delete_school(s bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    todo text[];
    t text;
    progress boolean;
    n bigint;
    total bigint := 0;
BEGIN
    PERFORM 1 FROM school WHERE school_id = s FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}') INTO todo
      FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'school_id' AND NOT a.attisdropped
     WHERE ns.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND c.relname <> 'school';
    WHILE cardinality(todo) > 0 LOOP
        progress := false;
        FOREACH t IN ARRAY todo LOOP
            BEGIN
                EXECUTE format('DELETE FROM %I WHERE school_id = $1', t) USING s;
                GET DIAGNOSTICS n = ROW_COUNT;
                total := total + n;
                todo := array_remove(todo, t);
                progress := true;
            EXCEPTION WHEN foreign_key_violation THEN
                NULL;	-- another table still refers to its rows: the next pass
            END;
        END LOOP;
        IF NOT progress THEN
            RAISE EXCEPTION 'school % not deleted: % still referred to', s, todo;
        END IF;
    END LOOP;
    DELETE FROM school WHERE school_id = s;
    PERFORM pg_notify('recalld_tokens', 'school');
    RETURN total + 1;
END $$;
