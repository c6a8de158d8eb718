/* batches_writer.c: writing batches, their prompts and events (see batches_writer.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "batches_writer.h"
#include "db.h"
#include "outbox.h"
#include "payload.h"
#include "pgrow.h"
#include "sbuf.h"
#include "util.h"

/* One picked prompt of the batches being written. */
struct pick {
	int64_t pupil_id;
	int64_t question_id;
	int position;
};

struct batches_writer {
	char *school, *local_date, *kind, *class_id, *unit_id, *expires_at;
	int64_t expires_unix;
	batches_writer_link_fn link;
	void *link_arg;
	struct pick *picks;
	size_t npicks, cappicks;
	int64_t *pupils;	/* pupils with a batch, in pick order */
	size_t npupils, cappupils;
	bool events;		/* the last write queued events (one INSERT a pupil) */
};

batches_writer *
batches_writer_new(const struct batches_writer_spec *spec)
{
	batches_writer *w = xcalloc(1, sizeof *w);

	w->school = xstrdup(spec->school);
	w->local_date = xstrdup(spec->local_date);
	w->kind = xstrdup(spec->kind);
	w->class_id = spec->class_id ? xstrdup(spec->class_id) : NULL;
	w->unit_id = spec->unit_id ? xstrdup(spec->unit_id) : NULL;
	w->expires_at = xstrdup(spec->expires_at);
	w->expires_unix = spec->expires_unix;
	w->link = spec->link;
	w->link_arg = spec->link_arg;
	return w;
}

void
batches_writer_free(batches_writer *w)
{
	if (w == NULL)
		return;
	free(w->school);
	free(w->local_date);
	free(w->kind);
	free(w->class_id);
	free(w->unit_id);
	free(w->expires_at);
	free(w->picks);
	free(w->pupils);
	free(w);
}

void
batches_writer_clear(batches_writer *w)
{
	w->npicks = 0;
	w->npupils = 0;
}

void
batches_writer_add(batches_writer *w, int64_t pupil, int64_t question)
{
	int position = 1;

	if (w->npicks > 0 && w->picks[w->npicks - 1].pupil_id == pupil)
		position = w->picks[w->npicks - 1].position + 1;
	if (w->npicks == w->cappicks) {
		w->cappicks = w->cappicks ? w->cappicks * 2 : 256;
		w->picks = xreallocarray(w->picks, w->cappicks, sizeof *w->picks);
	}
	w->picks[w->npicks++] = (struct pick){ pupil, question, position };
	if (position == 1) {
		if (w->npupils == w->cappupils) {
			w->cappupils = w->cappupils ? w->cappupils * 2 : 64;
			w->pupils = xreallocarray(w->pupils, w->cappupils, sizeof *w->pupils);
		}
		w->pupils[w->npupils++] = pupil;
	}
}

size_t
batches_writer_npupils(const batches_writer *w)
{
	return w->npupils;
}

size_t
batches_writer_nprompts(const batches_writer *w)
{
	return w->npicks;
}

static int
find_row(const PGresult *res, int64_t id)
{
	/* Both lookups are ordered by id: a chunk has thousands of picks. */
	int n = PQntuples(res), i = pgrow_lower_bound(res, 0, 0, n, id);

	return i < n && pgrow_i64(res, i, 0) == id ? i : -1;
}

