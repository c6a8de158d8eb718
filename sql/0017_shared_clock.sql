-- The manual clock of tests and demos, shared by every daemon on this
-- database so that all of them agree on "now". One row at most; the time
-- only moves forward. Holds no school's data.
CREATE TABLE manual_clock (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    now_us bigint NOT NULL
);
