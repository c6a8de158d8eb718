/*
 * test_e2e.c: forty school days of the whole loop, black-box. A throwaway
 * PostgreSQL, the demo school loaded by `recalld import`, `recalld serve`
 * on the manual clock, and tests/receiver checking every webhook's
 * signature. Each school day the clock moves to the school's prompt time,
 * the daemon builds the batches and pushes them, and simulated pupils
 * answer the prompts they received, right with the probability of their
 * hidden (true) recall: good pupils forget slowly, weak ones fast. Along
 * the way a unit is taught every two weeks, the receiver is down for a
 * day, recalld is SIGKILLed in the middle of a day's answers, one class
 * stops answering one unit. Then:
 *   1. batches only on school days; at most max_per_day prompts a pupil a
 *      day, all from units taught to one of the pupil's classes;
 *   2. the intervals of remembered questions grow;
 *   3. good pupils reach Secure or Mastery on their first units; weak
 *      pupils stay lower;
 *   4. the class that stopped answering a unit has it flagged;
 *   5. every delivery reaches the receiver once the receiver is back, each
 *      webhook-id once (but for the few in flight at the SIGKILL), every
 *      signature valid;
 *   6. an answer posted twice makes one review;
 *   7. the SIGKILL loses no answer that got its 200 and no delivery.
 *
 * Built a second time as test_e2e3 (E2E_DAEMONS 3): three daemons on the
 * one database take the requests in turn, and one of them is SIGKILLed
 * and restarted at 15 moments (while building a day's batches, or halfway
 * through its answers); then also every pupil has each school day's batch
 * once, every delivery arrives (duplicates from the kills are counted and
 * reported), and the flags and levels are what one daemon computes from
 * the same answers.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>

#include "apitest.h"
#include "cktest.h"
#include "pgtest.h"
#include "rcvtest.h"
#include "util.h"

#ifndef E2E_DAEMONS
#define E2E_DAEMONS	1
#endif
#define MULTI		(E2E_DAEMONS > 1)
#define SCHOOL_DAYS	40
#define FIRST_DAY	"2026-09-07"	/* a Monday; British Summer Time ends on day 34 */
#define GMT_DAY		34		/* the first school day after the clocks went back */
#define HOLIDAY		"2026-09-30"	/* a training day in the school calendar */
#define TEACH_EVERY	10		/* a new unit for every class every two weeks */
#define STOPPER_CLASS	"class-8b-sci"	/* stops answering its second unit ... */
#define STOPPER_UNIT	2
#define STOP_FROM	17		/* ... from this school day on */
#define DOWN_DAY	22		/* the receiver answers 503 all this day */
#define KILL_DAY	26		/* SIGKILL halfway through this day's answers */
#define MAX_PER_DAY	5
#define NEW_PER_DAY	4
#define PARALLEL	32		/* answers in flight at once */
#define ABSENT		0.03		/* a prompt a pupil just does not answer */
#define DUP_EVERY	17		/* every so many answers is also posted twice */
/* With several daemons: which school days one of them is killed, and when. */
#define KILL_IN_ANSWERS(si)	(MULTI && (si) % 4 == 1)
#define KILL_IN_BATCHES(si)	(MULTI && (si) % 8 == 3)

/* Set-up runs outside Check's tests: fail loudly by hand. */
#define MUST(x) do { if (!(x)) { fprintf(stderr, "test_e2e: set-up failed: %s\n", #x); \
	goto out; } } while (0)

static char admin[160], integ[160];
static struct rcv rx;
static long rx_off;

/* ---- the school, as the test knows it ---- */

enum { GOOD, MIDDLE, WEAK };
static const char *const type_name[] = { "good", "middle", "weak" };
/* The hidden memory: true recall (1 + t / (9 s))^-1, s grows when recalled. */
static const double s_first[] = { 12.0, 4.0, 0.8 };
static const double s_grow[] = { 3.0, 2.0, 1.4 };

struct klass {
	long long id, course;
	char ext[64];
};

struct unit {
	long long id, course;
	int position;
	int taught_day;		/* day number, -1 not yet */
};

struct pupil {
	long long id;
	int type;
	int cls[4], ncls;
};

struct question {
	long long id, unit;
	char kind[12];
	int correct, nchoices;
	char *accepted;		/* the first accepted answer of a short one */
};

/* What the test knows of one pupil x question. */
struct mem {
	double s;		/* hidden stability, days */
	int t0;			/* day of the last exposure */
	bool seen;
	/* the daemon's intervals over the pupil's reviews */
	int reviews, wrongs;
	bool last_right;
	int last_interval;
};

static struct klass classes[16];
static int nclasses;
static struct unit units[64];
static int nunits;
static struct pupil *pupils;
static int npupils;
static struct question *questions;
static int nquestions;
static struct mem *mems;	/* npupils x nquestions */
static int *pupil_of_id, *question_of_id;
static long long max_pupil_id, max_question_id;

/* ---- what the run saw ---- */

struct seen_rec {
	char id[64];
	int status;
	bool valid;
	uint64_t hash;
};

