-- The sender claims per endpoint (daemon/push.c): a skip scan finds the
-- endpoints with pending deliveries and each offers its oldest due ones,
-- so one endpoint's backlog is never walked through to reach another's.
-- delivery_id orders deliveries due at the same moment (a batch's).
CREATE INDEX delivery_endpoint_due ON delivery (school_id, endpoint_id, next_attempt_at, delivery_id)
    WHERE status = 'pending';
