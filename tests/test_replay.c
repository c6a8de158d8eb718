/*
 * test_replay.c: `recalld replay` (daemon/replay.c): good input, every kind
 * of bad row (exit 2, the message names the line), interleaved cards, Unix
 * seconds against ISO 8601, and the reference's numbers from
 * tests/data/fsrs_vectors.csv replayed through the CSV path.
 */
#define _POSIX_C_SOURCE 200809L

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cktest.h"
#include "replay.h"

#define OUT_HEADER "card_id,review_time,rating,elapsed_days,retrievability," \
    "stability,difficulty,interval_days\n"

static char err[1024];

/* Replay input (a C string) with o (NULL: defaults); *out gets the output. */
static int
run(const char *input, const replay_opts *o, char **out)
{
	replay_opts def;
	FILE *in, *fo;
	size_t outlen;
	int status;

	if (o == NULL) {
		replay_opts_init(&def);
		o = &def;
	}
	/* fmemopen of zero bytes is not portable: an empty tmpfile instead. */
	if (input[0] == '\0')
		in = tmpfile();
	else
		in = fmemopen((void *)input, strlen(input), "r");
	ck_assert(in != NULL);
	fo = open_memstream(out, &outlen);
	ck_assert(fo != NULL);
	err[0] = '\0';
	status = replay_stream(in, fo, o, err, sizeof(err));
	fclose(fo);
	fclose(in);
	return status;
}