void
batches_writer_prepare(batches_writer *w, db_req *r)
{
	char *pupils, *questions, npicks[24], npup[24];
	int64_t *qids = xcalloc(w->npicks + 1, sizeof *qids);
	const char *p[4];

	for (size_t i = 0; i < w->npicks; i++)
		qids[i] = w->picks[i].question_id;
	questions = sbuf_ids_literal(qids, w->npicks, sizeof *qids);
	free(qids);
	pupils = sbuf_ids_literal(w->pupils, w->npupils, sizeof *w->pupils);
	snprintf(npicks, sizeof npicks, "%zu", w->npicks);
	snprintf(npup, sizeof npup, "%zu", w->npupils);
	p[0] = npup;
	p[1] = npicks;
	p[2] = w->school;
	p[3] = w->class_id;
	/* ...and which renderings the events need: none without an endpoint */
	db_req_add(r,
	    "SELECT array(SELECT nextval(pg_get_serial_sequence('batch', 'batch_id'))"
	    "   FROM generate_series(1, $1::int))::text,"
	    " array(SELECT nextval(pg_get_serial_sequence('prompt', 'prompt_id'))"
	    "   FROM generate_series(1, $2::int))::text, "
	    OUTBOX_FORMATS_SQL("$3::bigint", "'prompt.batch'", "$4::bigint"), 4, p);
	p[0] = w->school;
	p[1] = questions;
	db_req_add(r,
	    "SELECT q.question_id, q.kind, q.prompt, q.choices::text, u.unit_id, u.name"
	    " FROM question q JOIN unit u ON u.school_id = q.school_id AND u.unit_id = q.unit_id"
	    " WHERE q.school_id = $1 AND q.question_id = ANY ($2::bigint[])"
	    " ORDER BY q.question_id", 2, p);
	p[1] = pupils;
	db_req_add(r,
	    "SELECT pupil_id, external_id FROM pupil WHERE school_id = $1"
	    " AND pupil_id = ANY ($2::bigint[]) ORDER BY pupil_id", 2, p);
	free(questions);
	free(pupils);
}

/* The ids reserved by prepare, kept until the write. */
struct writer_ids {
	int64_t *batch, *prompt;
};

static bool
take_ids(const batches_writer *w, PGresult *const *prepared, struct writer_ids *ids)
{
	const PGresult *res = prepared[0];

	ids->batch = xcalloc(w->npupils + 1, sizeof *ids->batch);
	ids->prompt = xcalloc(w->npicks + 1, sizeof *ids->prompt);
	if (PQntuples(res) == 1 && pgrow_ids_parse(PQgetvalue(res, 0, 0), ids->batch, w->npupils) &&
	    pgrow_ids_parse(PQgetvalue(res, 0, 1), ids->prompt, w->npicks))
		return true;
	free(ids->batch);
	free(ids->prompt);
	ids->batch = ids->prompt = NULL;
	return false;
}

bool
batches_writer_take_ids(batches_writer *w, PGresult *const *prepared)
{
	struct writer_ids ids;

	if (!take_ids(w, prepared, &ids))
		return false;
	free(ids.batch);
	free(ids.prompt);
	return true;
}

/* One pupil's prompt.batch event: the batch, its prompts with their links. */
static json_t *
batch_event_data(const batches_writer *w, int64_t pupil, int64_t batch_id,
    const struct pick *picks, const int64_t *prompt_ids, size_t n,
    const PGresult *qs, const PGresult *ps)
{
	int prow = find_row(ps, pupil);
	int64_t school = strtoll(w->school, NULL, 10);
	char url[512], progress[512];
	bool has_progress = w->link != NULL && w->link(w->link_arg, BATCHES_LINK_PUPIL, school,
	    pupil, w->expires_unix, progress, sizeof progress);
	json_t *data = payload_batch_new(&(struct payload_batch){ .school_id = school,
	    .batch_id = batch_id, .kind = w->kind, .pupil_id = pupil,
	    .external_id = prow >= 0 ? PQgetvalue(ps, prow, 1) : "",
	    .class_id = w->class_id != NULL ? strtoll(w->class_id, NULL, 10) : 0,
	    .local_date = w->local_date, .expires_at = w->expires_at,
	    .progress_url = has_progress ? progress : NULL });

	for (size_t i = 0; i < n; i++) {
		int qrow = find_row(qs, picks[i].question_id);
		struct payload_prompt p;

		if (qrow < 0)
			continue;
		p = (struct payload_prompt){ .prompt_id = prompt_ids[i],
		    .question_id = picks[i].question_id,
		    .unit = { pgrow_i64(qs, qrow, 4), PQgetvalue(qs, qrow, 5) },
		    .kind = PQgetvalue(qs, qrow, 1), .text = PQgetvalue(qs, qrow, 2) };
		if (strcmp(p.kind, "mcq") == 0)
			p.choices = pgrow_str(qs, qrow, 3);
		if (w->link != NULL && w->link(w->link_arg, BATCHES_LINK_ANSWER, school,
		    prompt_ids[i], w->expires_unix, url, sizeof url))
			p.answer_url = url;
		payload_batch_add_prompt(data, &p);
	}
	return data;
}

