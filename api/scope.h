/*
 * scope.h: what a teacher's token may see, as SQL fragments shared by the
 * teachers' routes (teachers.c, progress.c). $3 is the teacher's id for a
 * teacher's token and NULL otherwise (admins see the whole school), as
 * api_row_by_id passes it.
 */
#ifndef RECALLD_SCOPE_H
#define RECALLD_SCOPE_H

#include "api.h"

#define CLASS_VISIBLE(k) \
	" AND ($3::bigint IS NULL OR EXISTS (SELECT 1 FROM class_teacher ct" \
	" WHERE ct.school_id = " k ".school_id AND ct.class_id = " k ".class_id" \
	" AND ct.active AND ct.teacher_id = $3::bigint))"

#define PUPIL_VISIBLE(p) \
	" AND ($3::bigint IS NULL OR EXISTS (SELECT 1 FROM class_pupil cp" \
	" JOIN class_teacher ct ON ct.school_id = cp.school_id AND ct.class_id = cp.class_id" \
	" WHERE cp.school_id = " p ".school_id AND cp.pupil_id = " p ".pupil_id" \
	" AND cp.active AND ct.active AND ct.teacher_id = $3::bigint))"

#define LEVEL_NAMES "(ARRAY['emerging', 'developing', 'secure', 'mastery'])"

/* The $3 parameter of the macros above. */
static inline const char *
scope_teacher(const struct api_call *c)
{
	return c->role == ROLE_TEACHER ? c->teacher : NULL;
}

#endif
