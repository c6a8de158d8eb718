/* payload.c: the data object of each event type (see payload.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "payload.h"

static json_t *
unit_json(const struct payload_unit *u)
{
	return json_pack("{s:I, s:s}", "id", (json_int_t)u->id, "name", u->name);
}

static json_t *
class_json(const struct payload_class *k)
{
	return json_pack("{s:I, s:s}", "id", (json_int_t)k->id, "name", k->name);
}

json_t *
payload_mastery_changed(const struct payload_mastery *m)
{
	return json_pack("{s:I, s:{s:I, s:s}, s:o, s:s, s:s, s:s}",
	    "school_id", (json_int_t)m->school_id,
	    "pupil", "id", (json_int_t)m->pupil_id, "external_id", m->external_id,
	    "unit", unit_json(&m->unit),
	    "from", mastery_level_name(m->from), "to", mastery_level_name(m->to),
	    "next_level_needs", m->next);
}

json_t *
payload_response_feedback(int64_t school_id, int64_t pupil_id, const char *external_id,
    const char *feedback)
{
	return json_pack("{s:I, s:{s:I, s:s}, s:o}",
	    "school_id", (json_int_t)school_id, "pupil", "id", (json_int_t)pupil_id,
	    "external_id", external_id,
	    "feedback", json_loads(feedback, 0, NULL));
}

/* A day number as a date, YYYY-MM-DD. */
static const char *
day_text(int32_t day, char *buf, size_t len)
{
	time_t t = (time_t)day * 86400;	/* a day number is a date: UTC says which */
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
	return buf;
}

static json_t *
recall_or_null(const flags_result *res, double v)
{
	return res->n_evidence > 0 ? json_real(v) : json_null();
}

/*
 * What each of the flag's reasons rests on: the class's number beside the
 * threshold it crossed. The API's flags answer the same (api/teachers.c).
 */
static json_t *
evidence_json(const flags_result *res, const flags_thresholds *t)
{
	json_t *e = json_object();
	bool ahead = res->status == FLAG_AT_RISK;

	if (res->reasons & FLAG_REASON_LOW_RECALL)
		json_object_set_new(e, "low_recall", json_pack("{s:o, s:f, s:b}",
		    "class_recall", recall_or_null(res, ahead ? res->mean_recall_ahead :
		    res->mean_recall), "below", t->recall, "ahead", ahead));
	if (res->reasons & FLAG_REASON_FALLEN)
		json_object_set_new(e, "fallen", json_pack("{s:i, s:i, s:f}",
		    "pupils", (int)res->n_fallen, "class_pupils", (int)res->n_pupils,
		    "share", t->fallen_share));
	if (res->reasons & FLAG_REASON_UNANSWERED)
		json_object_set_new(e, "unanswered", json_pack("{s:i, s:i, s:f, s:i}",
		    "pupils", (int)res->n_unanswered, "class_pupils", (int)res->n_pupils,
		    "share", t->unanswered_share, "school_days", (int)t->unanswered_days));
	return e;
}

/* A flag as topic.flagged and the digest show it. */
static json_t *
flag_json(const struct payload_unit *u, const flags_result *res, const flags_thresholds *t)
{
	char since[32], reasons[128];
	json_t *o;

	flags_reasons_json(res->reasons, reasons, sizeof reasons);
	o = json_pack("{s:o, s:s, s:o, s:i, s:i, s:i, s:o, s:o, s:i, s:s}",
	    "unit", unit_json(u),
	    "status", flags_status_name(res->status),
	    "reasons", json_loads(reasons, 0, NULL),
	    "pupils", (int)res->n_concerned,
	    "class_pupils", (int)res->n_pupils,
	    "fallen", (int)res->n_fallen,
	    "class_recall", recall_or_null(res, res->mean_recall),
	    "class_recall_ahead", recall_or_null(res, res->mean_recall_ahead),
	    "horizon_days", (int)t->horizon_days,
	    "since", day_text(res->since_day, since, sizeof since));
	json_object_set_new(o, "unanswered", json_integer(res->n_unanswered));
	json_object_set_new(o, "unanswered_days", json_integer(t->unanswered_days));
	json_object_set_new(o, "evidence", evidence_json(res, t));
	return o;
}

json_t *
payload_topic_flagged(int64_t school_id, const struct payload_class *k,
    const struct payload_unit *u, const flags_result *res, const flags_thresholds *t,
    flags_status previous)
{
	json_t *data = flag_json(u, res, t);

	json_object_set_new(data, "school_id", json_integer(school_id));
	json_object_set_new(data, "class", class_json(k));
	json_object_set_new(data, "previous_status", json_string(flags_status_name(previous)));
	return data;
}

json_t *
payload_digest_new(int64_t school_id, const struct payload_class *k, const char *week,
    const char *local_date, size_t pupils)
{
	return json_pack("{s:I, s:o, s:s, s:s, s:I, s:[], s:[]}",
	    "school_id", (json_int_t)school_id, "class", class_json(k), "week", week,
	    "local_date", local_date, "pupils", (json_int_t)pupils, "flags", "units");
}

void
payload_digest_add_unit(json_t *digest, const struct payload_unit *u, const char *taught_on,
    const flags_result *res, const flags_thresholds *t, const uint32_t levels[MASTERY_NLEVELS])
{
	json_t *counts = json_object();

	if (res->status != FLAG_NONE)
		json_array_append_new(json_object_get(digest, "flags"),
		    flag_json(u, res, t));
	for (int l = 0; l < MASTERY_NLEVELS; l++)
		json_object_set_new(counts, mastery_level_name((mastery_level)l),
		    json_integer(levels[l]));
	json_array_append_new(json_object_get(digest, "units"), json_pack("{s:o, s:s, s:o, s:o}",
	    "unit", unit_json(u), "taught_on", taught_on, "levels", counts,
	    "class_recall", recall_or_null(res, res->mean_recall)));
}

json_t *
payload_batch_new(const struct payload_batch *b)
{
	json_t *data = json_pack("{s:I, s:I, s:s, s:{s:I, s:s}}",
	    "school_id", (json_int_t)b->school_id, "batch_id", (json_int_t)b->batch_id,
	    "kind", b->kind,
	    "pupil", "id", (json_int_t)b->pupil_id, "external_id", b->external_id);

	if (b->class_id != 0)
		json_object_set_new(data, "class_id", json_integer(b->class_id));
	json_object_set_new(data, "local_date", json_string(b->local_date));
	json_object_set_new(data, "expires_at", json_string(b->expires_at));
	if (b->progress_url != NULL)
		json_object_set_new(data, "progress_url", json_string(b->progress_url));
	json_object_set_new(data, "prompts", json_array());
	return data;
}

void
payload_batch_add_prompt(json_t *batch, const struct payload_prompt *p)
{
	json_t *pr = json_pack("{s:I, s:I, s:o, s:s, s:s}",
	    "prompt_id", (json_int_t)p->prompt_id, "question_id", (json_int_t)p->question_id,
	    "unit", unit_json(&p->unit), "kind", p->kind, "text", p->text);

	if (p->choices != NULL)
		json_object_set_new(pr, "choices", json_loads(p->choices, 0, NULL));
	if (p->answer_url != NULL)
		json_object_set_new(pr, "answer_url", json_string(p->answer_url));
	json_array_append_new(json_object_get(batch, "prompts"), pr);
}
