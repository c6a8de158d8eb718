/*
 * replay.c: `recalld replay`, a reviews CSV through FSRS-6.
 *
 * Streams: libcsv is fed one physical line at a time (so an error can name
 * its line), rows are processed as they end, output goes through one
 * buffer. The only state that grows is one entry per card, in an
 * open-addressing hash table keyed by card_id, the ids in an arena.
 */
#ifdef HAVE_CONFIG_H
#include "autoconf.h"
#endif

#include "replay.h"

#include <csv.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define IN_CHUNK	(64 * 1024)
#define OUT_BUF		(256 * 1024)
#define ROW_MAX		(2 * REPLAY_MAX_CARD_ID + 256)	/* one output row */
#define TIME_MAX	64
#define FIELD_MAX	(1024 * 1024)	/* libcsv buffers a field whole */
#define ARENA_CHUNK	(1024 * 1024)
#define TABLE_MIN	4096

static const char in_header[] = "card_id,review_time,rating";
static const char out_header[] = "card_id,review_time,rating,elapsed_days,"
    "retrievability,stability,difficulty,interval_days\n";

/* One card: its memory state and the time of its last review. */
typedef struct card {
	const char *id;		/* in the arena; NULL marks a free slot */
	uint64_t hash;
	int64_t last_sec;
	int32_t last_nsec;
	uint32_t idlen;
	fsrs_state st;
} card;

typedef struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	char data[];
} arena_chunk;

typedef struct replay {
	const fsrs_model *m;
	FILE *out;
	char *err;
	size_t errlen;
	int status;

	card *cards;
	size_t cap, count;
	arena_chunk *arena;

	/* The row being parsed; line counts physical lines from 1. */
	unsigned long long line, row_line;
	bool row_open;		/* row_line is where the row being read began */
	size_t nfields;
	bool header_done;
	char id[REPLAY_MAX_CARD_ID];
	size_t idlen;
	bool id_long;
	char time[TIME_MAX];
	size_t timelen;
	bool time_long;
	char rating[8];
	size_t ratinglen;
	bool rating_long;

	size_t olen;
	char obuf[OUT_BUF];
} replay;