static struct {
	struct seen_rec *recs;
	size_t n, cap;
	json_t *received;	/* prompt.batch data received (2xx), not yet used */
	int days, weekend_days, batches, prompts, answers, dups, absent, skipped_stopped;
	int grew, not_grew, shrank;
	int stale_batches, kill_ok, kill_lost_reply, kills;
	int pending_at_restart;
	char *restart_pending;	/* webhook ids pending when recalld came back */
	bool finished;
	int school_day[SCHOOL_DAYS];
	uint64_t t_start;
} run;

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static double
uniform(void)
{
	/* xorshift64*: the same run every time */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (double)((rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static uint64_t
mix64(uint64_t x)
{
	/* splitmix64's finaliser */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* ---- days ---- */

static int
day_of(const char *ymd)
{
	struct tm tm = { 0 };

	if (sscanf(ymd, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		abort();
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int)(timegm(&tm) / 86400);
}

static const char *
ymd_of(int day, char *buf, size_t len)
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
	return buf;
}

/* 1 Monday .. 7 Sunday */
static int
isodow(int day)
{
	return (day + 3) % 7 + 1;
}

/* ---- SQL and HTTP ---- */

/* The first value as JSON (a json_agg), or an empty array. */
static json_t *
sqlj(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *
sqlj(const char *fmt, ...)
{
	va_list ap;
	char *q, *v;
	json_t *j;

	va_start(ap, fmt);
	q = xvasprintf(fmt, ap);
	va_end(ap);
	v = apitest_sql("%s", q);
	free(q);
	j = v ? json_loads(v, 0, NULL) : NULL;
	free(v);
	return j ? j : json_array();
}



/* The UTC instant of a local time of the school's day, ISO 8601. */
static char *
local_instant(int day, const char *hhmm)
{
	char ymd[16];

	return apitest_sql("SELECT to_char(((date '%s' + time '%s') AT TIME ZONE s.tz)"
	    " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM school s"
	    " WHERE s.school_id = 1", ymd_of(day, ymd, sizeof ymd), hhmm);
}


/* ---- answers in flight: libcurl multi ---- */

struct post {
	long long prompt;
	int pi, qi;
	bool right;
	int dup_of;		/* -1, or the post this one repeats */
	char *body;
	long status;
	json_t *resp;
};

struct slot {
	CURL *e;
	char *buf;
	size_t len;
	int idx;
};

static size_t
slot_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct slot *s = arg;
	size_t n = size * nmemb;

	s->buf = xrealloc(s->buf, s->len + n + 1);
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

static int cur_d;	/* the daemon today's requests go to */

/* SIGKILL daemon d, as a crash would. */
static void
kill_daemon(int d)
{
	apitest_daemon_use(d);
	apitest_daemon_kill9();
	apitest_daemon_use(cur_d);
	run.kills++;
}

/* Start daemon d again (it joins the shared clock), then back to today's. */
static bool
restart_daemon(int d, const char *now)
{
	bool ok;

	apitest_daemon_use(d);
	apitest_daemon_cleanup();	/* the dead one's directory */
	setenv("RECALLD_CLOCK_START", now, 1);
	ok = apitest_daemon_start();
	apitest_daemon_use(cur_d);
	return ok;
}

/*
 * POST every answer, PARALLEL at a time, the daemons taking them in turn.
 * With kill_after > 0, SIGKILL daemon kill_d once that many got their
 * reply: the ones in flight fail, the ones not sent yet stay status -1.
 * Returns whether it killed.
 */
static bool
post_all(struct post *v, int n, int kill_after, int kill_d)
{
	CURLM *m = curl_multi_init();
	struct slot slots[PARALLEL];
	struct curl_slist *h = NULL;
	char url[E2E_DAEMONS][160], auth[200];
	int next = 0, done = 0, active = 0;
	bool killed = false;

	for (int d = 0; d < E2E_DAEMONS; d++)
		snprintf(url[d], sizeof url[d], "%s/v1/responses", apitest_daemon_base(d));
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", integ);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	memset(slots, 0, sizeof slots);
	for (int i = 0; i < n; i++)
		v[i].status = -1;
	for (;;) {
		CURLMsg *msg;
		int left, running;

		for (int k = 0; k < PARALLEL && !killed && next < n; k++) {
			struct slot *s = &slots[k];

			if (s->e != NULL)
				continue;
			s->e = curl_easy_init();
			s->idx = next++;
			s->len = 0;
			curl_easy_setopt(s->e, CURLOPT_URL, url[s->idx % E2E_DAEMONS]);
			curl_easy_setopt(s->e, CURLOPT_HTTPHEADER, h);
			curl_easy_setopt(s->e, CURLOPT_POSTFIELDS, v[s->idx].body);
			curl_easy_setopt(s->e, CURLOPT_WRITEFUNCTION, slot_write);
			curl_easy_setopt(s->e, CURLOPT_WRITEDATA, s);
			curl_easy_setopt(s->e, CURLOPT_PRIVATE, s);
			curl_easy_setopt(s->e, CURLOPT_NOSIGNAL, 1L);
			curl_easy_setopt(s->e, CURLOPT_TIMEOUT_MS, 30000L);
			curl_multi_add_handle(m, s->e);
			active++;
		}
		if (active == 0)
			break;
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			struct slot *s = NULL;
			struct post *p;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			p = &v[s->idx];
			p->status = 0;
			if (msg->data.result == CURLE_OK)
				curl_easy_getinfo(s->e, CURLINFO_RESPONSE_CODE, &p->status);
			p->resp = s->buf ? json_loads(s->buf, 0, NULL) : NULL;
			if (p->status != 200 && !killed && s->buf != NULL)
				fprintf(stderr, "test_e2e: prompt %lld: %ld %s\n", p->prompt, p->status, s->buf);
			curl_multi_remove_handle(m, s->e);
			curl_easy_cleanup(s->e);
			s->e = NULL;
			free(s->buf);
			s->buf = NULL;
			s->len = 0;
			active--;
			if (++done == kill_after && kill_after > 0) {
				kill_daemon(kill_d);
				killed = true;
			}
		}
		if (active > 0)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	curl_multi_cleanup(m);
	curl_slist_free_all(h);
	return killed;
}

static void
posts_free(struct post *v, int n)
{
	for (int i = 0; i < n; i++) {
		free(v[i].body);
		json_decref(v[i].resp);
	}
	free(v);
}

/* ---- the receiver's log ---- */

static void
drain_receiver(void)
{
	json_t *recs = rcv_records_since(&rx, &rx_off), *rec;
	size_t i;

	json_array_foreach(recs, i, rec) {
		struct seen_rec *s;
		const char *body = apitest_jstr(rec, "body");

		if (run.n == run.cap) {
			run.cap = run.cap ? run.cap * 2 : 4096;
			run.recs = xreallocarray(run.recs, run.cap, sizeof *run.recs);
		}
		s = &run.recs[run.n++];
		snprintf(s->id, sizeof s->id, "%s", apitest_jstr(rec, "webhook_id"));
		s->status = (int)apitest_jint(rec, "status");
		s->valid = json_is_true(json_object_get(rec, "valid"));
		s->hash = fnv1a(body);
		if (s->status == 200 && strcmp(apitest_jstr(rec, "type"), "prompt.batch") == 0) {
			json_t *ev = json_loads(body, 0, NULL);

			if (ev != NULL)
				json_array_append(run.received, json_object_get(ev, "data"));
			json_decref(ev);
		}
	}
	json_decref(recs);
}

/*
 * Move the received batches of the day into *today (one per batch id);
 * older ones (late, after the receiver came back) into *stale.
 */
static int
take_batches(const char *ymd, json_t *today, json_t *stale)
{
	json_t *keep = json_array(), *b;
	size_t i;

	json_array_foreach(run.received, i, b) {
		const char *d = apitest_jstr(b, "local_date");
		json_t *x;
		size_t k;
		bool dup = false;

		if (strcmp(d, ymd) > 0) {
			json_array_append(keep, b);
			continue;
		}
		json_t *into = strcmp(d, ymd) == 0 ? today : stale;
		json_array_foreach(into, k, x)
			dup |= apitest_jint(x, "batch_id") == apitest_jint(b, "batch_id");
		if (!dup)
			json_array_append(into, b);
	}
	json_decref(run.received);
	run.received = keep;
	return (int)json_array_size(today);
}

struct arrivals {
	const char *ymd;
	json_t *today, *stale;
	int want;
};

/* The receiver has had the day's batches (taken into today and stale). */
static bool
all_arrived(void *arg)
{
	struct arrivals *a = arg;

	drain_receiver();
	return take_batches(a->ymd, a->today, a->stale) >= a->want;
}

static int
batch_cmp(const void *a, const void *b)
{
	long long x = apitest_jint(json_object_get(*(json_t *const *)a, "pupil"), "id");
	long long y = apitest_jint(json_object_get(*(json_t *const *)b, "pupil"), "id");

	return (x > y) - (x < y);
}

/* In pupil order: the same answers whatever order the batches arrived in. */
static void
json_array_sort_by_pupil(json_t *a)
{
	size_t n = json_array_size(a);
	json_t **v = xcalloc(n + 1, sizeof *v);

	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(a, i));
	qsort(v, n, sizeof *v, batch_cmp);
	json_array_clear(a);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, v[i]);
	free(v);
}

/* ---- the pupils ---- */

static struct mem *
mem_of(int pi, int qi)
{
	return &mems[(size_t)pi * (size_t)nquestions + (size_t)qi];
}

static struct unit *
unit_by_id(long long id)
{
	for (int i = 0; i < nunits; i++)
		if (units[i].id == id)
			return &units[i];
	return NULL;
}

static bool
in_class(const struct pupil *p, const char *ext)
{
	for (int i = 0; i < p->ncls; i++)
		if (strcmp(classes[p->cls[i]].ext, ext) == 0)
			return true;
	return false;
}

static long long
stopper_course(void)
{
	for (int c = 0; c < nclasses; c++)
		if (strcmp(classes[c].ext, STOPPER_CLASS) == 0)
			return classes[c].course;
	return -1;
}

/* The answer a pupil sends: right or wrong, as the question kind wants it. */
static char *
answer_body(long long prompt, const struct question *q, bool right)
{
	json_t *b = json_pack("{s:I}", "prompt_id", (json_int_t)prompt);
	char *s;

	if (strcmp(q->kind, "mcq") == 0)
		json_object_set_new(b, "answer", json_integer(right ? q->correct :
		    (q->correct + 1) % q->nchoices));
	else if (strcmp(q->kind, "short") == 0)
		json_object_set_new(b, "answer", json_string(right ? q->accepted : "no idea"));
	else if (strcmp(q->kind, "self") == 0)
		json_object_set_new(b, "rating", json_integer(right ? 3 : 1));
	else
		json_object_set_new(b, "correct", json_boolean(right));
	s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

/* Load what the test needs to play the pupils. */
static bool
load_school(void)
{
	json_t *j, *x;
	size_t i;

	j = sqlj("SELECT json_agg(json_build_object('id', class_id, 'course', course_id,"
	    " 'ext', external_id) ORDER BY class_id) FROM class WHERE school_id = 1");
	json_array_foreach(j, i, x) {
		if (nclasses == (int)nitems(classes))
			break;
		classes[nclasses].id = apitest_jint(x, "id");
		classes[nclasses].course = apitest_jint(x, "course");
		snprintf(classes[nclasses].ext, sizeof classes[0].ext, "%s", apitest_jstr(x, "ext"));
		nclasses++;
	}
	json_decref(j);
	j = sqlj("SELECT json_agg(json_build_object('id', unit_id, 'course', course_id,"
	    " 'position', position) ORDER BY course_id, position) FROM unit WHERE school_id = 1");
	json_array_foreach(j, i, x) {
		if (nunits == (int)nitems(units))
			break;
		units[nunits].id = apitest_jint(x, "id");
		units[nunits].course = apitest_jint(x, "course");
		units[nunits].position = (int)apitest_jint(x, "position");
		units[nunits].taught_day = -1;
		nunits++;
	}
	json_decref(j);
	j = sqlj("SELECT json_agg(json_build_object('id', p.pupil_id, 'classes',"
	    " (SELECT json_agg(cp.class_id ORDER BY cp.class_id) FROM class_pupil cp"
	    "  WHERE cp.school_id = p.school_id AND cp.pupil_id = p.pupil_id AND cp.active))"
	    " ORDER BY p.pupil_id) FROM pupil p WHERE p.school_id = 1 AND p.active");
	npupils = (int)json_array_size(j);
	pupils = xcalloc((size_t)npupils + 1, sizeof *pupils);
	json_array_foreach(j, i, x) {
		json_t *c;
		size_t k;

		pupils[i].id = apitest_jint(x, "id");
		/* spread, not by roster order: classes are made of runs of pupils */
		pupils[i].type = (int)(mix64((uint64_t)pupils[i].id) % 3);
		json_array_foreach(json_object_get(x, "classes"), k, c) {
			for (int ci = 0; ci < nclasses && pupils[i].ncls < 4; ci++)
				if (classes[ci].id == json_integer_value(c))
					pupils[i].cls[pupils[i].ncls++] = ci;
		}
		if (pupils[i].id > max_pupil_id)
			max_pupil_id = pupils[i].id;
	}
	json_decref(j);
	j = sqlj("SELECT json_agg(json_build_object('id', question_id, 'unit', unit_id,"
	    " 'kind', kind, 'correct', correct_choice, 'n', jsonb_array_length(choices),"
	    " 'accepted', accepted_answers->>0) ORDER BY question_id)"
	    " FROM question WHERE school_id = 1");
	nquestions = (int)json_array_size(j);
	questions = xcalloc((size_t)nquestions + 1, sizeof *questions);
	json_array_foreach(j, i, x) {
		questions[i].id = apitest_jint(x, "id");
		questions[i].unit = apitest_jint(x, "unit");
		snprintf(questions[i].kind, sizeof questions[i].kind, "%s", apitest_jstr(x, "kind"));
		questions[i].correct = (int)apitest_jint(x, "correct");
		questions[i].nchoices = (int)apitest_jint(x, "n");
		questions[i].accepted = xstrdup(apitest_jstr(x, "accepted"));
		if (questions[i].id > max_question_id)
			max_question_id = questions[i].id;
	}
	json_decref(j);
	if (nclasses == 0 || nunits == 0 || npupils == 0 || nquestions == 0)
		return false;
	for (int c = 0; c < nclasses; c++) {
		int t[3] = { 0 };

		for (int k = 0; k < npupils; k++)
			if (in_class(&pupils[k], classes[c].ext))
				t[pupils[k].type]++;
		printf("test_e2e: %s: %d good, %d middle, %d weak pupils\n", classes[c].ext,
		    t[GOOD], t[MIDDLE], t[WEAK]);
	}
	pupil_of_id = xcalloc((size_t)max_pupil_id + 1, sizeof *pupil_of_id);
	question_of_id = xcalloc((size_t)max_question_id + 1, sizeof *question_of_id);
	for (long long k = 0; k <= max_pupil_id; k++)
		pupil_of_id[k] = -1;
	for (long long k = 0; k <= max_question_id; k++)
		question_of_id[k] = -1;
	for (int k = 0; k < npupils; k++)
		pupil_of_id[pupils[k].id] = k;
	for (int k = 0; k < nquestions; k++)
		question_of_id[questions[k].id] = k;
	mems = xcalloc((size_t)npupils * (size_t)nquestions, sizeof *mems);
	return true;
}

static int
pupil_index(long long id)
{
	return id >= 0 && id <= max_pupil_id ? pupil_of_id[id] : -1;
}

static int
question_index(long long id)
{
	return id >= 0 && id <= max_question_id ? question_of_id[id] : -1;
}

/* Mark the units at this position taught for every class of their course, today. */
static void
teach(int position, int day)
{
	char ymd[16], body[64];

	snprintf(body, sizeof body, "{\"date\": \"%s\"}", ymd_of(day, ymd, sizeof ymd));
	for (int u = 0; u < nunits; u++) {
		if (units[u].position != position)
			continue;
		units[u].taught_day = day;
		for (int c = 0; c < nclasses; c++) {
			long st;

			if (classes[c].course != units[u].course)
				continue;
			st = apitest_json("POST", admin, body, NULL, "/v1/classes/%lld/units/%lld/taught",
			    classes[c].id, units[u].id);
			ck_assert_msg(st == 200 || st == 201, "taught: %ld", st);
		}
	}
}

/*
 * The answers of the day from the batches the receiver got: each pupil
 * answers each prompt right with their true recall, or not at all.
 */
static struct post *
plan_answers(json_t *today, int si, int day, int *np)
{
	size_t i, k, cap = 64;
	json_t *b, *pr;
	struct post *v = xcalloc(cap, sizeof *v);
	int n = 0;

	json_array_foreach(today, i, b) {
		int pi = pupil_index(apitest_jint(json_object_get(b, "pupil"), "id"));

		ck_assert_msg(pi >= 0, "a batch for an unknown pupil");
		json_array_foreach(json_object_get(b, "prompts"), k, pr) {
			int qi = question_index(apitest_jint(pr, "question_id"));
			const struct question *q;
			struct unit *u;
			struct mem *mm;
			double recall;
			bool right;

			ck_assert_msg(qi >= 0, "a prompt of an unknown question");
			q = &questions[qi];
			u = unit_by_id(q->unit);
			ck_assert(u != NULL);
			ck_assert_int_eq(apitest_jint(json_object_get(pr, "unit"), "id"), q->unit);
			run.prompts++;
			if (u->position == STOPPER_UNIT && si >= STOP_FROM &&
			    in_class(&pupils[pi], STOPPER_CLASS) && u->course == stopper_course()) {
				run.skipped_stopped++;
				continue;
			}
			if (uniform() < ABSENT) {
				run.absent++;
				continue;
			}
			mm = mem_of(pi, qi);
			if (!mm->seen) {
				mm->seen = true;
				mm->s = s_first[pupils[pi].type];
				mm->t0 = u->taught_day >= 0 ? u->taught_day : day - 1;
			}
			recall = 1.0 / (1.0 + (double)(day - mm->t0) / (9.0 * mm->s));
			right = uniform() < recall;
			if (right)
				mm->s *= s_grow[pupils[pi].type];
			else	/* forgotten, then seen again in the feedback */
				mm->s = mm->s > s_first[pupils[pi].type] ? mm->s * 0.5 :
				    s_first[pupils[pi].type] * 0.5;
			mm->t0 = day;
			if (n + 2 > (int)cap) {
				cap *= 2;
				v = xreallocarray(v, cap, sizeof *v);
			}
			v[n] = (struct post){ .prompt = apitest_jint(pr, "prompt_id"), .pi = pi, .qi = qi,
			    .right = right, .dup_of = -1 };
			v[n].body = answer_body(v[n].prompt, q, right);
			n++;
			/* Now and then the bot sends it twice, both at once. */
			if (si != KILL_DAY && n % DUP_EVERY == 0) {
				v[n] = v[n - 1];
				v[n].dup_of = n - 1;
				v[n].body = xstrdup(v[n - 1].body);
				n++;
			}
		}
	}
	*np = n;
	return v;
}

/* Check each reply and count the reviews. */
static void
check_replies(struct post *v, int n)
{
	for (int i = 0; i < n; i++) {
		const struct question *q = &questions[v[i].qi];

		ck_assert_msg(v[i].status == 200, "prompt %lld: status %ld", v[i].prompt, v[i].status);
		if (v[i].dup_of >= 0) {
			/* a repeat answers the first result, whichever got there first */
			ck_assert_msg(json_equal(v[i].resp, v[v[i].dup_of].resp),
			    "prompt %lld: the repeat got another answer", v[i].prompt);
			run.dups++;
			continue;
		}
		run.answers++;
		if (strcmp(q->kind, "mcq") == 0 || strcmp(q->kind, "short") == 0)
			ck_assert_msg(json_is_true(json_object_get(v[i].resp, "correct")) == v[i].right,
			    "prompt %lld: graded %s, sent %s", v[i].prompt,
			    json_is_true(json_object_get(v[i].resp, "correct")) ? "right" : "wrong",
			    v[i].right ? "right" : "wrong");
	}
}

/*
 * The daemon's interval (due_day - last_review_day) after each review of
 * the day: over a pupil's right answers in a row, it never shrinks, and
 * from a first review on it grows at each one while none was wrong.
 */
static void
check_intervals(int day)
{
	char ymd[16];
	json_t *j = sqlj("SELECT json_agg(json_build_array(m.pupil_id, m.question_id,"
	    " m.due_day - m.last_review_day, r.correct)) FROM memory_state m"
	    " JOIN LATERAL (SELECT r.correct FROM review r WHERE r.school_id = m.school_id"
	    "  AND r.pupil_id = m.pupil_id AND r.question_id = m.question_id"
	    "  ORDER BY r.reviewed_at DESC, r.review_id DESC LIMIT 1) r ON true"
	    " WHERE m.school_id = 1 AND m.last_review_day = '%s'", ymd_of(day, ymd, sizeof ymd));
	json_t *x;
	size_t i;

	json_array_foreach(j, i, x) {
		int pi = pupil_index(json_integer_value(json_array_get(x, 0)));
		int qi = question_index(json_integer_value(json_array_get(x, 1)));
		int interval = (int)json_integer_value(json_array_get(x, 2));
		bool right = json_is_true(json_array_get(x, 3));
		struct mem *mm;

		ck_assert(pi >= 0 && qi >= 0);
		mm = mem_of(pi, qi);
		ck_assert_msg(interval >= 1, "interval %d", interval);
		if (right && mm->reviews > 0 && mm->last_right) {
			if (interval < mm->last_interval) {
				run.shrank++;
				fprintf(stderr, "test_e2e: pupil %lld question %lld: interval %d after %d,"
				    " both right\n", pupils[pi].id, questions[qi].id, interval,
				    mm->last_interval);
			}
			if (mm->wrongs == 0) {
				if (interval > mm->last_interval)
					run.grew++;
				else
					run.not_grew++;
			}
		}
		mm->reviews++;
		mm->wrongs += !right;
		mm->last_right = right;
		mm->last_interval = interval;
	}
	json_decref(j);
}

/* ---- the run ---- */

/*
 * Let the sender finish what it holds before the clock jumps: a day goes
 * by in a moment here, but no school day is that short. (A jump past the
 * leases of deliveries recalld still holds makes it send them again.)
 * Failed attempts waiting for their retry stay.
 */
static void
drain_outbox(void)
{
	ck_assert_msg(apitest_wait_sql(0, 60000, "SELECT -count(*) FROM delivery WHERE status = 'pending'"
	    " AND (lease_until IS NOT NULL OR attempts = 0)"),
	    "the outbox did not drain: %lld pending", apitest_sql_int("SELECT count(*)"
	    " FROM delivery WHERE status = 'pending'"));
}

/* Whether the class flags are as of the time arg (the flag job ran on it). */
static bool
flagged_by(void *arg)
{
	const char *at = arg;
	json_t *j = NULL;
	bool ok = false;

	if (apitest_json("GET", admin, NULL, &j, "/v1/classes/%lld/flags", classes[0].id) == 200 &&
	    json_is_string(json_object_get(j, "as_of")))
		ok = apitest_sql_int("SELECT ('%s'::timestamptz >= '%s'::timestamptz)::int",
		    apitest_jstr(j, "as_of"), at) == 1;
	json_decref(j);
	return ok;
}

static bool
flags_as_of(const char *at, int timeout_ms)
{
	return apitest_wait(flagged_by, (void *)at, timeout_ms);
}

static void
weekend_or_holiday(int day)
{
	char *at = local_instant(day, "16:30"), ymd[16];

	ck_assert(at != NULL);
	ck_assert(apitest_set_clock(admin, at));
	free(at);
	/* The clock moved: the batch job has looked (and found nothing to do). */
	ck_assert(apitest_wait_job_idle("batches", 10000));
	drain_outbox();
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM batch WHERE school_id = 1"
	    " AND local_date = '%s'", ymd_of(day, ymd, sizeof ymd)), 0);
	run.weekend_days++;
}

/* The receiver is down this day: the batches are built, their pushes fail. */
static void
down_day(int day, const char *ymd, int nb)
{
	char *later = local_instant(day, "16:10");

	/* Every push of the day got its 503, then one retry did too. */
	ck_assert(apitest_wait_sql(nb, 30000, "SELECT count(*) FROM delivery WHERE event_type ="
	    " 'prompt.batch' AND payload::jsonb #>> '{data,local_date}' = '%s'"
	    " AND status = 'pending' AND attempts >= 1", ymd));
	ck_assert(apitest_set_clock(admin, later));
	free(later);
	ck_assert(apitest_wait_sql(nb, 30000, "SELECT count(*) FROM delivery WHERE event_type ="
	    " 'prompt.batch' AND payload::jsonb #>> '{data,local_date}' = '%s'"
	    " AND status = 'pending' AND attempts >= 2", ymd));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE status = 'dead'"), 0);
	drain_outbox();
	drain_receiver();
	/* Nothing reached the pupils: nobody answers today. Back up for tomorrow. */
	ck_assert(rcv_set_status(&rx, 200));
}

/* SIGKILL came halfway: every 200 has its review; the rest is answered again. */
static void
after_kill(struct post *v, int n, const char *now, int kill_d, bool record)
{
	char *ids;
	size_t cap = 16, len = 0;
	int ok = 0, retry = 0;
	struct post *again;

	ids = xmalloc(cap);
	ids[len++] = '{';
	for (int i = 0; i < n; i++) {
		if (v[i].status != 200)
			continue;
		if (len + 24 > cap) {
			cap = cap * 2 + 24;
			ids = xrealloc(ids, cap);
		}
		len += (size_t)snprintf(ids + len, cap - len, "%s%lld", ok ? "," : "", v[i].prompt);
		ok++;
	}
	ids[len++] = '}';
	ids[len] = '\0';
	if (record) {
		/* What the outbox held when recalld died: all of it must still go out. */
		free(run.restart_pending);
		run.restart_pending = apitest_sql("SELECT string_agg(webhook_id, ','"
		    " ORDER BY webhook_id) FROM delivery WHERE status = 'pending'");
		run.pending_at_restart = (int)apitest_sql_int("SELECT count(*) FROM delivery"
		    " WHERE status = 'pending'");
	}
	ck_assert_msg(restart_daemon(kill_d, now), "recalld did not come back after SIGKILL");
	ck_assert_msg(ok > 0 && ok < n, "the kill was not in the middle (%d of %d)", ok, n);
	/* every prompt with a 200 reviewed once (a prompt posted twice may have two) */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review WHERE school_id = 1"
	    " AND prompt_id = ANY ('%s'::bigint[])", ids),
	    apitest_sql_int("SELECT count(DISTINCT x) FROM unnest('%s'::bigint[]) x", ids));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM prompt WHERE school_id = 1"
	    " AND prompt_id = ANY ('%s'::bigint[]) AND answered_at IS NULL", ids), 0);
	free(ids);
	run.kill_ok += ok;
	/* What got no 200 is sent again: once committed, the first result comes back. */
	again = xcalloc((size_t)n + 1, sizeof *again);
	for (int i = 0; i < n; i++) {
		if (v[i].status == 200)
			continue;
		if (v[i].status == 0)
			run.kill_lost_reply++;
		again[retry] = v[i];
		again[retry].body = xstrdup(v[i].body);
		again[retry].resp = NULL;
		retry++;
	}
	post_all(again, retry, 0, 0);
	for (int i = 0, k = 0; i < n; i++) {
		if (v[i].status == 200)
			continue;
		json_decref(v[i].resp);
		v[i].status = again[k].status;
		v[i].resp = json_incref(again[k].resp);
		k++;
	}
	posts_free(again, retry);
}