void
batches_writer_write(batches_writer *w, PGresult *const *prepared, const char *now,
    db_req *r)
{
	const PGresult *qs = prepared[1], *ps = prepared[2];
	struct writer_ids ids;
	int64_t *bid_of_pick;
	size_t pi = 0;
	unsigned formats;

	if (!take_ids(w, prepared, &ids))
		abort();	/* batches_writer_take_ids said yes to these results */
	formats = (unsigned)atoi(PQgetvalue(prepared[0], 0, 2));
	w->events = formats != 0;
	bid_of_pick = xcalloc(w->npicks + 1, sizeof *bid_of_pick);
	/* Deliveries come before their batch in the statement list; all commit together. */
	for (size_t k = 0; k < w->npupils; k++) {
		size_t from = pi;
		json_t *data;
		struct outbox_event ev = { 0 };

		for (; pi < w->npicks && w->picks[pi].pupil_id == w->pupils[k]; pi++)
			bid_of_pick[pi] = ids.batch[k];
		/* No endpoint takes them: nothing to build, render or queue. */
		if (!w->events)
			continue;
		data = batch_event_data(w, w->pupils[k], ids.batch[k], &w->picks[from],
		    &ids.prompt[from], pi - from, qs, ps);
		ev.school_id = w->school;
		ev.type = "prompt.batch";
		ev.data = data;
		ev.now = now;
		ev.class_id = w->class_id;
		ev.no_notify = true;
		ev.formats = formats;
		outbox_enqueue_sql(r, &ev);
		json_decref(data);
	}
	if (w->events)
		outbox_notify_sql(r, w->school);
	{
		char *bids = sbuf_ids_literal(ids.batch, w->npupils, sizeof *ids.batch);
		char *pups = sbuf_ids_literal(w->pupils, w->npupils, sizeof *w->pupils);
		char *prids = sbuf_ids_literal(ids.prompt, w->npicks, sizeof *ids.prompt);
		char *pbids = sbuf_ids_literal(bid_of_pick, w->npicks, sizeof *bid_of_pick);
		char *ppups = sbuf_ids_literal(&w->picks[0].pupil_id, w->npicks, sizeof *w->picks);
		char *pqs = sbuf_ids_literal(&w->picks[0].question_id, w->npicks, sizeof *w->picks);
		char *pos = xmalloc(w->npicks * 12 + 3), *q = pos;
		const char *p[9];

		*q++ = '{';
		for (size_t i = 0; i < w->npicks; i++)
			q += snprintf(q, 13, "%s%d", i ? "," : "", w->picks[i].position);
		*q++ = '}';
		*q = '\0';
		p[0] = w->school;
		p[1] = bids;
		p[2] = pups;
		p[3] = w->local_date;
		p[4] = now;
		p[5] = w->kind;
		p[6] = w->class_id;
		p[7] = w->unit_id;
		db_req_add(r,
		    "INSERT INTO batch (school_id, batch_id, pupil_id, local_date, kind, created_at,"
		    " class_id, unit_id)"
		    " SELECT $1, x.b, x.p, $4::date, $6, $5::timestamptz, $7::bigint, $8::bigint"
		    " FROM unnest($2::bigint[], $3::bigint[]) AS x(b, p)", 8, p);
		p[1] = prids;
		p[2] = pbids;
		p[3] = ppups;
		p[4] = pqs;
		p[5] = pos;
		p[6] = w->expires_at;
		db_req_add(r,
		    "INSERT INTO prompt (school_id, prompt_id, batch_id, pupil_id, question_id,"
		    " question_version, position, expires_at)"
		    " SELECT $1, x.id, x.b, x.p, x.q, q.version, x.pos, $7::timestamptz"
		    " FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::int[])"
		    "   AS x(id, b, p, q, pos)"
		    " JOIN question q ON q.school_id = $1 AND q.question_id = x.q", 7, p);
		free(bids);
		free(pups);
		free(prids);
		free(pbids);
		free(ppups);
		free(pqs);
		free(pos);
	}
	free(ids.batch);
	free(ids.prompt);
	free(bid_of_pick);
}

int
batches_writer_deliveries(const batches_writer *w, const struct db_reply *r, int first)
{
	int n = 0;

	if (!w->events)
		return 0;
	for (size_t k = 0; k < w->npupils && first + (int)k < r->nresults; k++)
		if (r->results[first + k] != NULL)
			n += PQntuples(r->results[first + k]);
	return n;
}