static void fail(replay *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the first error only: later callbacks of the same line are moot. */
static void
fail(replay *r, int status, const char *fmt, ...)
{
	va_list ap;

	if (r->status != REPLAY_OK)
		return;
	r->status = status;
	if (r->err == NULL || r->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
}

void
replay_opts_init(replay_opts *o)
{
	memcpy(o->w, fsrs_default_params(), sizeof(o->w));
	o->retention = 0.9;
	o->max_interval = 36500;
}

/* FNV-1a, then a final mix so that the low bits index the table well. */
static uint64_t
hash_id(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static const char *
arena_copy(replay *r, const char *s, size_t n)
{
	arena_chunk *c = r->arena;
	char *p;

	if (c == NULL || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;

		if ((c = malloc(sizeof(*c) + size)) == NULL)
			return NULL;
		c->next = r->arena;
		c->used = 0;
		c->size = size;
		r->arena = c;
	}
	p = c->data + c->used;
	if (n > 0)
		memcpy(p, s, n);
	c->used += n;
	return p;
}

static bool
table_grow(replay *r)
{
	size_t cap = r->cap ? 2 * r->cap : TABLE_MIN;
	card *cards = calloc(cap, sizeof(*cards));

	if (cards == NULL)
		return false;
	for (size_t i = 0; i < r->cap; i++) {
		card *c = &r->cards[i];
		size_t j;

		if (c->id == NULL)
			continue;
		for (j = c->hash & (cap - 1); cards[j].id != NULL;
		    j = (j + 1) & (cap - 1))
			;
		cards[j] = *c;
	}
	free(r->cards);
	r->cards = cards;
	r->cap = cap;
	return true;
}

/* The card of this id, made (never reviewed) when new; NULL if no memory. */
static card *
card_get(replay *r, const char *id, size_t n)
{
	uint64_t h = hash_id(id, n);
	size_t i, mask;

	/* Linear probing stays short below a load of 0.7. */
	if ((r->count + 1) * 10 > r->cap * 7 && !table_grow(r))
		return NULL;
	mask = r->cap - 1;
	for (i = h & mask;; i = (i + 1) & mask) {
		card *c = &r->cards[i];

		if (c->id == NULL) {
			if ((c->id = arena_copy(r, id, n)) == NULL)
				return NULL;
			c->hash = h;
			c->idlen = (uint32_t)n;
			r->count++;
			return c;
		}
		if (c->hash == h && c->idlen == n && memcmp(c->id, id, n) == 0)
			return c;
	}
}

static bool
digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

static bool
leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to a proleptic Gregorian date of year 0..9999. */
static int64_t
days_from_civil(int y, int m, int d)
{
	static const int before[12] = { 0, 31, 59, 90, 120, 151, 181, 212,
	    243, 273, 304, 334 };
	/* Count from year -400 so every division is of a positive number. */
	int64_t yy = (int64_t)y - 1 + 400;
	int64_t days = 365 * yy + yy / 4 - yy / 100 + yy / 400;

	days += before[m - 1] + (m > 2 && leap_year(y)) + d - 1;
	return days - 146097 - 719162;	/* 400 years, 0001-01-01 to 1970 */
}

/*
 * review_time: integer Unix seconds, or ISO 8601 as
 * YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM|+HHMM|-HHMM).
 */
bool
replay_parse_time(const char *s, size_t len, int64_t *sec, int32_t *nsec)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	size_t i;

	if (len == 0)
		return false;
	i = s[0] == '-';
	if (len > i && len - i <= 12) {
		int64_t v = 0;
		size_t k;

		for (k = i; k < len && s[k] >= '0' && s[k] <= '9'; k++)
			v = v * 10 + (s[k] - '0');
		if (k == len) {
			*sec = i ? -v : v;
			*nsec = 0;
			return true;
		}
	}

	if (len < 20 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
	    s[16] != ':' || !digits(s + 17, 2, &se))
		return false;
	i = 19;
	*nsec = 0;
	if (s[i] == '.' || s[i] == ',') {
		int n = 0;

		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++)
			if (n < 9)
				*nsec = *nsec * 10 + (s[i] - '0');
		if (n == 0)
			return false;
		for (; n < 9; n++)
			*nsec *= 10;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z'))
		i++;
	else if (i < len && (s[i] == '+' || s[i] == '-')) {
		sign = s[i] == '+' ? 1 : -1;
		if (len - i == 6 && digits(s + i + 1, 2, &oh) &&
		    s[i + 3] == ':' && digits(s + i + 4, 2, &om))
			i += 6;
		else if (len - i == 5 && digits(s + i + 1, 2, &oh) &&
		    digits(s + i + 3, 2, &om))
			i += 5;
		else
			return false;
	} else
		return false;
	if (i != len)
		return false;
	if (mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap_year(y)) ||
	    h > 23 || mi > 59 || se > 59 || oh > 23 || om > 59)
		return false;
	*sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
	    sign * (oh * 3600 + om * 60);
	return true;
}

static bool
flush_out(replay *r)
{
	if (r->olen > 0 && fwrite(r->obuf, 1, r->olen, r->out) != r->olen) {
		fail(r, REPLAY_EIO, "write error: %s", strerror(errno));
		r->olen = 0;
		return false;
	}
	r->olen = 0;
	return true;
}

static size_t
put_uint(char *p, uint64_t v)
{
	char tmp[24];
	size_t n = 0, k;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (k = 0; k < n; k++)
		p[k] = tmp[n - 1 - k];
	return n;
}

/*
 * The shortest decimal that reads back as x. The reference rounds nearly
 * every value to 8 decimals, so try that exactly first (the decimal k/1e8
 * reads back as the double nearest to it, which is x), then printf.
 */
static size_t
put_double(char *p, double x)
{
	char tmp[32];
	int prec, n = 0;

	if (x == 0) {
		*p = '0';
		return 1;
	}
	if (x > 0 && x < 1e7) {
		double k = floor(x * 1e8 + 0.5);

		if (k / 1e8 == x) {
			uint64_t ki = (uint64_t)k;
			uint64_t frac = ki % 100000000;
			size_t len = put_uint(p, ki / 100000000);

			if (frac != 0) {
				int last = 8;

				p[len++] = '.';
				while (frac % 10 == 0) {
					frac /= 10;
					last--;
				}
				for (int i = last - 1; i >= 0; i--) {
					p[len + (size_t)i] = (char)('0' + frac % 10);
					frac /= 10;
				}
				len += (size_t)last;
			}
			return len;
		}
	}
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, x);
		if (prec == 17 || strtod(tmp, NULL) == x)
			break;
	}
	memcpy(p, tmp, (size_t)n);
	return (size_t)n;
}

