-- One home for the leases of every periodic job: which daemon works on a
-- school's share of a job (batches, flags, and every later job). The holder
-- renews its lease while it works and deletes it when done; a daemon that
-- dies leaves its lease to lapse after jobs.lease_timeout, and then any
-- daemon takes the school over. Leases run on the database's real time
-- (clock_timestamp()), never the manual clock: a test or demo that holds
-- its clock still must still see a dead daemon's lease lapse. No pupil
-- data: a school, a job name, a daemon's host:pid:nonce and a time.
CREATE TABLE job_lease (
    school_id bigint NOT NULL REFERENCES school (school_id) ON DELETE CASCADE,
    job text NOT NULL CHECK (job ~ '^[a-z_]{1,32}$'),
    holder text NOT NULL CHECK (length(holder) <= 200),
    until timestamptz NOT NULL,
    PRIMARY KEY (school_id, job)
);

-- Take the lease when it is free or lapsed; false when another holds it.
-- Two daemons racing for one school: the second waits on the first's row
-- and then sees it held.
CREATE FUNCTION recalld_lease_take(s bigint, j text, h text, ms bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_lease AS l (school_id, job, holder, until)
    VALUES (s, j, h, clock_timestamp() + ms * interval '1 millisecond')
    ON CONFLICT (school_id, job) DO UPDATE
        SET holder = EXCLUDED.holder, until = EXCLUDED.until
        WHERE l.until <= clock_timestamp() OR l.holder = EXCLUDED.holder;
    RETURN FOUND;
END $$;

-- Renew a lease this holder still has; raises (failing the statement and
-- any transaction it is in) when the lease lapsed and another took it, so
-- that a write made under a lost lease never commits.
CREATE FUNCTION recalld_lease_renew(s bigint, j text, h text, ms bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE job_lease SET until = clock_timestamp() + ms * interval '1 millisecond'
     WHERE school_id = s AND job = j AND holder = h;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'lease on % of school % lost', j, s USING ERRCODE = 'RL001';
    END IF;
END $$;

ALTER TABLE school DROP COLUMN batch_lease_until;
ALTER TABLE school_flag_job DROP COLUMN lease_until;