static void
school_day(int si, int day)
{
	char ymd[16], *at;
	int nb, n;
	json_t *today = json_array(), *stale = json_array();
	struct post *v;

	ymd_of(day, ymd, sizeof ymd);
	cur_d = run.days % E2E_DAEMONS;
	apitest_daemon_use(cur_d);	/* today's requests go to this one */
	if (si > 0 && si % TEACH_EVERY == 0)
		teach(si / TEACH_EVERY + 1, day);
	if (si == DOWN_DAY)
		ck_assert(rcv_set_status(&rx, 503));
	if (si == 0 || si == GMT_DAY) {
		/* A minute before the prompt time, in summer time and in winter time: nothing. */
		at = local_instant(day, "15:59");
		ck_assert(at != NULL && apitest_set_clock(admin, at));
		free(at);
		ck_assert(apitest_wait_job_idle("batches", 10000));
		ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM batch WHERE school_id = 1"
		    " AND local_date = '%s'", ymd), 0);
	}
	at = local_instant(day, "16:00");
	ck_assert(at != NULL);
	ck_assert(apitest_set_clock(admin, at));
	if (KILL_IN_BATCHES(si)) {
		/* Killed while the day's batches are built: another daemon takes them over. */
		int d = (cur_d + 1) % E2E_DAEMONS;

		kill_daemon(d);
		ck_assert_msg(restart_daemon(d, at), "recalld did not come back after SIGKILL");
	}
	ck_assert_msg(apitest_wait_sql(1, 30000, "SELECT count(*) FROM school WHERE school_id = 1"
	    " AND batches_done_for = '%s'", ymd), "no batches for %s", ymd);
	nb = (int)apitest_sql_int("SELECT count(*) FROM batch WHERE school_id = 1"
	    " AND local_date = '%s' AND kind = 'daily'", ymd);
	ck_assert_msg(nb > npupils / 2, "%s: %d batches", ymd, nb);
	run.batches += nb;
	run.days++;
	if (si == DOWN_DAY) {
		down_day(day, ymd, nb);
		goto done;
	}
	/* The pupils answer what reached them. */
	{
		struct arrivals a = { ymd, today, stale, nb };

		apitest_wait(all_arrived, &a, 30000);
	}
	ck_assert_msg((int)json_array_size(today) == nb, "%s: %zu of %d batches reached the"
	    " receiver", ymd, json_array_size(today), nb);
	if (json_array_size(stale) > 0) {
		/* Yesterday's, pushed once the receiver was back: too late to answer. */
		json_t *p0 = json_array_get(json_object_get(json_array_get(stale, 0), "prompts"), 0);
		char body[96];

		run.stale_batches += (int)json_array_size(stale);
		snprintf(body, sizeof body, "{\"prompt_id\": %lld, \"correct\": true}",
		    apitest_jint(p0, "prompt_id"));
		ck_assert_int_eq(apitest_json("POST", integ, body, NULL, "/v1/responses"), 410);
		ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review WHERE school_id = 1"
		    " AND prompt_id = %lld", apitest_jint(p0, "prompt_id")), 0);
	}
	json_array_sort_by_pupil(today);
	v = plan_answers(today, si, day, &n);
	if (!MULTI && si == KILL_DAY)	/* the feedback events of the day wait in the outbox */
		ck_assert(rcv_set_status(&rx, 503));
	if (!MULTI && si == KILL_DAY) {
		if (post_all(v, n, n / 2, 0))
			after_kill(v, n, at, 0, true);
	} else if (KILL_IN_ANSWERS(si)) {
		/* a moment of the day's answers, from its own sequence: the answers stay the same */
		int after = n / 4 + (int)(mix64((uint64_t)si) % (uint64_t)(n / 2 + 1));
		int d = (cur_d + si) % E2E_DAEMONS;

		if (post_all(v, n, after, d))
			after_kill(v, n, at, d, false);
	} else
		post_all(v, n, 0, 0);
	check_replies(v, n);
	check_intervals(day);
	posts_free(v, n);
	if (!MULTI && si == KILL_DAY) {
		/* The deliveries pending at the kill go out (the dead run's leases lapse). */
		char *later = local_instant(day, "16:05");

		ck_assert(rcv_set_status(&rx, 200));
		ck_assert(apitest_set_clock(admin, later));
		free(later);
		ck_assert_msg(apitest_wait_sql(0, 30000, "SELECT -count(*) FROM delivery WHERE"
		    " webhook_id = ANY (string_to_array('%s', ',')) AND status <> 'delivered'",
		    run.restart_pending ? run.restart_pending : ""),
		    "deliveries pending at the restart did not go out");
	}
	drain_outbox();
