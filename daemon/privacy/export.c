/* export.c: one pupil's data as a zip of JSON files (see export.h). */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zip.h>

#include "erase.h"
#include "export.h"
#include "util.h"

/*
 * Each file: a JSON array, one element a row, the row's JSON built by
 * PostgreSQL ($1 school, $2 pupil). Whole rows (to_jsonb), so that a
 * column added later is exported without editing this list.
 */
struct part {
	const char *file;
	const char *sql;
};

static const struct part parts[] = {
	{ "pupil.json",
	  "SELECT to_jsonb(p) - 'school_id' FROM pupil p WHERE p.school_id = $1"
	  " AND p.pupil_id = $2::bigint" },
	{ "enrolments.json",
	  "SELECT to_jsonb(cp) - 'school_id' || jsonb_build_object('class', k.name,"
	  " 'class_external_id', k.external_id)"
	  " FROM class_pupil cp JOIN class k ON k.school_id = cp.school_id AND k.class_id = cp.class_id"
	  " WHERE cp.school_id = $1 AND cp.pupil_id = $2::bigint ORDER BY cp.class_id" },
	{ "prompts.json",
	  "SELECT to_jsonb(x) - 'school_id' || jsonb_build_object('question', q.prompt,"
	  " 'local_date', b.local_date, 'batch_kind', b.kind)"
	  " FROM prompt x JOIN question q ON q.school_id = x.school_id AND q.question_id = x.question_id"
	  " JOIN batch b ON b.school_id = x.school_id AND b.batch_id = x.batch_id"
	  " WHERE x.school_id = $1 AND x.pupil_id = $2::bigint ORDER BY x.prompt_id" },
	{ "reviews.json",
	  "SELECT to_jsonb(r) - 'school_id' || jsonb_build_object('question', q.prompt)"
	  " FROM review r JOIN question q ON q.school_id = r.school_id AND q.question_id = r.question_id"
	  " WHERE r.school_id = $1 AND r.pupil_id = $2::bigint ORDER BY r.reviewed_at, r.review_id" },
	{ "memory.json",
	  "SELECT to_jsonb(m) - 'school_id' FROM memory_state m WHERE m.school_id = $1"
	  " AND m.pupil_id = $2::bigint ORDER BY m.question_id" },
	{ "levels.json",
	  "SELECT to_jsonb(m) - 'school_id' || jsonb_build_object('unit', u.name)"
	  " FROM mastery m JOIN unit u ON u.school_id = m.school_id AND u.unit_id = m.unit_id"
	  " WHERE m.school_id = $1 AND m.pupil_id = $2::bigint ORDER BY m.unit_id" },
	{ "level_history.json",
	  "SELECT to_jsonb(h) - 'school_id' FROM mastery_history h WHERE h.school_id = $1"
	  " AND h.pupil_id = $2::bigint ORDER BY h.unit_id, h.changed_at" },
	{ "class_flags.json",
	  "SELECT to_jsonb(f) - 'school_id' FROM flag f WHERE f.school_id = $1 AND f.class_id IN"
	  " (SELECT class_id FROM class_pupil WHERE school_id = $1 AND pupil_id = $2::bigint)"
	  " ORDER BY f.class_id, f.unit_id" },
	{ "guardians.json",
	  "SELECT jsonb_build_object('external_id', g.external_id, 'active', g.active)"
	  " FROM guardian_pupil gp JOIN guardian g ON g.school_id = gp.school_id"
	  "  AND g.guardian_id = gp.guardian_id"
	  " WHERE gp.school_id = $1 AND gp.pupil_id = $2::bigint ORDER BY g.external_id" },
	{ "family_notes.json",
	  "SELECT to_jsonb(d) - 'school_id' FROM guardian_digest d WHERE d.school_id = $1"
	  " AND d.pupil_id = $2::bigint ORDER BY d.week" },
	{ "lms_accounts.json",
	  "SELECT jsonb_build_object('lms', p.issuer, 'lms_user_id', u.sub, 'last_launch_at',"
	  " u.last_launch_at) FROM lti_user u JOIN lti_platform p ON p.school_id = u.school_id"
	  "  AND p.platform_id = u.platform_id"
	  " WHERE u.school_id = $1 AND u.pupil_id = $2::bigint ORDER BY p.issuer, u.sub" },
	{ "gradebook.json",
	  "SELECT jsonb_build_object('unit_id', s.unit_id, 'last_score_queued_at', s.queued_at)"
	  " FROM lti_score s WHERE s.school_id = $1 AND s.pupil_id = $2::bigint ORDER BY s.unit_id" },
	{ "access_audit.json",
	  "SELECT to_jsonb(a) - 'school_id' FROM audit a WHERE a.school_id = $1"
	  " AND a.pupil_id = $2::bigint ORDER BY a.audit_id" },
	{ "deliveries.json",
	  "SELECT to_jsonb(d) - 'school_id' - 'lease_until' || jsonb_build_object('attempts_log',"
	  " (SELECT coalesce(jsonb_agg(to_jsonb(a) - 'school_id' ORDER BY a.attempt), '[]')"
	  "  FROM delivery_attempt a WHERE a.school_id = d.school_id"
	  "  AND a.delivery_id = d.delivery_id))"
	  " FROM delivery d WHERE d.school_id = $1 AND " NAMES_PUPIL("d.payload")
	  " ORDER BY d.delivery_id" },
};