/* card_id as a CSV field: quoted only when it has to be. */
static size_t
put_id(char *p, const char *s, size_t n)
{
	size_t len = 0;
	bool quote = n > 0 && (s[0] == ' ' || s[0] == '\t' ||
	    s[n - 1] == ' ' || s[n - 1] == '\t');

	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' ||
		    s[i] == '\r';
	if (!quote) {
		memcpy(p, s, n);
		return n;
	}
	p[len++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			p[len++] = '"';
		p[len++] = s[i];
	}
	p[len++] = '"';
	return len;
}

static void
store(char *dst, size_t cap, size_t *len, bool *toolong, const void *s,
    size_t n)
{
	*toolong = n > cap;
	*len = n > cap ? cap : n;
	if (*len > 0)
		memcpy(dst, s, *len);
}

static void
on_field(void *s, size_t n, void *data)
{
	replay *r = data;

	if (r->status != REPLAY_OK)
		return;
	switch (r->nfields) {
	case 0:
		store(r->id, sizeof(r->id), &r->idlen, &r->id_long, s, n);
		break;
	case 1:
		store(r->time, sizeof(r->time), &r->timelen, &r->time_long, s,
		    n);
		break;
	case 2:
		store(r->rating, sizeof(r->rating), &r->ratinglen,
		    &r->rating_long, s, n);
		break;
	}
	r->nfields++;
}

static bool
field_is(const char *f, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(f, want, n) == 0;
}

static void
check_header(replay *r)
{
	const char *id = r->id;
	size_t idlen = r->idlen;

	/* A UTF-8 byte order mark, as spreadsheets write. */
	if (idlen >= 3 && memcmp(id, "\xef\xbb\xbf", 3) == 0) {
		id += 3;
		idlen -= 3;
	}
	if (r->nfields != 3 || !field_is(id, idlen, "card_id") ||
	    !field_is(r->time, r->timelen, "review_time") ||
	    !field_is(r->rating, r->ratinglen, "rating")) {
		fail(r, REPLAY_EINPUT, "line %llu: bad header: expected %s",
		    r->row_line, in_header);
		return;
	}
	r->header_done = true;
	memcpy(r->obuf + r->olen, out_header, sizeof(out_header) - 1);
	r->olen += sizeof(out_header) - 1;
}

static void
review_row(replay *r)
{
	unsigned long long line = r->row_line;
	int64_t sec;
	int32_t nsec;
	uint32_t elapsed = 0, ivl;
	double R = 0;
	card *c;
	char *p;

	if (r->nfields != 3) {
		fail(r, REPLAY_EINPUT, "line %llu: expected 3 columns (%s), "
		    "got %zu", line, in_header, r->nfields);
		return;
	}
	if (r->id_long) {
		fail(r, REPLAY_EINPUT, "line %llu: card_id longer than %d "
		    "bytes", line, REPLAY_MAX_CARD_ID);
		return;
	}
	if (r->idlen == 0) {
		fail(r, REPLAY_EINPUT, "line %llu: empty card_id", line);
		return;
	}
	if (r->time_long || !replay_parse_time(r->time, r->timelen, &sec, &nsec)) {
		fail(r, REPLAY_EINPUT, "line %llu: bad review_time \"%.*s\": "
		    "expected ISO 8601 UTC such as 2025-03-01T21:11:08Z, or "
		    "Unix seconds", line, (int)r->timelen, r->time);
		return;
	}
	if (r->rating_long || r->ratinglen != 1 || r->rating[0] < '1' ||
	    r->rating[0] > '4') {
		fail(r, REPLAY_EINPUT, "line %llu: bad rating \"%.*s\": "
		    "expected 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy)", line,
		    (int)r->ratinglen, r->rating);
		return;
	}
	if ((c = card_get(r, r->id, r->idlen)) == NULL) {
		fail(r, REPLAY_EIO, "out of memory after %zu cards", r->count);
		return;
	}
	if (c->st.reps > 0) {
		if (sec < c->last_sec ||
		    (sec == c->last_sec && nsec < c->last_nsec)) {
			fail(r, REPLAY_EINPUT, "line %llu: review_time %.*s of "
			    "card \"%.*s\" is before that card's previous "
			    "review", line, (int)r->timelen, r->time,
			    (int)(r->idlen > 64 ? 64 : r->idlen), r->id);
			return;
		}
		elapsed = (uint32_t)fsrs_utc_day_diff(c->last_sec, sec);
		R = fsrs_retrievability(r->m, c->st.stability, elapsed);
	}
	fsrs_review(r->m, &c->st, elapsed, (fsrs_rating)(r->rating[0] - '0'),
	    &ivl);
	c->last_sec = sec;
	c->last_nsec = nsec;

	if (r->olen + ROW_MAX > sizeof(r->obuf) && !flush_out(r))
		return;
	p = r->obuf + r->olen;
	p += put_id(p, r->id, r->idlen);
	*p++ = ',';
	memcpy(p, r->time, r->timelen);
	p += r->timelen;
	*p++ = ',';
	*p++ = r->rating[0];
	*p++ = ',';
	p += put_uint(p, elapsed);
	*p++ = ',';
	p += put_double(p, R);
	*p++ = ',';
	p += put_double(p, c->st.stability);
	*p++ = ',';
	p += put_double(p, c->st.difficulty);
	*p++ = ',';
	p += put_uint(p, ivl);
	*p++ = '\n';
	r->olen = (size_t)(p - r->obuf);
}