done:
	free(at);
	json_decref(today);
	json_decref(stale);
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The receiver's log holds every delivery the database calls delivered
 * (it writes its log every 20 ms, after answering).
 */
static bool
all_logged(void *arg)
{
	const char **ids;
	size_t n = 0, distinct = 0;

	(void)arg;
	drain_receiver();
	ids = xcalloc(run.n + 1, sizeof *ids);
	for (size_t i = 0; i < run.n; i++)
		if (run.recs[i].status == 200)
			ids[n++] = run.recs[i].id;
	qsort(ids, n, sizeof *ids, id_cmp);
	for (size_t i = 0; i < n; i++)
		distinct += i == 0 || strcmp(ids[i - 1], ids[i]) != 0;
	free(ids);
	return (long long)distinct >= apitest_sql_int("SELECT count(*) FROM delivery"
	    " WHERE status = 'delivered'");
}

START_TEST(test_forty_days)
{
	long st;
	json_t *ep = NULL;
	char *secret, body[256];
	int day = day_of(FIRST_DAY);

	run.received = json_array();
	/* The endpoint first: its secret is what the receiver verifies with. */
	st = apitest_json("POST", admin, "{\"url\": \"https://example.com/later\", \"format\": \"json\"}",
	    &ep, "/v1/endpoints");
	ck_assert_int_eq(st, 201);
	secret = xstrdup(apitest_jstr(ep, "secret"));
	rcv_start(&rx, secret, NULL);
	snprintf(body, sizeof body, "{\"url\": \"%s\"}", rx.url);
	ck_assert_int_eq(apitest_json("PATCH", admin, body, NULL, "/v1/endpoints/%lld",
	    apitest_jint(ep, "id")), 200);
	free(secret);
	json_decref(ep);
	teach(1, day - 3);	/* the first unit of every course, the Friday before */
	for (int si = 0; si < SCHOOL_DAYS; day++) {
		char ymd[16];

		if (isodow(day) >= 6 || strcmp(ymd_of(day, ymd, sizeof ymd), HOLIDAY) == 0) {
			weekend_or_holiday(day);
			continue;
		}
		run.school_day[si] = day;
		school_day(si, day);
		si++;
	}
	/* The next morning: the flag job runs as of then; everything pending goes out. */
	{
		char *at = local_instant(day, "07:00");

		ck_assert(apitest_set_clock(admin, at));
		ck_assert_msg(flags_as_of(at, 30000), "the flag job did not run for %s", at);
		free(at);
	}
	ck_assert_msg(apitest_wait_sql(0, 60000, "SELECT -count(*) FROM delivery WHERE status <> 'delivered'"),
	    "%lld deliveries not delivered", apitest_sql_int("SELECT count(*) FROM delivery"
	    " WHERE status <> 'delivered'"));
	ck_assert_msg(apitest_wait(all_logged, NULL, 10000), "the receiver's log lacks deliveries");
	run.finished = true;
}
END_TEST

