-- distribute.sql: recalld's tables on Citus, run once on the coordinator
-- after `recalld migrate` and before the first school is created:
--
--   psql -v ON_ERROR_STOP=1 -d recalld -f distribute.sql
--
-- Tenant tables are distributed by school_id and co-located, so that
-- everything one school does (a batch, an answer, a class's flags) runs on
-- one worker. The few tables that the daemon reads across schools (which
-- schools are due, the job leases, the school-day calendar those claims
-- consult) are reference tables, copied to every worker. tests/citus.sh
-- checks this file against the migrations (every table named once) and the
-- daemon's SQL against this file; it has not been run on a Citus cluster
-- (see the README).

-- Across schools: small, read by the jobs' claims.
SELECT create_reference_table('school');
SELECT create_reference_table('school_calendar');
SELECT create_reference_table('school_flag_job');
SELECT create_reference_table('job_lease');
SELECT create_reference_table('school_fsrs');
SELECT create_reference_table('link_key');
SELECT create_reference_table('lti_key');

-- The coordinator's own: never distributed.
-- coordinator: schema_migrations
-- coordinator: manual_clock

-- Per school, co-located.
SELECT create_distributed_table('pupil', 'school_id');
SELECT create_distributed_table('teacher', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('course', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('unit', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('question', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('question_version', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('class', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('class_pupil', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('class_teacher', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('taught', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('batch', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('prompt', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('review', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('memory_state', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('mastery', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('mastery_history', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('flag', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('class_digest', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('endpoint', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('delivery', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('delivery_attempt', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('api_token', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('signin_code', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('idempotency', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('erasure', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('audit', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('fsrs_fit', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('course_fsrs', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('unit_level', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('guardian', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('guardian_pupil', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('guardian_digest', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('lti_platform', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('lti_login', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('lti_user', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('lti_context', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('lti_lineitem', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('lti_score', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('lti_deeplink', 'school_id', colocate_with => 'pupil');
SELECT create_distributed_table('lti_registration', 'school_id', colocate_with => 'pupil');