static void
on_row(int term, void *data)
{
	replay *r = data;

	(void)term;
	if (r->status == REPLAY_OK) {
		if (!r->header_done)
			check_header(r);
		else
			review_row(r);
	}
	r->row_open = false;
	r->nfields = 0;
	r->idlen = r->timelen = r->ratinglen = 0;
	r->id_long = r->time_long = r->rating_long = false;
}

static void
csv_failed(replay *r, struct csv_parser *p)
{
	if (csv_error(p) == CSV_EPARSE)
		fail(r, REPLAY_EINPUT, "line %llu: malformed CSV: a quote "
		    "inside an unquoted field, text after a closing quote, or "
		    "a quote never closed", r->line);
	else
		fail(r, REPLAY_EIO, "line %llu: %s", r->line,
		    csv_strerror(csv_error(p)));
}

/* Feed a chunk to libcsv a line at a time, counting lines. */
static void
feed(replay *r, struct csv_parser *p, const char *buf, size_t n)
{
	const char *s = buf, *end = buf + n;

	while (s < end && r->status == REPLAY_OK) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = (size_t)((nl != NULL ? nl + 1 : end) - s);

		/* libcsv skips blank lines: a row begins at the first other. */
		for (size_t i = 0; i < len && !r->row_open; i++)
			if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
			    s[i] != '\n') {
				r->row_open = true;
				r->row_line = r->line;
			}
		if (csv_parse(p, s, len, on_field, on_row, r) != len) {
			csv_failed(r, p);
			return;
		}
		if (csv_get_buffer_size(p) > FIELD_MAX) {
			fail(r, REPLAY_EINPUT, "line %llu: field longer than "
			    "%d bytes", r->line, FIELD_MAX);
			return;
		}
		if (nl != NULL)
			r->line++;
		s += len;
	}
}

int
replay_stream(FILE *in, FILE *out, const replay_opts *o, char *err,
    size_t errlen)
{
	struct csv_parser p;
	bool csv_ready = false;
	fsrs_model *m;
	replay *r = NULL;
	char *buf = NULL;
	int status;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((m = fsrs_model_new(o->w, o->retention, o->max_interval, err,
	    errlen)) == NULL)
		return REPLAY_EINPUT;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (buf = malloc(IN_CHUNK)) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "out of memory");
		status = REPLAY_EIO;
		goto done;
	}
	r->m = m;
	r->out = out;
	r->err = err;
	r->errlen = errlen;
	r->line = 1;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		fail(r, REPLAY_EIO, "out of memory");
		goto finish;
	}
	csv_ready = true;

	while (r->status == REPLAY_OK) {
		size_t n = fread(buf, 1, IN_CHUNK, in);

		if (n == 0) {
			if (ferror(in))
				fail(r, REPLAY_EIO, "read error: %s",
				    strerror(errno));
			break;
		}
		feed(r, &p, buf, n);
	}
	if (r->status == REPLAY_OK && csv_fini(&p, on_field, on_row, r) != 0)
		fail(r, REPLAY_EINPUT, "line %llu: malformed CSV: a quoted "
		    "field never closed", r->row_line);
	if (r->status == REPLAY_OK && !r->header_done)
		fail(r, REPLAY_EINPUT, "empty input: expected the header %s",
		    in_header);
finish:
	/* Rows before an error are good: let them out. */
	if (flush_out(r) && fflush(out) == EOF)
		fail(r, REPLAY_EIO, "write error: %s", strerror(errno));
	status = r->status;
done:
	if (csv_ready)
		csv_free(&p);
	if (r != NULL) {
		while (r->arena != NULL) {
			arena_chunk *next = r->arena->next;

			free(r->arena);
			r->arena = next;
		}
		free(r->cards);
		free(r);
	}
	free(buf);
	fsrs_model_free(m);
	return status;
}