/* 1. Batches on school days only; the cap; taught units only. */
START_TEST(test_batches_school_days)
{
	char first[16], last[16];

	ck_assert(run.finished);
	ymd_of(run.school_day[0], first, sizeof first);
	ymd_of(run.school_day[SCHOOL_DAYS - 1], last, sizeof last);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM batch WHERE school_id = 1 AND"
	    " (extract(isodow FROM local_date) IN (6, 7) OR local_date = '" HOLIDAY "')"), 0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(DISTINCT local_date) FROM batch"
	    " WHERE school_id = 1"), SCHOOL_DAYS);
	/* each pupil's daily batch once a day, whichever daemon built it */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM (SELECT 1 FROM batch"
	    " WHERE school_id = 1 AND kind = 'daily' GROUP BY pupil_id, local_date"
	    " HAVING count(*) > 1) x"), 0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM batch WHERE school_id = 1"
	    " AND (local_date < '%s' OR local_date > '%s')", first, last), 0);
	ck_assert_int_le(apitest_sql_int("SELECT max(n) FROM (SELECT count(*) AS n FROM prompt p"
	    " JOIN batch b ON b.school_id = p.school_id AND b.batch_id = p.batch_id"
	    " WHERE p.school_id = 1 AND b.kind = 'daily' GROUP BY b.pupil_id, b.local_date) x"),
	    MAX_PER_DAY);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM prompt p"
	    " JOIN batch b ON b.school_id = p.school_id AND b.batch_id = p.batch_id"
	    " WHERE p.school_id = 1 AND p.pupil_id <> b.pupil_id"), 0);
	/* every prompt is of a unit taught to one of the pupil's classes, a day before at least */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM prompt p"
	    " JOIN batch b ON b.school_id = p.school_id AND b.batch_id = p.batch_id"
	    " JOIN question q ON q.school_id = p.school_id AND q.question_id = p.question_id"
	    " WHERE p.school_id = 1 AND NOT EXISTS (SELECT 1 FROM class_pupil cp"
	    "  JOIN taught t ON t.school_id = cp.school_id AND t.class_id = cp.class_id"
	    "  WHERE cp.school_id = p.school_id AND cp.pupil_id = p.pupil_id AND cp.active"
	    "  AND t.unit_id = q.unit_id AND t.taught_on < b.local_date)"), 0);
	/* what the pupils received is what is in the database */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM prompt WHERE school_id = 1"),
	    run.prompts + apitest_sql_int("SELECT count(*) FROM prompt p JOIN batch b"
	    " ON b.school_id = p.school_id AND b.batch_id = p.batch_id WHERE p.school_id = 1"
	    " AND b.local_date = '%s'", ymd_of(run.school_day[DOWN_DAY], first, sizeof first)));
	ck_assert_int_eq(run.weekend_days, 2 * 8 + 1);
}
END_TEST

