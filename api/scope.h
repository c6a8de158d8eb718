/*
 * scope.h: what a teacher's token may see: the classes they teach, the
 * pupils enrolled in those classes, and their own teacher record. Admins
 * and integrations see their whole school (the routes' roles limit them
 * otherwise). Every route filters with these fragments and the parameter
 * scope_teacher gives: the teacher's id, or NULL for no limit.
 */
#ifndef RECALLD_SCOPE_H
#define RECALLD_SCOPE_H

#include <stdint.h>

#include "api.h"

/*
 * " AND (...)" on the row of alias a, whose parameter n ("$3") is the
 * teacher's id or NULL; the alias has school_id and class_id (CLASS),
 * school_id and pupil_id (PUPIL), or teacher_id (SELF).
 */
#define SCOPE_CLASS_ON(a, n) \
	" AND (" n "::bigint IS NULL OR EXISTS (SELECT 1 FROM class_teacher ct" \
	" WHERE ct.school_id = " a ".school_id AND ct.class_id = " a ".class_id" \
	" AND ct.active AND ct.teacher_id = " n "::bigint))"
#define SCOPE_PUPIL_ON(a, n) \
	" AND (" n "::bigint IS NULL OR EXISTS (SELECT 1 FROM class_pupil cp" \
	" JOIN class_teacher ct ON ct.school_id = cp.school_id AND ct.class_id = cp.class_id" \
	" WHERE cp.school_id = " a ".school_id AND cp.pupil_id = " a ".pupil_id" \
	" AND cp.active AND ct.active AND ct.teacher_id = " n "::bigint))"
#define SCOPE_SELF_ON(a, n) \
	" AND (" n "::bigint IS NULL OR " a ".teacher_id = " n "::bigint)"

/* The usual place of the teacher's parameter: $3, as api_row_by_id passes it. */
#define SCOPE_CLASS(a) SCOPE_CLASS_ON(a, "$3")
#define SCOPE_PUPIL(a) SCOPE_PUPIL_ON(a, "$3")

/* Which of the rules above limits a teacher's view of a table. */
enum scope_rule {
	SCOPE_NONE,	/* teachers see the whole school's rows */
	SCOPE_ON_CLASS,
	SCOPE_ON_PUPIL,
	SCOPE_ON_SELF,
};

/* The teacher's id as a parameter for a teacher's token, else NULL. */
const char *scope_teacher(const struct api_call *c);
/* The same as a number: 0 for no limit. */
int64_t scope_teacher_id(const struct api_call *c);

/*
 * The rule as a fragment on alias t with the teacher's id in parameter $n,
 * for statements whose parameters are numbered as they are built
 * (malloc'd); "" for SCOPE_NONE.
 */
char *scope_sql(enum scope_rule rule, int n);

#endif
