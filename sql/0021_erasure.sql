-- A record that a pupil was erased (recalld pupil erase, POST
-- /v1/pupils/{id}/erase): when, by whom (an API token's id, or the command
-- line) and why, under a random reference the school can note in its own
-- records of the request. It holds nothing about the pupil: not their id,
-- not their name; the reference cannot be traced back to them.
CREATE TABLE erasure (
    school_id bigint NOT NULL REFERENCES school (school_id),
    erasure_id text NOT NULL CHECK (erasure_id ~ '^er_[0-9a-f]{32}$'),
    erased_at timestamptz NOT NULL,
    erased_by text NOT NULL CHECK (length(erased_by) <= 64),
    reason text NOT NULL CHECK (reason IN ('request', 'leaver')),
    PRIMARY KEY (school_id, erasure_id)
);