/* 2. Intervals of remembered questions grow. */
START_TEST(test_intervals_grow)
{
	char *r;
	long long pairs, bad;

	ck_assert(run.finished);
	ck_assert_int_eq(run.shrank, 0);
	ck_assert_int_eq(run.not_grew, 0);
	ck_assert_int_gt(run.grew, 500);
	/* from the review history: each right answer after a right answer raised stability */
	r = apitest_sql("WITH r AS (SELECT correct, stability, lag(correct) OVER w AS pc,"
	    "  lag(stability) OVER w AS ps FROM review WHERE school_id = 1"
	    "  WINDOW w AS (PARTITION BY pupil_id, question_id ORDER BY reviewed_at, review_id))"
	    " SELECT count(*) FILTER (WHERE correct AND pc) || ','"
	    " || count(*) FILTER (WHERE correct AND pc AND stability <= ps) FROM r");
	ck_assert(r != NULL && sscanf(r, "%lld,%lld", &pairs, &bad) == 2);
	free(r);
	ck_assert_int_gt(pairs, 1000);
	ck_assert_int_eq(bad, 0);
	/* and a question answered right from the start 3 times waits longer each time */
	ck_assert_int_eq(apitest_sql_int("WITH r AS (SELECT pupil_id, question_id, elapsed_days,"
	    "  row_number() OVER w AS k, bool_and(correct) OVER w AS allright"
	    "  FROM review WHERE school_id = 1"
	    "  WINDOW w AS (PARTITION BY pupil_id, question_id ORDER BY reviewed_at, review_id))"
	    " SELECT count(*) FROM r a JOIN r b USING (pupil_id, question_id)"
	    " WHERE a.k = 2 AND b.k = 3 AND b.allright AND b.elapsed_days <= a.elapsed_days"), 0);
}
END_TEST

/* 3. Good pupils reach Secure or Mastery on their first units; weak ones do not keep up. */
START_TEST(test_mastery_levels)
{
	json_t *j, *x;
	size_t i;
	int n[3] = { 0 }, secure[3] = { 0 }, sum[3] = { 0 };

	ck_assert(run.finished);
	j = sqlj("SELECT json_agg(json_build_array(cp.pupil_id, coalesce(ml.level, 0)))"
	    " FROM class_pupil cp JOIN class k ON k.school_id = cp.school_id AND k.class_id = cp.class_id"
	    " JOIN unit u ON u.school_id = k.school_id AND u.course_id = k.course_id"
	    "  AND u.position = (SELECT min(position) FROM unit u2 WHERE u2.school_id = u.school_id"
	    "  AND u2.course_id = u.course_id)"
	    " LEFT JOIN mastery ml ON ml.school_id = cp.school_id AND ml.pupil_id = cp.pupil_id"
	    "  AND ml.unit_id = u.unit_id"
	    " WHERE cp.school_id = 1 AND cp.active AND k.external_id <> '" STOPPER_CLASS "'");
	json_array_foreach(j, i, x) {
		int pi = pupil_index(json_integer_value(json_array_get(x, 0)));
		int level = (int)json_integer_value(json_array_get(x, 1));
		int t;

		ck_assert(pi >= 0);
		t = pupils[pi].type;
		n[t]++;
		sum[t] += level;
		secure[t] += level >= 2;
	}
	json_decref(j);
	for (int t = 0; t < 3; t++)
		printf("test_e2e: first units, %s pupils: %d of %d Secure or Mastery, mean level %.2f\n",
		    type_name[t], secure[t], n[t], n[t] ? (double)sum[t] / n[t] : 0.0);
	ck_assert_int_gt(n[GOOD], 20);
	ck_assert_int_gt(n[WEAK], 20);
	ck_assert_msg(secure[GOOD] * 10 >= n[GOOD] * 9, "only %d of %d good", secure[GOOD], n[GOOD]);
	ck_assert_msg(secure[WEAK] * 10 <= n[WEAK] * 3, "%d of %d weak", secure[WEAK], n[WEAK]);
	ck_assert(sum[WEAK] * n[MIDDLE] <= sum[MIDDLE] * n[WEAK]);
	ck_assert(sum[MIDDLE] * n[GOOD] <= sum[GOOD] * n[MIDDLE]);
	ck_assert(sum[WEAK] * n[GOOD] < sum[GOOD] * n[WEAK]);
}
END_TEST