static const char readme[] =
    "What recalld holds about one pupil\n"
    "==================================\n\n"
    "recalld is the school's practice scheduler: after a class has been taught a\n"
    "unit, it sends each pupil a few questions a school day to help them remember\n"
    "it, and keeps what they answered. This archive is everything it holds about\n"
    "this pupil, taken at one moment. Each file is a list in JSON.\n\n"
    "pupil.json          Who the pupil is to recalld: the school's id for them\n"
    "                    (external_id, from the school's roster), their names and\n"
    "                    year group as the school gave them, and whether they are\n"
    "                    active.\n"
    "enrolments.json     The classes they are in.\n"
    "prompts.json        Every question sent to them: when, the question's text,\n"
    "                    when it expired, and, if they answered, the result.\n"
    "reviews.json        Every answer they gave: when, whether it was right, how\n"
    "                    long it took, and the memory model's estimate after it\n"
    "                    (stability in days, difficulty, chance of remembering).\n"
    "memory.json         For each question they have seen, the model's current\n"
    "                    estimate and the day it is next due.\n"
    "levels.json         Their level on each unit (0 Emerging, 1 Developing,\n"
    "                    2 Secure, 3 Mastery) and the recall it rests on.\n"
    "level_history.json  Each change of level, with when it changed.\n"
    "class_flags.json    The notes to teachers about topics their classes are\n"
    "                    forgetting. These are about whole classes: they count\n"
    "                    pupils but name none.\n"
    "guardians.json      The school's ids (from its roster) of the family members\n"
    "                    linked to them; no names or contact details are kept.\n"
    "family_notes.json   The weeks a note about their practice went to them.\n"
    "lms_accounts.json   Their user id in the school's learning platform (LMS),\n"
    "                    which recalld keeps to know them when they open it from\n"
    "                    there, and when they last did.\n"
    "gradebook.json      When their recall of each unit last went to the LMS's\n"
    "                    gradebook (the scores themselves are in deliveries.json).\n"
    "access_audit.json   Each time a member of staff used recalld to look at or\n"
    "                    change this pupil's data: when, which account, from where.\n"
    "deliveries.json     The messages recalld sent about them to the school's\n"
    "                    systems (its messaging system or learning platform), with\n"
    "                    each attempt to send them.\n\n"
    "Times are in UTC. The school can also erase all of this (recalld pupil\n"
    "erase, or POST /v1/pupils/{id}/erase); see the school's data-protection\n"
    "notice and recalld's DATA-PROTECTION.md.\n";

static bool
fail(char *err, size_t errlen, const char *what, const char *why)
{
	snprintf(err, errlen, "%s: %s", what, why);
	return false;
}

