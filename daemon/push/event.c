/* event.c: event types and their renderings per endpoint format (see event.h). */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "log.h"
#include "sbuf.h"
#include "util.h"

/* Slack allows 50 blocks and 3000 characters a text; stay well inside. */
#define SLACK_TEXT_MAX	2800
#define MAX_PROMPTS	20
#define MAX_FIELDS	20
#define VALUE_MAX	300

const char *const event_types[] = {
	"prompt.batch", "response.feedback", "mastery.changed", "topic.flagged",
	"digest.teacher", "digest.guardian", "endpoint.disabled", NULL,
};

#define FORMAT_NAME(id, name, ord, bit) [ord] = name,
const char *const event_format_names[EVENT_NFORMATS + 1] = {
	EVENT_FORMAT_TABLE(FORMAT_NAME)
};

/* Each row's bit is 1 << ord, and the ords are 0 .. EVENT_NFORMATS - 1, once each. */
#define FORMAT_CHECK(id, name, ord, bit) \
	_Static_assert(EVENT_FORMAT_BIT(ord) == (bit) && (ord) < EVENT_NFORMATS, \
	    "EVENT_FORMAT_TABLE: " name);
EVENT_FORMAT_TABLE(FORMAT_CHECK)
#define FORMAT_OR(id, name, ord, bit) | (bit)
_Static_assert((0u EVENT_FORMAT_TABLE(FORMAT_OR)) == EVENT_FORMAT_BIT(EVENT_NFORMATS) - 1,
    "EVENT_FORMAT_TABLE: an ord twice");

bool
event_type_known(const char *type)
{
	for (const char *const *t = event_types; *t != NULL; t++)
		if (strcmp(*t, type) == 0)
			return true;
	return false;
}

bool
event_format_parse(const char *name, enum event_format *out)
{
	for (int i = 0; event_format_names[i] != NULL; i++) {
		if (strcmp(event_format_names[i], name) == 0) {
			*out = (enum event_format)i;
			return true;
		}
	}
	return false;
}

/* Cut s to at most max bytes on a UTF-8 boundary, with an ellipsis. */
static void
put_cut(struct sbuf *b, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max) {
		sbuf_put(b, s, n);
		return;
	}
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	sbuf_put(b, s, max);
	sbuf_str(b, "\xe2\x80\xa6");
}

/* Slack mrkdwn: &, < and > must be escaped. */
static void
put_slack(struct sbuf *b, const char *s, size_t max)
{
	struct sbuf t = { 0 };

	put_cut(&t, s, max);
	for (const char *p = sbuf_text(&t); *p != '\0'; p++) {
		switch (*p) {
		case '&': sbuf_str(b, "&amp;"); break;
		case '<': sbuf_str(b, "&lt;"); break;
		case '>': sbuf_str(b, "&gt;"); break;
		default: sbuf_put(b, p, 1); break;
		}
	}
	sbuf_free(&t);
}

/* A scalar as text ("" for objects and arrays, which are summarised). */
static char *
scalar_text(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: return xstrdup(json_string_value(v));
	case JSON_INTEGER: return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL: return xasprintf("%g", json_real_value(v));
	case JSON_TRUE: return xstrdup("yes");
	case JSON_FALSE: return xstrdup("no");
	case JSON_NULL: return xstrdup("-");
	case JSON_ARRAY: return xasprintf("%zu items", json_array_size(v));
	case JSON_OBJECT: return xasprintf("%zu fields", json_object_size(v));
	}
	return xstrdup("");
}

static const char *
get_str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *
title_of(const char *type)
{
	static const struct { const char *type, *title; } titles[] = {
		{ "prompt.batch", "Recall questions" },
		{ "response.feedback", "Answer feedback" },
		{ "mastery.changed", "Mastery level changed" },
		{ "topic.flagged", "Topic flagged" },
		{ "digest.teacher", "Weekly digest" },
		{ "digest.guardian", "This week's practice" },
		{ "endpoint.disabled", "Webhook endpoint disabled" },
		{ EVENT_PING, "Test event from recalld" },
	};

	for (size_t i = 0; i < nitems(titles); i++)
		if (strcmp(titles[i].type, type) == 0)
			return titles[i].title;
	return type;
}

/* Who a batch is for: a name if given, else the external id. */
static char *
pupil_label(const json_t *data)
{
	const json_t *pupil = json_object_get(data, "pupil");
	const char *name = get_str(pupil, "given_name"), *ext = get_str(pupil, "external_id");

	if (name != NULL && *name != '\0')
		return xstrdup(name);
	if (ext != NULL)
		return xstrdup(ext);
	return xstrdup("a pupil");
}