/* 4. The class that stopped answering a unit has it flagged. */
START_TEST(test_flagged)
{
	long long stopper = -1, control = -1, unit = -1;
	json_t *j = NULL, *it;
	size_t i;
	const char *status = "none", *control_status = "none";

	ck_assert(run.finished);
	for (int c = 0; c < nclasses; c++) {
		if (strcmp(classes[c].ext, STOPPER_CLASS) == 0)
			stopper = c;
	}
	ck_assert(stopper >= 0);
	for (int c = 0; c < nclasses; c++)
		if (c != stopper && classes[c].course == classes[stopper].course)
			control = c;
	for (int u = 0; u < nunits; u++)
		if (units[u].course == classes[stopper].course && units[u].position == STOPPER_UNIT)
			unit = units[u].id;
	ck_assert(control >= 0 && unit >= 0);
	ck_assert_int_eq(apitest_json("GET", admin, NULL, &j, "/v1/classes/%lld/flags", classes[stopper].id), 200);
	json_array_foreach(json_object_get(j, "items"), i, it)
		if (apitest_jint(json_object_get(it, "unit"), "id") == unit)
			status = apitest_jstr(it, "status");
	{
		char *d = json_dumps(j, JSON_COMPACT);
		printf("test_e2e: %s flags: %s\n", STOPPER_CLASS, d ? d : "");
		free(d);
	}
	ck_assert_msg(strcmp(status, "forgotten") == 0 || strcmp(status, "at_risk") == 0,
	    "unit %lld of %s is %s", unit, STOPPER_CLASS, status);
	json_decref(j);
	ck_assert_int_eq(apitest_json("GET", admin, NULL, &j, "/v1/classes/%lld/flags", classes[control].id), 200);
	json_array_foreach(json_object_get(j, "items"), i, it)
		if (apitest_jint(json_object_get(it, "unit"), "id") == unit)
			control_status = apitest_jstr(it, "status");
	printf("test_e2e: the same unit in %s: %s\n", classes[control].ext, control_status);
	ck_assert_str_ne(control_status, "forgotten");
	json_decref(j);
	/* and the school heard of it */
	ck_assert_int_ge(apitest_sql_int("SELECT count(*) FROM delivery WHERE school_id = 1"
	    " AND event_type = 'topic.flagged' AND status = 'delivered'"
	    " AND payload::jsonb #>> '{data,class,id}' = '%lld'"
	    " AND payload::jsonb #>> '{data,unit,id}' = '%lld'", classes[stopper].id, unit), 1);
}
END_TEST

static int
rec_cmp(const void *a, const void *b)
{
	const struct seen_rec *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : (x->status > y->status) - (x->status < y->status);
}

/* 5. Every delivery arrived, each webhook-id once, every signature valid. */
START_TEST(test_deliveries)
{
	char *ids, *save = NULL, *tok;
	size_t k = 0;
	int delivered = 0, dups = 0, failed_attempts = 0;

	ck_assert(run.finished);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE status <> 'delivered'"), 0);
	for (size_t i = 0; i < run.n; i++) {
		ck_assert_msg(run.recs[i].valid, "webhook %s: bad signature", run.recs[i].id);
		failed_attempts += run.recs[i].status != 200;
	}
	ck_assert_int_gt(failed_attempts, 0);	/* the day the receiver was down */
	qsort(run.recs, run.n, sizeof *run.recs, rec_cmp);
	ids = apitest_sql("SELECT string_agg(webhook_id, ',' ORDER BY webhook_id COLLATE \"C\")"
	    " FROM delivery");
	ck_assert(ids != NULL);
	for (tok = strtok_r(ids, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		int got = 0;
		uint64_t h = 0;

		while (k < run.n && strcmp(run.recs[k].id, tok) < 0) {
			ck_assert_msg(run.recs[k].status != 200, "%s was never queued", run.recs[k].id);
			k++;
		}
		for (; k < run.n && strcmp(run.recs[k].id, tok) == 0; k++) {
			if (run.recs[k].status != 200)
				continue;
			if (got++ > 0) {
				fprintf(stderr, "test_e2e: %s arrived twice%s\n", tok,
				    run.recs[k].hash == h ? "" : ", with another body");
				dups++;
			}
			h = run.recs[k].hash;
		}
		ck_assert_msg(got >= 1, "delivery %s never arrived", tok);
		delivered++;
	}
	free(ids);
	printf("test_e2e: %d deliveries, each arrived (%d twice);"
	    " %d attempts refused by the receiver\n", delivered, dups, failed_attempts);
	/*
	 * One daemon's kill came when the receiver refused: none twice. A kill
	 * while deliveries are in flight may send those again (at least once).
	 */
	if (!MULTI)
		ck_assert_int_eq(dups, 0);
	/* one feedback event per review, and one batch event per daily batch */
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE event_type ="
	    " 'response.feedback'"), apitest_sql_int("SELECT count(*) FROM review"));
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM delivery WHERE event_type ="
	    " 'prompt.batch'"), apitest_sql_int("SELECT count(*) FROM batch"));
	ck_assert_int_gt(run.stale_batches, 0);
}
END_TEST

/* 6. Twice posted, once reviewed. */
START_TEST(test_once_per_prompt)
{
	ck_assert(run.finished);
	ck_assert_int_gt(run.dups, 100);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM (SELECT prompt_id FROM review"
	    " WHERE school_id = 1 GROUP BY prompt_id HAVING count(*) > 1) x"), 0);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM review WHERE school_id = 1"), run.answers);
	ck_assert_int_eq(apitest_sql_int("SELECT count(*) FROM prompt WHERE school_id = 1"
	    " AND answered_at IS NOT NULL"), run.answers);
}
END_TEST

/* 7. The SIGKILL lost nothing (checked at the restart; here the totals). */
START_TEST(test_sigkill)
{
	ck_assert(run.finished);
	ck_assert_int_gt(run.kill_ok, 0);
	if (MULTI) {
		ck_assert_int_ge(run.kills, 10);
		printf("test_e2e: %d daemons, %d SIGKILLs; %d answers got their 200 in the killed"
		    " days before the kill (%d in flight lost their reply)\n", E2E_DAEMONS, run.kills,
		    run.kill_ok, run.kill_lost_reply);
		return;
	}
	ck_assert_int_gt(run.pending_at_restart, 0);
	printf("test_e2e: SIGKILL after %d answers got their 200 (%d in flight lost their reply);"
	    " %d deliveries pending at the kill, all delivered since\n", run.kill_ok,
	    run.kill_lost_reply, run.pending_at_restart);
}
END_TEST