/* Count the lines of s. */
static int
lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* Field k (0-based) of line l (0-based, the header is 0) of a CSV text. */
static char *
field(const char *s, int l, int k, char *buf, size_t len)
{
	size_t n = 0;

	for (; l > 0; l--) {
		s = strchr(s, '\n');
		ck_assert(s != NULL);
		s++;
	}
	for (; k > 0; k--) {
		s += strcspn(s, ",\n");
		ck_assert(*s == ',');
		s++;
	}
	while (s[n] != ',' && s[n] != '\n' && s[n] != '\0')
		n++;
	ck_assert(n < len);
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

static double
num(const char *s, int l, int k)
{
	char buf[128];

	return strtod(field(s, l, k, buf, sizeof(buf)), NULL);
}

START_TEST(test_good)
{
	char *out = NULL, buf[128];
	const double *w = fsrs_default_params();

	ck_assert_int_eq(run("card_id,review_time,rating\n"
	    "q1,2025-03-01T21:11:08Z,3\n"
	    "q1,2025-03-04T08:00:00Z,3\n"
	    "q1,2025-03-04T09:00:00Z,1\n", NULL, &out), REPLAY_OK);
	ck_assert_msg(strncmp(out, OUT_HEADER, strlen(OUT_HEADER)) == 0, "%s",
	    out);
	ck_assert_int_eq(lines(out), 4);
	/* Echoed as given. */
	ck_assert_str_eq(field(out, 1, 0, buf, sizeof(buf)), "q1");
	ck_assert_str_eq(field(out, 1, 1, buf, sizeof(buf)),
	    "2025-03-01T21:11:08Z");
	ck_assert_str_eq(field(out, 1, 2, buf, sizeof(buf)), "3");
	/* First review: nothing elapsed, nothing to recall, S = w2. */
	ck_assert(num(out, 1, 3) == 0);
	ck_assert(num(out, 1, 4) == 0);
	ck_assert(num(out, 1, 5) == w[2]);
	ck_assert(num(out, 1, 6) >= 1 && num(out, 1, 6) <= 10);
	ck_assert(num(out, 1, 7) >= 1);
	/* Three UTC calendar days later. */
	ck_assert(num(out, 2, 3) == 3);
	ck_assert(num(out, 2, 4) > 0.5 && num(out, 2, 4) < 1);
	ck_assert(num(out, 2, 5) > w[2]);
	/* The same day: R = 1, and a lapse. */
	ck_assert(num(out, 3, 3) == 0);
	ck_assert(num(out, 3, 4) == 1);
	ck_assert(num(out, 3, 5) <= num(out, 2, 5));
	free(out);

	/* Header only: header out, nothing else. */
	ck_assert_int_eq(run("card_id,review_time,rating\n", NULL, &out),
	    REPLAY_OK);
	ck_assert_str_eq(out, OUT_HEADER);
	free(out);

	/* CRLF, a byte order mark, blank lines, no final newline. */
	ck_assert_int_eq(run("\xef\xbb\xbf" "card_id,review_time,rating\r\n"
	    "\r\na,1740863468,4\r\n\r\n"
	    "a,1740963468,2", NULL, &out), REPLAY_OK);
	ck_assert_int_eq(lines(out), 3);
	ck_assert(num(out, 2, 3) == 2);
	free(out);
}
END_TEST

/* The message of a bad input names the line and says what is wrong. */
static void
assert_bad(const char *input, const char *want_line, const char *want)
{
	char *out = NULL;

	ck_assert_int_eq(run(input, NULL, &out), REPLAY_EINPUT);
	ck_assert_msg(strstr(err, want_line) == err, "\"%s\" does not start "
	    "with \"%s\"", err, want_line);
	ck_assert_msg(strstr(err, want) != NULL, "\"%s\" lacks \"%s\"", err,
	    want);
	free(out);
}

#define H "card_id,review_time,rating\n"

START_TEST(test_bad_rows)
{
	char *out = NULL;

	assert_bad("", "empty input", "card_id,review_time,rating");
	assert_bad("card,review_time,rating\n", "line 1:", "bad header");
	assert_bad("card_id,review_time\n", "line 1:", "bad header");
	assert_bad("card_id,review_time,rating,x\n", "line 1:", "bad header");
	assert_bad("a,2025-03-01T21:11:08Z,3\n", "line 1:", "bad header");

	assert_bad(H "a,1,3\na,2\n", "line 3:", "expected 3 columns");
	assert_bad(H "a,1,3\n\na,2,3,4\n", "line 4:", "got 4");
	assert_bad(H ",1,3\n", "line 2:", "empty card_id");

	const char *bad_times[] = {
		"yesterday", "", "2025-03-01", "2025-03-01T21:11:08",
		"2025-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
		"2024-04-31T00:00:00Z", "2025-03-01T24:00:00Z",
		"2025-03-01T23:60:00Z", "2025-03-01T23:59:60Z",
		"2025-03-01T21:11:08.Z", "2025-03-01T21:11:08+0:00",
		"2025-03-01T21:11:08ZZ", "2025-3-01T21:11:08Z", "1.5", "12a",
		"-", "+5", "1740863468000000",
	};
	for (size_t i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++) {
		char input[256];

		snprintf(input, sizeof(input), H "a,1,3\nb,%s,3\n",
		    bad_times[i]);
		assert_bad(input, "line 3:", "bad review_time");
	}

	const char *bad_ratings[] = { "0", "5", "", "3.0", "Good", "33", "-1" };
	for (size_t i = 0; i < sizeof(bad_ratings) / sizeof(bad_ratings[0]);
	    i++) {
		char input[256];

		snprintf(input, sizeof(input), H "a,1,%s\n", bad_ratings[i]);
		assert_bad(input, "line 2:", "bad rating");
	}

	/* Back in time, by a day or by a millisecond; equal is fine. */
	assert_bad(H "a,2025-03-02T00:00:00Z,3\nb,1,3\n"
	    "a,2025-03-01T00:00:00Z,3\n", "line 4:", "card \"a\"");
	assert_bad(H "a,2025-03-02T00:00:00.002Z,3\n"
	    "a,2025-03-02T00:00:00.001Z,3\n", "line 3:", "before");
	assert_bad(H "a,100,3\na,100,3\na,99,3\n", "line 4:", "before");

	/* Broken quoting. */
	assert_bad(H "a,1,3\na\"b,1,3\n", "line 3:", "malformed CSV");
	assert_bad(H "\"a\"b,1,3\n", "line 2:", "malformed CSV");
	assert_bad(H "a,1,3\n\"a,1,3\n", "line 3:", "quoted field");

	/* Too long. */
	char *big = malloc(REPLAY_MAX_CARD_ID + 64);
	ck_assert(big != NULL);
	strcpy(big, H);
	memset(big + strlen(H), 'x', REPLAY_MAX_CARD_ID + 1);
	strcpy(big + strlen(H) + REPLAY_MAX_CARD_ID + 1, ",1,3\n");
	assert_bad(big, "line 2:", "card_id longer than");
	free(big);

	/* The rows before a bad one are out, the rest are not. */
	ck_assert_int_eq(run(H "a,1,3\nb,2,3\nc,3,9\nd,4,3\n", NULL, &out),
	    REPLAY_EINPUT);
	ck_assert_int_eq(lines(out), 3);
	free(out);

	/* Bad options. */
	replay_opts o;
	replay_opts_init(&o);
	o.retention = 1;
	ck_assert_int_eq(run(H, &o, &out), REPLAY_EINPUT);
	ck_assert(strstr(err, "retention") != NULL);
	free(out);
	replay_opts_init(&o);
	o.max_interval = 0;
	ck_assert_int_eq(run(H, &o, &out), REPLAY_EINPUT);
	ck_assert(strstr(err, "maximum interval") != NULL);
	free(out);
	replay_opts_init(&o);
	o.w[9] = NAN;
	ck_assert_int_eq(run(H, &o, &out), REPLAY_EINPUT);
	ck_assert(strstr(err, "w[9]") != NULL);
	free(out);
}
END_TEST

START_TEST(test_interleaved)
{
	char *out = NULL, *alone = NULL;

	/* b's first review comes between a's: it starts from nothing. */
	ck_assert_int_eq(run(H "a,2025-03-01T10:00:00Z,3\n"
	    "b,2025-03-02T10:00:00Z,1\n"
	    "a,2025-03-05T10:00:00Z,3\n"
	    "b,2025-03-06T10:00:00Z,3\n"
	    "\"a,b\",2025-03-06T11:00:00Z,2\n"
	    "a,2025-03-20T10:00:00Z,4\n", NULL, &out), REPLAY_OK);
	ck_assert_int_eq(lines(out), 7);
	ck_assert(num(out, 2, 3) == 0 && num(out, 2, 4) == 0);
	ck_assert(num(out, 3, 3) == 4);
	ck_assert(num(out, 4, 3) == 4);
	ck_assert(num(out, 6, 3) == 15);
	/* An id that needs quoting is quoted again on the way out. */
	ck_assert(strstr(out, "\n\"a,b\",2025-03-06T11:00:00Z,2,0,0,") != NULL);

	/* Card a alone gives the same rows for a. */
	ck_assert_int_eq(run(H "a,2025-03-01T10:00:00Z,3\n"
	    "a,2025-03-05T10:00:00Z,3\n"
	    "a,2025-03-20T10:00:00Z,4\n", NULL, &alone), REPLAY_OK);
	char l1[256], l2[256];
	for (int i = 0; i < 3; i++) {
		static const int rows[] = { 1, 3, 6 };
		const char *s = out, *t = alone;

		for (int k = 0; k < rows[i]; k++)
			s = strchr(s, '\n') + 1;
		for (int k = 0; k < i + 1; k++)
			t = strchr(t, '\n') + 1;
		snprintf(l1, sizeof(l1), "%.*s", (int)strcspn(s, "\n"), s);
		snprintf(l2, sizeof(l2), "%.*s", (int)strcspn(t, "\n"), t);
		ck_assert_str_eq(l1, l2);
	}
	free(out);
	free(alone);
}
END_TEST

START_TEST(test_unix_vs_iso)
{
	char *a = NULL, *b = NULL, *c = NULL;

	/*
	 * The same instants: 2025-03-01T23:59:59Z, 2025-03-02T00:00:00Z
	 * (a new UTC day, 1 second later), 2025-03-09T12:00:00Z, then
	 * 1969-12-31T23:59:59Z to 1970-01-01T00:00:00Z for a second card.
	 */
	ck_assert_int_eq(run(H "a,1740873599,3\na,1740873600,3\n"
	    "a,1741521600,2\nb,-1,3\nb,0,3\n", NULL, &a), REPLAY_OK);
	ck_assert_int_eq(run(H "a,2025-03-01T23:59:59Z,3\n"
	    "a,2025-03-02T00:00:00.000+00:00,3\n"
	    "a,2025-03-09T13:30:00+01:30,2\n"
	    "b,1969-12-31T23:59:59Z,3\nb,1970-01-01t00:00:00z,3\n", NULL, &b),
	    REPLAY_OK);
	/* Offsets move the instant, and so the UTC day. */
	ck_assert_int_eq(run(H "a,2025-03-01T23:59:59.999999Z,3\n"
	    "a,2025-03-01T23:00:00-01:00,3\n"
	    "a,2025-03-09T09:00:00-0300,2\n"
	    "b,1969-12-31 23:59:59Z,3\nb,1970-01-01T01:00:00+0100,3\n", NULL,
	    &c), REPLAY_OK);
	for (int l = 1; l <= 5; l++)
		for (int k = 3; k <= 7; k++) {
			ck_assert_msg(num(a, l, k) == num(b, l, k), "line %d "
			    "column %d", l, k);
			ck_assert_msg(num(a, l, k) == num(c, l, k), "line %d "
			    "column %d", l, k);
		}
	ck_assert(num(a, 2, 3) == 1);	/* one second, one UTC day */
	ck_assert(num(a, 3, 3) == 7);
	ck_assert(num(a, 5, 3) == 1);	/* across 1970 */
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(test_many_cards)
{
	/* Enough cards to grow the table a few times, each seen twice. */
	const int ncards = 30000;
	size_t cap = (size_t)ncards * 2 * 40 + 64, len;
	char *in = malloc(cap), *out = NULL;

	ck_assert(in != NULL);
	len = (size_t)snprintf(in, cap, H);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < ncards; i++)
			len += (size_t)snprintf(in + len, cap - len,
			    "card-%d,%d,%d\n", i, 1000000 + pass * 86400 * 3 + i,
			    1 + (i + pass) % 4);
	ck_assert_int_eq(run(in, NULL, &out), REPLAY_OK);
	ck_assert_int_eq(lines(out), 1 + 2 * ncards);
	/* Each card's second row found its first. */
	ck_assert(num(out, ncards + 1, 3) == 3);
	ck_assert(num(out, 2 * ncards, 3) == 3);
	ck_assert(num(out, 2 * ncards, 4) > 0);
	free(in);
	free(out);
}
END_TEST

/* The reference's vectors, through the CSV path, one parameter set a run. */
START_TEST(test_vectors)
{
	const char *srcdir = getenv("srcdir");
	char path[4096], line[8192];
	FILE *fp;
	size_t cap = 1 << 20, len = 0, nrows = 0, checked = 0;
	char *in = malloc(cap), *want = malloc(cap), *out = NULL;
	size_t wantlen = 0;
	int set = -1;
	replay_opts o;

	ck_assert(in != NULL && want != NULL);
	snprintf(path, sizeof(path), "%s/tests/data/fsrs_vectors.csv",
	    srcdir != NULL ? srcdir : ".");
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	for (;;) {
		bool more = fgets(line, sizeof(line), fp) != NULL;
		int rset = -1;

		if (more && line[0] == 'R')
			rset = atoi(line + 2);
		/* A set ends: replay it and compare. */
		if (set >= 0 && rset != set && (!more || line[0] != '#')) {
			int status = run(in, &o, &out);

			ck_assert_msg(status == REPLAY_OK, "set %d: %s", set,
			    err);
			ck_assert_int_eq(lines(out), (int)nrows + 1);
			const char *s = strchr(out, '\n') + 1, *t = want;
			for (size_t i = 0; i < nrows; i++) {
				double g[5], v[5];
				unsigned long long gc, vc;

				ck_assert(sscanf(s, "%llu,%*[^,],%*d,%lf,%lf,%lf,"
				    "%lf,%lf", &gc, &g[0], &g[1], &g[2], &g[3],
				    &g[4]) == 6);
				ck_assert(sscanf(t, "%llu,%lf,%lf,%lf,%lf,%lf",
				    &vc, &v[0], &v[1], &v[2], &v[3], &v[4]) == 6);
				ck_assert(gc == vc);
				for (int k = 0; k < 5; k++)
					ck_assert_msg(g[k] == v[k] || fabs(g[k] -
					    v[k]) <= 1e-6 * fabs(v[k]),
					    "set %d card %llu column %d: %.17g, "
					    "reference %.17g", set, vc, k + 3,
					    g[k], v[k]);
				s = strchr(s, '\n') + 1;
				t = strchr(t, '\n') + 1;
				checked++;
			}
			free(out);
			set = -1;
		}
		if (!more)
			break;
		if (line[0] == 'P') {
			double given[FSRS_NPARAMS];
			size_t n = 0;
			char *p = line + 2, *end, e[256];

			/* P,set,retention,max_interval,given_w,effective_w */
			set = (int)strtol(p, &p, 10);
			replay_opts_init(&o);
			o.retention = strtod(p + 1, &p);
			o.max_interval = (int)strtol(p + 1, &p, 10);
			p++;
			while (n < FSRS_NPARAMS &&
			    (given[n] = strtod(p, &end), end != p)) {
				n++;
				p = end;
			}
			ck_assert_msg(fsrs_params_from(given, n, o.w, e,
			    sizeof(e)), "%s", e);
			len = wantlen = nrows = 0;
			len += (size_t)snprintf(in, cap, H);
		} else if (line[0] == 'R') {
			long card;
			long long t;
			int rating;
			unsigned elapsed, ivl;
			double r, s, d;

			ck_assert(sscanf(line, "R,%*d,%ld,%lld,%d,%u,%lf,%lf,%lf,"
			    "%u", &card, &t, &rating, &elapsed, &r, &s, &d,
			    &ivl) == 8);
			ck_assert(len + 128 < cap && wantlen + 256 < cap);
			len += (size_t)snprintf(in + len, cap - len,
			    "%ld,%lld,%d\n", card, t, rating);
			wantlen += (size_t)snprintf(want + wantlen,
			    cap - wantlen, "%ld,%u,%.17g,%.17g,%.17g,%u\n", card,
			    elapsed, r, s, d, ivl);
			nrows++;
		}
	}
	fclose(fp);
	ck_assert_uint_ge(checked, 1000);
	free(in);
	free(want);
}
END_TEST

START_TEST(test_main_options)
{
	char *bad[][6] = {
		{ "replay", "--retention", "abc", NULL },
		{ "replay", "--retention", NULL },
		{ "replay", "--retention=1.5", "/dev/null", NULL },
		{ "replay", "--max-interval", "0", NULL },
		{ "replay", "--max-interval", "12.5", NULL },
		{ "replay", "--params", "1,2,3", NULL },
		{ "replay", "--params=0.2,x", NULL },
		{ "replay", "--bogus", NULL },
		{ "replay", "a.csv", "b.csv", NULL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int argc = 0;

		while (bad[i][argc] != NULL)
			argc++;
		ck_assert_msg(replay_main(argc, bad[i]) == REPLAY_EINPUT,
		    "case %zu", i);
	}
	char *missing[] = { "replay", "/nonexistent/reviews.csv", NULL };
	ck_assert_int_eq(replay_main(2, missing), REPLAY_EIO);
	char *empty[] = { "replay", "--retention", "0.85", "--max-interval",
	    "365", "/dev/null", NULL };
	ck_assert_int_eq(replay_main(6, empty), REPLAY_EINPUT);	/* no header */
}
END_TEST

static Suite *
replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("replay");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_bad_rows);
	tcase_add_test(tc, test_interleaved);
	tcase_add_test(tc, test_unix_vs_iso);
	tcase_add_test(tc, test_many_cards);
	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_main_options);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int failed;

	failed = cktest_run(replay_suite());
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
