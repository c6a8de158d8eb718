/* audit.c: the access audit's batched writer (see audit.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "log.h"
#include "util.h"

#define FLUSH_AT 256		/* entries that make a flush happen now */

struct audit_log {
	db_pool *db;
	struct event *timer;
	int flush_ms;
	json_t *waiting;	/* [school_id, entry] pairs, in arrival order */
	int in_flight;		/* entries in the request being written */
	db_req *req;
	struct audit_stats st;
};

/* Per school in the batch: $1 school, $2 its entries. */
static const char insert_sql[] =
    "INSERT INTO audit (school_id, at, token_id, role, method, route, object_id, pupil_id,"
    " status, addr) SELECT $1::bigint, x.at, x.token_id, x.role, x.method, x.route,"
    " CASE WHEN NOT x.pupil OR e.kept THEN nullif(x.object_id, 0) END,"
    " CASE WHEN x.pupil AND e.kept THEN nullif(x.object_id, 0) END, x.status,"
    " nullif(x.addr, '')"
    " FROM jsonb_to_recordset($2::jsonb) AS x(at timestamptz, token_id bigint, role text,"
    " method text, route text, object_id bigint, pupil boolean, status integer, addr text)"
    /*
     * A pupil erased while the entry waited is not named again; the lock
     * waits for an erasure in progress (which locks the pupil first).
     */
    " CROSS JOIN LATERAL (SELECT x.pupil AND EXISTS (SELECT 1 FROM pupil p"
    "   WHERE p.school_id = $1::bigint AND p.pupil_id = x.object_id FOR KEY SHARE) AS kept) e"
    /*
     * A school deleted meanwhile (its last entry says so) takes its audit
     * with it; the lock waits for a deletion in progress, which would
     * otherwise fail this insert on the foreign key once it commits.
     */
    " WHERE EXISTS (SELECT 1 FROM school s WHERE s.school_id = $1::bigint FOR KEY SHARE)";

static void
written(const struct db_reply *r, void *arg)
{
	audit_log *a = arg;

	a->req = NULL;
	if (r->status == DB_OK) {
		a->st.written += (uint64_t)a->in_flight;
	} else {
		a->st.dropped += (uint64_t)a->in_flight;
		log_warnx("audit", "audit entries not written", "entries=%d err=\"%s\"", a->in_flight,
		    r->error);
	}
	a->in_flight = 0;
	if (json_array_size(a->waiting) >= FLUSH_AT)
		audit_flush(a);
}

static int
by_school(const void *x, const void *y)
{
	json_int_t a = json_integer_value(json_array_get(*(json_t *const *)x, 0));
	json_int_t b = json_integer_value(json_array_get(*(json_t *const *)y, 0));

	return (a > b) - (a < b);
}

void
audit_flush(audit_log *a)
{
	size_t n = json_array_size(a->waiting), i = 0;
	json_t **pairs;
	db_req *req;

	if (n == 0 || a->req != NULL)
		return;	/* the write in flight flushes again when it ends */
	pairs = xcalloc(n, sizeof *pairs);
	for (size_t k = 0; k < n; k++)
		pairs[k] = json_array_get(a->waiting, k);
	qsort(pairs, n, sizeof *pairs, by_school);
	req = db_req_new(written, a);
	/* one statement a school, so each stays on its school's rows (Citus) */
	while (i < n) {
		json_int_t school = json_integer_value(json_array_get(pairs[i], 0));
		json_t *rows = json_array();
		char sid[24], *text;
		const char *p[2];

		for (; i < n && json_integer_value(json_array_get(pairs[i], 0)) == school; i++)
			json_array_append(rows, json_array_get(pairs[i], 1));
		snprintf(sid, sizeof sid, "%" JSON_INTEGER_FORMAT, school);
		text = json_dumps(rows, JSON_COMPACT);
		p[0] = sid;
		p[1] = text;
		db_req_add(req, insert_sql, 2, p);
		free(text);
		json_decref(rows);
	}
	free(pairs);
	a->in_flight = (int)n;
	json_array_clear(a->waiting);
	a->req = db_submit(a->db, req);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	audit_flush(arg);
}

void
audit_add(audit_log *a, const struct audit_entry *e)
{
	struct timeval tv = { a->flush_ms / 1000, (a->flush_ms % 1000) * 1000 };
	json_t *row = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:b, s:i, s:s}",
	    "at", e->at, "token_id", (json_int_t)e->token_id, "role", e->role, "method", e->method,
	    "route", e->route, "object_id", (json_int_t)e->object_id, "pupil", e->pupil,
	    "status", e->status, "addr", e->addr ? e->addr : "");

	if (row == NULL) {
		a->st.dropped++;
		return;
	}
	json_array_append_new(a->waiting, json_pack("[I, o]", (json_int_t)e->school_id, row));
	if (json_array_size(a->waiting) >= FLUSH_AT)
		audit_flush(a);
	else if (!evtimer_pending(a->timer, NULL))
		evtimer_add(a->timer, &tv);
}

void
audit_count_integration(audit_log *a)
{
	a->st.integration++;
}

void
audit_get_stats(const audit_log *a, struct audit_stats *out)
{
	*out = a->st;
}

int
audit_pending(const audit_log *a)
{
	return (int)json_array_size(a->waiting) + a->in_flight;
}

audit_log *
audit_new(struct event_base *base, db_pool *db, int flush_ms)
{
	audit_log *a = xcalloc(1, sizeof *a);

	a->db = db;
	a->flush_ms = flush_ms > 0 ? flush_ms : 500;
	a->waiting = json_array();
	a->timer = evtimer_new(base, timer_cb, a);
	if (a->timer == NULL || a->waiting == NULL)
		fatalx("audit", "out of memory", "");
	return a;
}

void
audit_free(audit_log *a)
{
	if (a == NULL)
		return;
	if (a->req != NULL)
		db_cancel(a->req);
	if (json_array_size(a->waiting) > 0)
		log_warnx("audit", "audit entries not written at exit", "entries=%zu",
		    json_array_size(a->waiting));
	event_free(a->timer);
	json_decref(a->waiting);
	free(a);
}