/* The flags and levels, without their times: one text to compare. */
static char *
flags_and_levels(void)
{
	return apitest_sql("SELECT string_agg(x, ';' ORDER BY x) FROM ("
	    " SELECT format('f %%s/%%s %%s %%s %%s/%%s %%s %%s', class_id, unit_id, status, reasons,"
	    "  pupils, class_pupils, fallen, round(class_recall::numeric, 6)) x"
	    " FROM flag WHERE school_id = 1"
	    " UNION ALL SELECT format('m %%s/%%s %%s %%s', pupil_id, unit_id, level, best_level)"
	    " FROM mastery WHERE school_id = 1) y");
}

static bool others_stopped;

/* 8. Several daemons: the flags and levels are what one daemon computes afresh. */
START_TEST(test_same_as_one_daemon)
{
	char *before, *after, *now;

	ck_assert(run.finished);
	before = flags_and_levels();
	ck_assert(before != NULL);
	now = apitest_sql("SELECT to_char(to_timestamp(now_us / 1e6) AT TIME ZONE 'UTC',"
	    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM manual_clock");
	ck_assert(now != NULL);
	/* One daemon alone, started afresh at the same time: a full flag run. */
	for (int d = 1; d < E2E_DAEMONS; d++) {
		apitest_daemon_use(d);
		ck_assert_int_eq(apitest_daemon_stop(), 0);
	}
	others_stopped = true;
	cur_d = 0;
	apitest_daemon_use(0);
	ck_assert_int_eq(apitest_daemon_stop(), 0);
	ck_assert(apitest_sql_ok("UPDATE school_flag_job SET done_at = NULL, review_mark = 0"));
	ck_assert(restart_daemon(0, now));
	ck_assert(apitest_wait_sql(1, 60000, "SELECT count(*) FROM school_flag_job WHERE school_id = 1"
	    " AND done_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM job_lease l"
	    " WHERE l.school_id = 1 AND l.job = 'flags')"));
	after = flags_and_levels();
	ck_assert(after != NULL);
	ck_assert_msg(strcmp(before, after) == 0, "three daemons' flags and levels differ from"
	    " one daemon's:\n%s\n%s", before, after);
	printf("test_e2e: the flags and levels of %d daemons are one daemon's (%zu bytes compared)\n",
	    E2E_DAEMONS, strlen(before));
	free(before);
	free(after);
	free(now);
}
END_TEST

static void
free_all(void)
{
	for (int i = 0; i < nquestions; i++)
		free(questions[i].accepted);
	free(questions);
	free(pupils);
	free(mems);
	free(pupil_of_id);
	free(question_of_id);
	free(run.recs);
	free(run.restart_pending);
	json_decref(run.received);
}


int
main(void)
{
	Suite *s;
	TCase *tc;
	char conninfo[512], *start;
	int failed = 1, code = -1;
	bool daemon = false;

	run.t_start = util_mono_ms();
	/* Ours, so that apitest's curl_global_cleanup (at the SIGKILL) is not the last. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(conninfo, sizeof conninfo, "%s", pgtest_start());
	apitest_env(conninfo, "10s");
	setenv("RECALLD_CLOCK_MODE", "manual", 1);
	setenv("RECALLD_CLOCK_START", FIRST_DAY "T06:00:00Z", 1);
	setenv("RECALLD_RESPONSES_LINK_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", 1);
	/*
	 * No fitting: the levels are checked against a fresh computation with
	 * the weights the answers were scheduled with (test_model tests fitting).
	 */
	setenv("RECALLD_FSRS_MIN_REVIEWS_TO_FIT", "100000000", 1);
	setenv("RECALLD_WEBHOOKS_ALLOW_PRIVATE", "true", 1);
	setenv("RECALLD_WEBHOOKS_RETRY_SCHEDULE", "1s,1s,2s,5s", 1);
	setenv("RECALLD_WEBHOOKS_POLL_INTERVAL", "200ms", 1);
	setenv("RECALLD_WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT", "16", 1);
	/* a dead daemon's claimed deliveries go out this soon after (real time) */
	setenv("RECALLD_WEBHOOKS_TIMEOUT", "2s", 1);
	setenv("RECALLD_WEBHOOKS_LEASE", "9s", 1);
	apitest_db_open(conninfo);
	MUST(apitest_recalld(NULL, "migrate", (char *)NULL) == 0);
	MUST(apitest_recalld(NULL, "school", "create", "--name", "Northfield Academy (e2e)",
	    "--tz", "Europe/London", (char *)NULL) == 0);
	MUST(apitest_import_demo(true));
	MUST(apitest_token(admin, sizeof admin, "1", "admin", NULL));
	MUST(apitest_token(integ, sizeof integ, "1", "integration", NULL));
	MUST(load_school());
	for (int d = E2E_DAEMONS - 1; d >= 0; d--) {
		apitest_daemon_use(d);
		MUST(daemon = apitest_daemon_start());
	}
	/* The school's settings and calendar, as its IT would set them. */
	{
		char body[160];

		snprintf(body, sizeof body, "{\"max_per_day\": %d, \"new_per_day\": %d,"
		    " \"self_rating\": true}", MAX_PER_DAY, NEW_PER_DAY);
		MUST(apitest_json("PATCH", admin, body, NULL, "/v1/school") == 200);
		MUST(apitest_json("POST", admin, "{\"date\": \"" HOLIDAY "\", \"kind\": \"training\","
		    " \"name\": \"INSET day\"}", NULL, "/v1/calendar") == 201);
	}

	s = suite_create("e2e");
	tc = tcase_create("forty days");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_forty_days);
	tcase_add_test(tc, test_batches_school_days);
	tcase_add_test(tc, test_intervals_grow);
	tcase_add_test(tc, test_mastery_levels);
	tcase_add_test(tc, test_flagged);
	tcase_add_test(tc, test_deliveries);
	tcase_add_test(tc, test_once_per_prompt);
	tcase_add_test(tc, test_sigkill);
	if (MULTI)
		tcase_add_test(tc, test_same_as_one_daemon);
	suite_add_tcase(s, tc);
	failed = cktest_run_nofork(s);

	start = apitest_sql("SELECT count(*) || ' reviews, ' || (SELECT count(*) FROM delivery"
	    " WHERE status = 'delivered') || ' deliveries delivered' FROM review");
	printf("test_e2e: %d school days (%d weekend and holiday days skipped), %d batches,"
	    " %d prompts received, %d answers (%d absent, %d not answered by the stopping class,"
	    " %d posted twice), %s; %zu requests at the receiver; %.1f s\n",
	    run.days, run.weekend_days, run.batches, run.prompts, run.answers, run.absent,
	    run.skipped_stopped, run.dups, start ? start : "?", run.n,
	    (double)(util_mono_ms() - run.t_start) / 1000.0);
	free(start);
out:
	for (int d = E2E_DAEMONS - 1; daemon && d >= 0; d--) {
		int c;

		apitest_daemon_use(d);
		c = d > 0 && others_stopped ? 0 : apitest_daemon_stop();
		if (failed != 0 || c != 0)
			apitest_daemon_dump_log();
		if (c != 0)
			code = c;
		else if (d == 0 && code == -1)
			code = 0;
	}
	rcv_stop(&rx);
	apitest_db_close();
	for (int d = 0; d < E2E_DAEMONS; d++) {
		apitest_daemon_use(d);
		apitest_daemon_cleanup();
	}
	if (getenv("E2E_KEEP_DB") != NULL)	/* to look at what went wrong */
		fprintf(stderr, "test_e2e: the database stays: %s\n", conninfo);
	else
		pgtest_destroy();
	free_all();
	curl_global_cleanup();
	if (!apitest_openapi_check())
		failed++;
	return failed == 0 && code == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
