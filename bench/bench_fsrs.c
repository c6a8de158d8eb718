/*
 * bench_fsrs.c: FSRS-6 next-state updates per second on one core.
 *
 *   bench_fsrs [CARDS [REVIEWS]]     (default 200000 cards x 20 reviews)
 *
 * The workload is made by the same small generator as bench/fsrs_ts_bench.mjs
 * (same seed, same ratings, same elapsed days), so the two figures compare
 * like with like; both print a checksum of the intervals to prove it when
 * run on the same CARDS and REVIEWS. Only fsrs_review is timed. Run by hand
 * or through bench/bench_fsrs.sh, never in CI.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fsrs.h"

/* A counter hashed by a 32-bit finalizer; the .mjs twin matches it. */
static uint32_t
next_u32(uint32_t *s)
{
	uint32_t z;

	*s += 0x9e3779b9u;
	z = *s;
	z = (z ^ (z >> 16)) * 0x85ebca6bu;
	z = (z ^ (z >> 13)) * 0xc2b2ae35u;
	return z ^ (z >> 16);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	long cards = argc > 1 ? atol(argv[1]) : 200000;
	long reviews = argc > 2 ? atol(argv[2]) : 20;
	size_t n = (size_t)cards * (size_t)reviews;
	uint8_t *rating = malloc(n);
	uint32_t *elapsed = malloc(n * sizeof(*elapsed));
	uint32_t seed = 20250301;
	char err[256];
	fsrs_model *m;
	double best = 0;
	uint64_t checksum = 0;

	if (cards < 1 || reviews < 1 || rating == NULL || elapsed == NULL) {
		fprintf(stderr, "usage: bench_fsrs [CARDS [REVIEWS]]\n");
		return 2;
	}
	for (size_t i = 0; i < n; i++) {
		double x = next_u32(&seed) / 4294967296.0;
		double y = next_u32(&seed) / 4294967296.0;

		rating[i] = x < 0.15 ? 1 : x < 0.3 ? 2 : x < 0.85 ? 3 : 4;
		if (i % (size_t)reviews == 0 || y < 0.1)
			elapsed[i] = 0;
		else if (y < 0.7)
			elapsed[i] = 1 + next_u32(&seed) % 30;
		else if (y < 0.95)
			elapsed[i] = 30 + next_u32(&seed) % 370;
		else
			elapsed[i] = 365 + next_u32(&seed) % 3650;
	}
	if ((m = fsrs_model_new(NULL, 0.9, 36500, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_fsrs: %s\n", err);
		return 1;
	}
	/* Best of three: the figure is what the code can do, not the noise. */
	for (int run = 0; run < 3; run++) {
		double t0 = now_s(), t;
		uint64_t sum = 0;
		size_t i = 0;

		for (long c = 0; c < cards; c++) {
			fsrs_state st = { 0 };

			for (long k = 0; k < reviews; k++, i++) {
				uint32_t ivl;

				fsrs_review(m, &st, elapsed[i],
				    (fsrs_rating)rating[i], &ivl);
				sum += ivl;
			}
		}
		t = now_s() - t0;
		if (n / t > best)
			best = n / t;
		checksum = sum;
	}
	printf("C fsrs_review: %zu updates, %.0f updates/s, checksum %llu\n",
	    n, best, (unsigned long long)checksum);
	fsrs_model_free(m);
	free(rating);
	free(elapsed);
	return 0;
}
