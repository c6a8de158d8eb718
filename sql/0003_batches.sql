-- 0003_batches: what the daily batch job needs on each school.
-- batch_lease_until: one daemon builds a school's batches at a time (others
-- skip it while the lease holds; a crashed daemon's lease runs out).
-- batches_done_for: the local date whose batches are all built.
ALTER TABLE school
    ADD COLUMN batch_lease_until timestamptz,
    ADD COLUMN batches_done_for date;
