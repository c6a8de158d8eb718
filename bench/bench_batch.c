/*
 * bench_batch.c: daily batch selection throughput (not run by CI).
 *
 *   bench_batch [pupils [candidates]]	defaults 100000 x 300
 *
 * Candidates come from a fixed-seed PRNG, a chunk of pupils at a time, so
 * every pupil is distinct while memory stays small; only batch_select is
 * timed. Two mixes: "school" (12 units of 25 questions taught over the
 * last 200 days, 90% reviewed, a minority due, one pupil in five with an
 * exam in 40 days) and "overdue" (every candidate due: the worst case for
 * the ordering). Target: >= 1,000,000 pupils per minute.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L	/* clock_gettime */
#endif

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "batch.h"
#include "fsrs.h"

#define TODAY 20000
#define CHUNK 1000

/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static void
gen_pupil(uint64_t *rng, const fsrs_model *m, bool overdue,
    batch_candidate *c, size_t n)
{
	/* One pupil in five has course 1's exam in 40 days. */
	bool exam = rng_unit(rng) < 0.2;

	for (size_t i = 0; i < n; i++) {
		uint32_t unit = (uint32_t)(i / 25);
		batch_candidate *q = &c[i];
		double s;

		q->question_id = (int64_t)(1000 + i);
		q->unit_id = unit + 1;
		q->course_id = unit % 3 + 1;
		q->question_order = (int32_t)(i % 25);
		q->taught_day = TODAY - 200 + (int32_t)unit * 16;
		q->exam_day = exam && q->course_id == 1 ? TODAY + 40 :
		    BATCH_NO_DAY;
		q->state = (fsrs_state){ 0 };
		q->last_review_day = q->due_day = 0;
		if (!overdue && rng_unit(rng) < 0.1)
			continue;	/* unseen */
		/* Stabilities from 0.5 to ~200 days, log-uniform. */
		s = 0.5 * exp(rng_unit(rng) * 6.0);
		q->state.stability = s;
		q->state.difficulty = 1.0 + 9.0 * rng_unit(rng);
		q->state.reps = 1 + (uint32_t)(rng_next(rng) % 8);
		if (overdue) {
			q->last_review_day = TODAY - 1 -
			    (int32_t)(rng_next(rng) % 300);
			q->due_day = TODAY - (int32_t)(rng_next(rng) % 30);
		} else {
			uint32_t iv = fsrs_interval(m, s);
			uint64_t spread = iv + iv / 4 + 1;

			/* Reviewed somewhere within its current interval. */
			q->last_review_day = TODAY -
			    (int32_t)(rng_next(rng) % spread);
			q->due_day = q->last_review_day + (int32_t)iv;
		}
	}
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
run(const char *name, bool overdue, size_t pupils, size_t n,
    const fsrs_model *m)
{
	batch_candidate *c = malloc(CHUNK * n * sizeof(*c));
	batch_selector *sel = batch_selector_new();
	batch_settings set = batch_settings_default();
	batch_pick out[5];
	uint64_t rng = 0x7265636c616c6cULL, sum = 0, picks = 0;
	uint64_t reasons[4] = { 0 };
	double elapsed = 0.0;

	if (c == NULL || sel == NULL) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (size_t done = 0; done < pupils; done += CHUNK) {
		size_t k = pupils - done < CHUNK ? pupils - done : CHUNK;
		double t0;

		for (size_t p = 0; p < k; p++)
			gen_pupil(&rng, m, overdue, c + p * n, n);
		t0 = now_sec();
		for (size_t p = 0; p < k; p++) {
			size_t got;

			if (!batch_select(sel, m, &set, TODAY, c + p * n, n,
			    out, 5, &got)) {
				fprintf(stderr, "batch_select failed\n");
				return 1;
			}
			for (size_t i = 0; i < got; i++) {
				sum = sum * 31 + (uint64_t)out[i].question_id;
				reasons[out[i].reason]++;
			}
			picks += got;
		}
		elapsed += now_sec() - t0;
	}
	printf("%-8s %zu pupils x %zu candidates: %.3f s, %.0f pupils/s, "
	    "%.2f M pupils/min, %.2f picks/pupil (due %" PRIu64 ", new %"
	    PRIu64 ", exam %" PRIu64 "), checksum %016" PRIx64 "\n",
	    name, pupils, n, elapsed, pupils / elapsed,
	    pupils / elapsed * 60.0 / 1e6, (double)picks / pupils,
	    reasons[BATCH_DUE], reasons[BATCH_NEW], reasons[BATCH_EXAM], sum);
	batch_selector_free(sel);
	free(c);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t pupils = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 300;
	char err[128];
	fsrs_model *m = fsrs_model_new(NULL, 0.9, 36500, err, sizeof(err));
	int rc;

	if (m == NULL) {
		fprintf(stderr, "fsrs_model_new: %s\n", err);
		return 1;
	}
	if (pupils == 0 || n == 0) {
		fprintf(stderr, "usage: bench_batch [pupils [candidates]]\n");
		return 2;
	}
	rc = run("school", false, pupils, n, m);
	if (rc == 0)
		rc = run("overdue", true, pupils, n, m);
	fsrs_model_free(m);
	return rc;
}