static const char *
prompt_text(const json_t *p)
{
	const char *t = get_str(p, "text");

	if (t == NULL)
		t = get_str(p, "prompt");
	return t != NULL ? t : "(no text)";
}

static char *
batch_summary(const json_t *data)
{
	const json_t *prompts = json_object_get(data, "prompts");
	size_t n = json_is_array(prompts) ? json_array_size(prompts) : 0;
	char *who = pupil_label(data), *s;

	s = xasprintf("%zu recall question%s for %s", n, n == 1 ? "" : "s", who);
	free(who);
	return s;
}

/* The plain notification line of any event. */
static char *
summary(const char *type, const json_t *data)
{
	if (strcmp(type, "prompt.batch") == 0)
		return batch_summary(data);
	return xstrdup(title_of(type));
}

/* ---- json ---- */

static char *
render_json(const char *type, const char *timestamp, const json_t *data)
{
	json_t *env = json_object();
	char *s;

	json_object_set_new(env, "type", json_string(type));
	json_object_set_new(env, "timestamp", json_string(timestamp));
	json_object_set_new(env, "data", data != NULL ? json_deep_copy(data) : json_object());
	s = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	return s;
}

/* ---- slack ---- */

static json_t *
slack_text(const char *type, const char *text)
{
	return json_pack("{s:s, s:{s:s, s:s}}", "type", "section", "text", "type", type,
	    "text", text);
}

static void
slack_batch(json_t *blocks, const json_t *data)
{
	const json_t *prompts = json_object_get(data, "prompts"), *p;
	size_t i;

	json_array_foreach(prompts, i, p) {
		const json_t *choices = json_object_get(p, "choices"), *c;
		const char *url = get_str(p, "answer_url");
		struct sbuf b = { 0 };
		char num[32];
		size_t j;

		if (i >= MAX_PROMPTS)
			break;
		snprintf(num, sizeof num, "*%zu.* ", i + 1);
		sbuf_str(&b, num);
		put_slack(&b, prompt_text(p), 2000);
		json_array_foreach(choices, j, c) {
			if (!json_is_string(c) || j >= 10)
				continue;
			snprintf(num, sizeof num, "\n%c) ", (int)('A' + j));
			sbuf_str(&b, num);
			put_slack(&b, json_string_value(c), 200);
		}
		if (url != NULL && strlen(url) < 1000 && strpbrk(url, "<>| ") == NULL) {
			sbuf_str(&b, "\n<");
			sbuf_str(&b, url);
			sbuf_str(&b, "|Answer>");
		}
		json_array_append_new(blocks, slack_text("mrkdwn", sbuf_text(&b)));
		sbuf_free(&b);
	}
}

/* The top-level fields of data as "*key:* value" lines. */
static void
slack_fields(json_t *blocks, const json_t *data)
{
	struct sbuf b = { 0 };
	const char *key;
	const json_t *v;
	int n = 0;

	json_object_foreach((json_t *)data, key, v) {
		char *t;

		if (n++ >= MAX_FIELDS || b.len > SLACK_TEXT_MAX - VALUE_MAX - 100)
			break;
		t = scalar_text(v);
		sbuf_str(&b, b.len ? "\n*" : "*");
		put_slack(&b, key, 60);
		sbuf_str(&b, ":* ");
		put_slack(&b, t, VALUE_MAX);
		free(t);
	}
	if (b.len > 0)
		json_array_append_new(blocks, slack_text("mrkdwn", sbuf_text(&b)));
	sbuf_free(&b);
}

static char *
render_slack(const char *type, const char *timestamp, const json_t *data)
{
	json_t *msg = json_object(), *blocks = json_array();
	char *text = summary(type, data), *s;
	struct sbuf title = { 0 };

	put_cut(&title, strcmp(type, "prompt.batch") == 0 ? text : title_of(type), 140);
	json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:s}}", "type", "header",
	    "text", "type", "plain_text", "text", sbuf_text(&title)));
	sbuf_free(&title);
	if (strcmp(type, "prompt.batch") == 0)
		slack_batch(blocks, data);
	else if (json_is_object(data))
		slack_fields(blocks, data);
	json_array_append_new(blocks, json_pack("{s:s, s:[{s:s, s:s}]}", "type", "context",
	    "elements", "type", "mrkdwn", "text", timestamp));
	json_object_set_new(msg, "text", json_string(text));
	json_object_set_new(msg, "blocks", blocks);
	free(text);
	s = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	return s;
}

/* ---- teams (Adaptive Card 1.4) ---- */

