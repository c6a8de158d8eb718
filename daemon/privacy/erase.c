/* erase.c: the statements that erase one pupil (see erase.h). */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "erase.h"
#include "log.h"

#define ABOUT_PUPIL(d) NAMES_PUPIL(d ".payload")

/* Every statement lists all six parameters' types so that each can be prepared alone. */
#define PARAMS_USED " AND $3::text IS NOT NULL AND $4::timestamptz IS NOT NULL" \
	" AND $5::text IS NOT NULL AND $6::text IS NOT NULL"

const char *const erase_sql[] = {
	/* one erasure of a pupil at a time; answers to them wait */
	"SELECT 1 FROM pupil WHERE school_id = $1 AND pupil_id = $2::bigint" PARAMS_USED
	" FOR UPDATE",
	"DELETE FROM delivery_attempt a USING delivery d WHERE a.school_id = $1"
	" AND d.school_id = $1 AND a.delivery_id = d.delivery_id AND d.status = 'pending'"
	" AND " ABOUT_PUPIL("d") PARAMS_USED,
	"DELETE FROM delivery d WHERE d.school_id = $1 AND d.status = 'pending'"
	" AND " ABOUT_PUPIL("d") PARAMS_USED,
	"UPDATE delivery_attempt a SET error = NULL, response_head = NULL FROM delivery d"
	" WHERE a.school_id = $1 AND d.school_id = $1 AND a.delivery_id = d.delivery_id"
	" AND " ABOUT_PUPIL("d") PARAMS_USED,
	"UPDATE delivery d SET payload = '{}' WHERE d.school_id = $1"
	" AND " ABOUT_PUPIL("d") PARAMS_USED,
	"DELETE FROM idempotency i WHERE i.school_id = $1 AND " NAMES_PUPIL("i.body") PARAMS_USED,
	/* who looked stays; at whom goes */
	"UPDATE audit SET pupil_id = NULL, object_id = NULL WHERE school_id = $1"
	" AND pupil_id = $2::bigint" PARAMS_USED,
	"DELETE FROM review WHERE school_id = $1 AND pupil_id = $2::bigint" PARAMS_USED,
	"DELETE FROM mastery_history WHERE school_id = $1 AND pupil_id = $2::bigint" PARAMS_USED,
	"DELETE FROM mastery WHERE school_id = $1 AND pupil_id = $2::bigint" PARAMS_USED,
	"DELETE FROM memory_state WHERE school_id = $1 AND pupil_id = $2::bigint" PARAMS_USED,
	"DELETE FROM prompt WHERE school_id = $1 AND pupil_id = $2::bigint" PARAMS_USED,
	"DELETE FROM batch WHERE school_id = $1 AND pupil_id = $2::bigint" PARAMS_USED,
	"DELETE FROM class_pupil WHERE school_id = $1 AND pupil_id = $2::bigint" PARAMS_USED,
	"DELETE FROM guardian_digest WHERE school_id = $1 AND pupil_id = $2::bigint" PARAMS_USED,
	/* who they are in the school's LMS: their launches stop finding them */
	"DELETE FROM lti_user WHERE school_id = $1 AND pupil_id = $2::bigint" PARAMS_USED,
	"DELETE FROM lti_score WHERE school_id = $1 AND pupil_id = $2::bigint" PARAMS_USED,
	/* the pupil's guardians: the links, and a guardian left with no pupil */
	"WITH links AS (DELETE FROM guardian_pupil WHERE school_id = $1 AND pupil_id = $2::bigint"
	"  RETURNING guardian_id)"
	" DELETE FROM guardian g USING links l WHERE g.school_id = $1"
	" AND g.guardian_id = l.guardian_id AND NOT EXISTS (SELECT 1 FROM guardian_pupil gp"
	"  WHERE gp.school_id = $1 AND gp.guardian_id = g.guardian_id"
	"  AND gp.pupil_id <> $2::bigint)" PARAMS_USED,
	"WITH gone AS (DELETE FROM pupil WHERE school_id = $1 AND pupil_id = $2::bigint"
	"  RETURNING school_id)"
	" INSERT INTO erasure (school_id, erasure_id, erased_at, erased_by, reason)"
	" SELECT school_id, $3, $4::timestamptz, $5, $6 FROM gone RETURNING erasure_id",
};

const size_t erase_nsql = sizeof erase_sql / sizeof erase_sql[0];

void
erase_new_ref(char out[36])
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof r) != 1)
		fatalx("erase", "no random bytes", "");
	memcpy(out, "er_", 3);
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(out + 3 + 2 * i, 3, "%02x", r[i]);
}