static bool
exec_ok(PGconn *pg, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(pg, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		fail(err, errlen, sql, PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/* One part into path: the rows as they come, one at a time. */
static bool
write_part(PGconn *pg, const struct part *pt, const char *const p[2], const char *path,
    char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");
	PGresult *res;
	bool ok = true, first = true;

	if (f == NULL)
		return fail(err, errlen, path, strerror(errno));
	if (!PQsendQueryParams(pg, pt->sql, 2, NULL, p, NULL, NULL, 0) ||
	    !PQsetSingleRowMode(pg)) {
		fclose(f);
		return fail(err, errlen, pt->file, PQerrorMessage(pg));
	}
	fputs("[", f);
	while ((res = PQgetResult(pg)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_SINGLE_TUPLE) {
			fputs(first ? "\n" : ",\n", f);
			fputs(PQgetvalue(res, 0, 0), f);
			first = false;
		} else if (st != PGRES_TUPLES_OK && ok) {
			ok = fail(err, errlen, pt->file, PQresultErrorMessage(res));
		}
		PQclear(res);
	}
	fputs(first ? "]\n" : "\n]\n", f);
	if (fclose(f) != 0 && ok)
		ok = fail(err, errlen, path, strerror(errno));
	return ok;
}

enum export_result
export_pupil(PGconn *pg, const char *school, const char *pupil, const char *zip_path,
    char *err, size_t errlen)
{
	const char *p[2] = { school, pupil };
	const size_t nparts = sizeof parts / sizeof parts[0];
	char dir[] = "/tmp/recalld-export.XXXXXX", *paths[sizeof parts / sizeof parts[0] + 1] = { 0 };
	enum export_result result = EXPORT_FAILED;
	zip_t *za = NULL;
	PGresult *res = NULL;
	int zerr = 0;
	FILE *f;

	if (mkdtemp(dir) == NULL) {
		fail(err, errlen, "temporary directory", strerror(errno));
		return EXPORT_FAILED;
	}
	if (!exec_ok(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen))
		goto done;
	res = PQexecParams(pg, "SELECT 1 FROM pupil WHERE school_id = $1 AND pupil_id = $2::bigint",
	    2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fail(err, errlen, "finding the pupil", PQresultErrorMessage(res));
		goto done;
	}
	if (PQntuples(res) != 1) {
		result = EXPORT_NO_PUPIL;
		snprintf(err, errlen, "school %s has no pupil %s", school, pupil);
		goto done;
	}
	paths[nparts] = xasprintf("%s/README.txt", dir);
	if ((f = fopen(paths[nparts], "w")) == NULL || fputs(readme, f) < 0 || fclose(f) != 0) {
		fail(err, errlen, paths[nparts], strerror(errno));
		goto done;
	}
	for (size_t i = 0; i < nparts; i++) {
		paths[i] = xasprintf("%s/%s", dir, parts[i].file);
		if (!write_part(pg, &parts[i], p, paths[i], err, errlen))
			goto done;
	}
	if (!exec_ok(pg, "COMMIT", err, errlen))
		goto done;
	if ((za = zip_open(zip_path, ZIP_CREATE | ZIP_TRUNCATE, &zerr)) == NULL) {
		zip_error_t ze;

		zip_error_init_with_code(&ze, zerr);
		fail(err, errlen, zip_path, zip_error_strerror(&ze));
		zip_error_fini(&ze);
		goto done;
	}
	for (size_t i = 0; i <= nparts; i++) {
		const char *name = i < nparts ? parts[i].file : "README.txt";
		zip_source_t *src = zip_source_file(za, paths[i], 0, -1);

		if (src == NULL || zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8) < 0) {
			zip_source_free(src);
			fail(err, errlen, name, zip_strerror(za));
			zip_discard(za);
			za = NULL;
			goto done;
		}
	}
	/* compresses now, reading each file from disk */
	if (zip_close(za) != 0) {
		fail(err, errlen, zip_path, zip_strerror(za));
		zip_discard(za);
		za = NULL;
		goto done;
	}
	za = NULL;
	result = EXPORT_OK;
done:
	PQclear(res);
	if (result != EXPORT_OK && PQtransactionStatus(pg) != PQTRANS_IDLE)
		PQclear(PQexec(pg, "ROLLBACK"));
	for (size_t i = 0; i <= nparts; i++) {
		if (paths[i] != NULL)
			unlink(paths[i]);
		free(paths[i]);
	}
	rmdir(dir);
	return result;
}