static json_t *
text_block(const char *text, bool bold, bool subtle)
{
	struct sbuf b = { 0 };
	json_t *t;

	put_cut(&b, text, 2000);
	t = json_pack("{s:s, s:s, s:b}", "type", "TextBlock", "text", sbuf_text(&b), "wrap", 1);
	sbuf_free(&b);
	if (bold) {
		json_object_set_new(t, "weight", json_string("Bolder"));
		json_object_set_new(t, "size", json_string("Medium"));
	}
	if (subtle)
		json_object_set_new(t, "isSubtle", json_true());
	return t;
}

static void
teams_batch(json_t *body, const json_t *data)
{
	const json_t *prompts = json_object_get(data, "prompts"), *p;
	size_t i;

	json_array_foreach(prompts, i, p) {
		const json_t *choices = json_object_get(p, "choices"), *c;
		const char *url = get_str(p, "answer_url");
		json_t *items = json_array(), *box;
		struct sbuf b = { 0 };
		char num[32];
		size_t j;

		if (i >= MAX_PROMPTS) {
			json_decref(items);
			break;
		}
		snprintf(num, sizeof num, "%zu. ", i + 1);
		sbuf_str(&b, num);
		put_cut(&b, prompt_text(p), 2000);
		json_array_append_new(items, text_block(sbuf_text(&b), false, false));
		sbuf_free(&b);	/* empty again, for the choices */
		json_array_foreach(choices, j, c) {
			if (!json_is_string(c) || j >= 10)
				continue;
			snprintf(num, sizeof num, "%s%c) ", b.len ? "\n\n" : "", (int)('A' + j));
			sbuf_str(&b, num);
			put_cut(&b, json_string_value(c), 200);
		}
		if (b.len > 0)
			json_array_append_new(items, text_block(sbuf_text(&b), false, true));
		sbuf_free(&b);
		if (url != NULL && strlen(url) < 2000)
			json_array_append_new(items, json_pack("{s:s, s:[{s:s, s:s, s:s}]}",
			    "type", "ActionSet", "actions", "type", "Action.OpenUrl",
			    "title", "Answer", "url", url));
		box = json_pack("{s:s, s:o, s:b}", "type", "Container", "items", items,
		    "separator", i > 0);
		json_array_append_new(body, box);
	}
}

static void
teams_fields(json_t *body, const json_t *data)
{
	json_t *facts = json_array();
	const char *key;
	const json_t *v;
	int n = 0;

	json_object_foreach((json_t *)data, key, v) {
		struct sbuf b = { 0 };
		char *t;

		if (n++ >= MAX_FIELDS)
			break;
		t = scalar_text(v);
		put_cut(&b, t, VALUE_MAX);
		json_array_append_new(facts, json_pack("{s:s, s:s}", "title", key, "value",
		    sbuf_text(&b)));
		sbuf_free(&b);
		free(t);
	}
	json_array_append_new(body, json_pack("{s:s, s:o}", "type", "FactSet", "facts", facts));
}

static char *
render_teams(const char *type, const char *timestamp, const json_t *data)
{
	json_t *body = json_array(), *card, *msg;
	char *text = summary(type, data), *s;

	json_array_append_new(body, text_block(strcmp(type, "prompt.batch") == 0 ? text :
	    title_of(type), true, false));
	if (strcmp(type, "prompt.batch") == 0)
		teams_batch(body, data);
	else if (json_is_object(data))
		teams_fields(body, data);
	json_array_append_new(body, text_block(timestamp, false, true));
	card = json_pack("{s:s, s:s, s:s, s:o, s:{s:s}}",
	    "$schema", "http://adaptivecards.io/schemas/adaptive-card.json",
	    "type", "AdaptiveCard", "version", "1.4", "body", body,
	    "msteams", "width", "Full");
	msg = json_pack("{s:s, s:s, s:[{s:s, s:n, s:o}]}", "type", "message",
	    "summary", text, "attachments", "contentType",
	    "application/vnd.microsoft.card.adaptive", "contentUrl", "content", card);
	free(text);
	s = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	return s;
}

char *
event_render(enum event_format f, const char *type, const char *timestamp,
    const json_t *data)
{
	char *s = NULL;

	switch (f) {
	case EVENT_FORMAT_JSON:
		s = render_json(type, timestamp, data);
		break;
	case EVENT_FORMAT_SLACK:
		s = render_slack(type, timestamp, data);
		break;
	case EVENT_FORMAT_TEAMS:
		s = render_teams(type, timestamp, data);
		break;
	}
	/* json_dumps fails only on invalid UTF-8 from the caller or no memory. */
	if (s == NULL)
		s = render_json(type, timestamp, NULL);
	if (s == NULL)
		fatalx("event", "cannot render an event", "type=%s", type);
	return s;
}
