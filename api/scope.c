/* scope.c: the teacher's filter (see scope.h). */
#include "autoconf.h"

#include "scope.h"
#include "util.h"

const char *
scope_teacher(const struct api_call *c)
{
	return c->role == ROLE_TEACHER ? c->teacher : NULL;
}

int64_t
scope_teacher_id(const struct api_call *c)
{
	return c->role == ROLE_TEACHER ? c->teacher_id : 0;
}

char *
scope_sql(enum scope_rule rule, int n)
{
	/* Each fragment names its parameter twice. */
	switch (rule) {
	case SCOPE_ON_CLASS:
		return xasprintf(SCOPE_CLASS_ON("t", "$%d"), n, n);
	case SCOPE_ON_PUPIL:
		return xasprintf(SCOPE_PUPIL_ON("t", "$%d"), n, n);
	case SCOPE_ON_SELF:
		return xasprintf(SCOPE_SELF_ON("t", "$%d"), n, n);
	case SCOPE_NONE:
		break;
	}
	return xstrdup("");
}
