/* outbox.c: queueing webhook deliveries in the producer's transaction (see outbox.h). */
#include "autoconf.h"

#include <stdlib.h>

#include "outbox.h"
#include "sbuf.h"

static const char enqueue_sql[] = OUTBOX_INSERT_SQL " RETURNING delivery_id, webhook_id";

/*
 * NOTIFY takes a global lock at commit: only when the school has an
 * endpoint that could send. The payload names the school, so senders
 * claim there without looking at the others.
 */
static const char notify_sql[] = "SELECT pg_notify('" OUTBOX_CHANNEL "', e.school_id::text)"
    " FROM (SELECT school_id FROM endpoint WHERE school_id = $1::bigint AND enabled LIMIT 1) e";

/* The renderings ev asks for, as a text[] in enum event_format order, NULL where left out. */
static char *
render_all(const struct outbox_event *ev)
{
	struct sbuf b = { 0 };

	for (int f = 0; f < EVENT_NFORMATS; f++) {
		char *body = NULL;

		if (ev->formats == 0 || (ev->formats & EVENT_FORMAT_BIT(f)))
			body = event_render((enum event_format)f, ev->type, ev->now, ev->data);
		sbuf_arr_text(&b, body);
		free(body);
	}
	sbuf_arr_end(&b);
	return sbuf_take(&b);
}

void
outbox_params(const struct outbox_event *ev, const char *params[OUTBOX_NPARAMS],
    char **renderings)
{
	*renderings = render_all(ev);
	params[0] = ev->school_id;
	params[1] = ev->type;
	params[2] = ev->now;
	params[3] = *renderings;
	params[4] = ev->class_id;
	params[5] = ev->endpoint_id;
}

void
outbox_enqueue_sql(db_req *r, const struct outbox_event *ev)
{
	const char *params[OUTBOX_NPARAMS];
	char *renderings;

	outbox_params(ev, params, &renderings);
	db_req_add(r, enqueue_sql, OUTBOX_NPARAMS, params);
	if (!ev->no_notify)
		outbox_notify_sql(r, ev->school_id);
	free(renderings);
}

void
outbox_notify_sql(db_req *r, const char *school)
{
	const char *p[1] = { school };

	if (school == NULL)
		db_req_add(r, "NOTIFY " OUTBOX_CHANNEL, 0, NULL);
	else
		db_req_add(r, notify_sql, 1, p);
}
