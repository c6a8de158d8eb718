/*
 * erase.h: erasing one pupil's personal data from every table, in one
 * transaction, for a parent's or pupil's request or a leaver's time up.
 *
 * ERASE_SQL are the statements, in order, each taking the same parameters:
 * $1 school, $2 pupil, $3 the erasure's reference (erase_new_ref), $4 the
 * clock's now, $5 who asked ("token 12", "command line"), $6 the reason
 * ("request", "leaver"). Run them in one transaction; the last answers the
 * reference, or no row when there was no such pupil (then roll back).
 *
 * Gone: the pupil, their enrolments, batches, prompts (so their answer
 * links stop working), reviews, memory states, levels and their history,
 * pending deliveries about them (with their attempt logs), the payloads
 * and attempt logs of past deliveries about them, and kept idempotent
 * replies that name them. Kept: class-level flag counts (recomputed
 * without them at the flag job's next run), and an erasure record that
 * says when, by whom and why, without the pupil's data.
 *
 * docs/ARCHITECTURE.md: a new table that holds a pupil's data adds its
 * statement here; tests/test_privacy.c walks the catalogue to find what
 * this list forgot.
 */
#ifndef RECALLD_ERASE_H
#define RECALLD_ERASE_H

#include <stddef.h>

/*
 * SQL: the text names pupil $2 of school $1 (before the pupil row goes).
 * A delivery is about the pupil when its payload does: the JSON events
 * carry "pupil": {"id": N, "external_id": ...}, the chat renderings
 * (slack, teams) their external id as text. The export finds them so too.
 */
#define NAMES_PUPIL(text) \
	"(" text " ~ ('\"pupil\":\\s*\\{\\s*\"id\":\\s*' || $2::text || '\\M')" \
	" OR " text " ~ ('\"pupil_id\":\\s*' || $2::text || '\\M')" \
	" OR " text " ~ (SELECT '(^|[^A-Za-z0-9_.-])' ||" \
	"   regexp_replace(p.external_id, '([^A-Za-z0-9 ])', '\\\\\\1', 'g') ||" \
	"   '($|[^A-Za-z0-9_.-])' FROM pupil p WHERE p.school_id = $1 AND p.pupil_id = $2::bigint))"
#define ERASE_NPARAMS 6

extern const char *const erase_sql[];
extern const size_t erase_nsql;

/* "er_" and 32 random hex digits. */
void erase_new_ref(char out[36]);

#endif