static void
usage(FILE *fp)
{
	fputs(
"usage: recalld replay [OPTIONS] [FILE]\n"
"\n"
"Replays a reviews CSV (FILE, or standard input) through FSRS-6 and writes\n"
"one row per review to standard output, in input order.\n"
"\n"
"input:  card_id,review_time,rating\n"
"        review_time: ISO 8601 UTC such as 2025-03-01T21:11:08Z (fractional\n"
"        seconds and +00:00 allowed) or integer Unix seconds; rating 1 Again,\n"
"        2 Hard, 3 Good, 4 Easy. Cards may interleave; each card's rows in\n"
"        time order.\n"
"output: card_id,review_time,rating,elapsed_days,retrievability,stability,\n"
"        difficulty,interval_days\n"
"        elapsed_days: UTC calendar days since the card's previous review\n"
"        (0 for its first), counted as ts-fsrs counts them; retrievability:\n"
"        predicted recall just before the review (0 for a first review);\n"
"        stability (days), difficulty (1..10) and interval (days) after it.\n"
"\n"
"options:\n"
"  --retention R        desired retention, 0 < R < 1 (default 0.9)\n"
"  --params W0,...,W20  the 21 FSRS-6 parameters (19 of FSRS-5 or 17 of\n"
"                       FSRS-4.5 are migrated; default: the reference's)\n"
"  --max-interval DAYS  longest interval in days, >= 1 (default 36500)\n"
"  -h, --help           this help\n"
"\n"
"Exit status: 0 done; 1 a read or write error; 2 a bad option or a bad\n"
"input row (the message names its line).\n", fp);
}

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("recalld replay: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(see recalld replay --help)\n", stderr);
	return REPLAY_EINPUT;
}

/*
 * Is argv[*i] the option name, as "--name VALUE" or "--name=VALUE"? Sets
 * *val to the value (NULL when missing) and moves *i past it.
 */
static bool
option(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return false;
	if (a[n] == '=') {
		*val = a + n + 1;
		return true;
	}
	if (a[n] != '\0')
		return false;
	*val = *i + 1 < argc ? argv[++*i] : NULL;
	return true;
}

int
replay_main(int argc, char **argv)
{
	replay_opts o;
	const char *path = NULL, *val;
	FILE *in = stdin;
	char err[512];
	int i, status;

	replay_opts_init(&o);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *end;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return REPLAY_OK;
		}
		if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("recalld %s\n", PACKAGE_VERSION);
			return REPLAY_OK;
		}
		if (option(argc, argv, &i, "--retention", &val)) {
			if (val == NULL)
				return usage_error("--retention needs a value");
			errno = 0;
			o.retention = strtod(val, &end);
			if (end == val || *end != '\0' || errno != 0)
				return usage_error("--retention: \"%s\" is not "
				    "a number", val);
		} else if (option(argc, argv, &i, "--max-interval", &val)) {
			long v;

			if (val == NULL)
				return usage_error("--max-interval needs a "
				    "value");
			errno = 0;
			v = strtol(val, &end, 10);
			if (end == val || *end != '\0' || errno != 0 ||
			    v < 1 || v > INT_MAX)
				return usage_error("--max-interval: \"%s\" is "
				    "not a whole number of days >= 1", val);
			o.max_interval = (int)v;
		} else if (option(argc, argv, &i, "--params", &val)) {
			if (val == NULL)
				return usage_error("--params needs a value");
			if (!fsrs_params_parse(val, o.w, err, sizeof(err)))
				return usage_error("--params: %s", err);
		} else if (a[0] == '-' && a[1] != '\0')
			return usage_error("unknown option %s", a);
		else
			break;
	}
	if (i < argc)
		path = argv[i++];
	if (i < argc)
		return usage_error("one input file at most, got %s "
		    "too", argv[i]);

	/* Options first, so that their errors do not name the file. */
	fsrs_model *m = fsrs_model_new(o.w, o.retention, o.max_interval, err,
	    sizeof(err));
	if (m == NULL)
		return usage_error("%s", err);
	fsrs_model_free(m);

	if (path != NULL && strcmp(path, "-") != 0 &&
	    (in = fopen(path, "r")) == NULL) {
		fprintf(stderr, "recalld replay: %s: %s\n", path,
		    strerror(errno));
		return REPLAY_EIO;
	}
	status = replay_stream(in, stdout, &o, err, sizeof(err));
	if (in != stdin)
		fclose(in);
	if (status != REPLAY_OK) {
		if (path != NULL && strcmp(path, "-") != 0)
			fprintf(stderr, "recalld replay: %s: %s\n", path, err);
		else
			fprintf(stderr, "recalld replay: %s\n", err);
	}
	return status;
}
