/* dueset.c: the schools whose deliveries may be due (see dueset.h). */
#include "autoconf.h"

#include <stdlib.h>

#include "dueset.h"
#include "util.h"

/*
 * An open-addressing table keyed by school id (ids are positive): a
 * NOTIFY or a finished transfer finds its school in constant time even
 * when a morning's batches put every school of a large deployment here.
 */
#define EMPTY		0
#define TOMBSTONE	(-1)

struct entry {
	int64_t school_id;	/* EMPTY, TOMBSTONE, or a school */
	int64_t due_us;		/* 0: now */
	int64_t heard_us;	/* the earliest due heard of while claiming; DUESET_NONE: none */
	uint64_t turn;		/* of its last claim */
	bool claiming;
	bool wait;
};

struct dueset {
	struct entry *t;
	size_t cap;		/* a power of two */
	size_t live, used;	/* schools; schools and tombstones */
	uint64_t turn;
};

static size_t
slot_of(const dueset *s, int64_t school)
{
	return (size_t)(((uint64_t)school * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (s->cap - 1);
}

static struct entry *
find(const dueset *s, int64_t school)
{
	for (size_t i = slot_of(s, school);; i = (i + 1) & (s->cap - 1)) {
		if (s->t[i].school_id == school)
			return &s->t[i];
		if (s->t[i].school_id == EMPTY)
			return NULL;
	}
}

static void
rehash(dueset *s, size_t cap)
{
	struct entry *old = s->t;
	size_t oldcap = s->cap;

	s->t = xcalloc(cap, sizeof *s->t);
	s->cap = cap;
	s->used = s->live;
	for (size_t k = 0; k < oldcap; k++) {
		size_t i;

		if (old[k].school_id <= 0)
			continue;
		for (i = slot_of(s, old[k].school_id); s->t[i].school_id != EMPTY; i = (i + 1) & (cap - 1))
			;
		s->t[i] = old[k];
	}
	free(old);
}

static struct entry *
get(dueset *s, int64_t school)
{
	struct entry *e = find(s, school);
	size_t i;

	if (e != NULL)
		return e;
	/* at most three quarters used, tombstones counted: a probe always ends */
	if (4 * (s->used + 1) > 3 * s->cap) {
		size_t cap = 16;

		while (cap < 4 * (s->live + 1))
			cap *= 2;
		rehash(s, cap);
	}
	for (i = slot_of(s, school); s->t[i].school_id > 0; i = (i + 1) & (s->cap - 1))
		;
	if (s->t[i].school_id == EMPTY)
		s->used++;
	s->live++;
	s->t[i] = (struct entry){ .school_id = school, .due_us = DUESET_NONE,
	    .heard_us = DUESET_NONE };
	return &s->t[i];
}

static void
forget(dueset *s, struct entry *e)
{
	*e = (struct entry){ .school_id = TOMBSTONE };
	s->live--;
}

dueset *
dueset_new(void)
{
	dueset *s = xcalloc(1, sizeof *s);

	s->cap = 16;
	s->t = xcalloc(s->cap, sizeof *s->t);
	return s;
}

void
dueset_free(dueset *s)
{
	if (s == NULL)
		return;
	free(s->t);
	free(s);
}

void
dueset_heard(dueset *s, int64_t school, int64_t at_us)
{
	struct entry *e;

	if (school <= 0)
		return;
	e = get(s, school);
	if (at_us < e->due_us)
		e->due_us = at_us;
	if (e->claiming && at_us < e->heard_us)
		e->heard_us = at_us;	/* its claim may have read before this */
	if (at_us == 0)
		e->wait = false;	/* new deliveries: maybe for an endpoint with room */
}

static bool
ready(const struct entry *e, int64_t now)
{
	return e->school_id > 0 && e->due_us <= now && !e->claiming && !e->wait;
}

static int
by_turn(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a;
	const struct entry *y = *(struct entry *const *)b;

	return x->turn < y->turn ? -1 : x->turn > y->turn;
}

size_t
dueset_pick(dueset *s, int64_t now, int64_t *out, size_t max)
{
	struct entry **due;
	size_t n = 0;

	if (max == 0 || s->live == 0)
		return 0;
	due = xreallocarray(NULL, s->live, sizeof *due);
	for (size_t i = 0; i < s->cap; i++)
		if (ready(&s->t[i], now))
			due[n++] = &s->t[i];
	qsort(due, n, sizeof *due, by_turn);
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		due[i]->due_us = 0;
		due[i]->claiming = true;
		due[i]->heard_us = DUESET_NONE;
		due[i]->turn = ++s->turn;
		out[i] = due[i]->school_id;
	}
	free(due);
	return n;
}

size_t
dueset_ready(const dueset *s, int64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < s->cap; i++)
		n += ready(&s->t[i], now);
	return n;
}

void
dueset_claimed(dueset *s, int64_t school, const struct dueset_claim *c, int64_t now)
{
	struct entry *e = find(s, school);
	int64_t heard;

	if (e == NULL)
		return;
	heard = e->heard_us;
	e->claiming = false;
	e->heard_us = DUESET_NONE;
	if (c->failed) {
		e->due_us = 0;
		e->wait = false;
		return;
	}
	if (heard <= now)
		heard = 0;
	if (c->more || heard == 0) {
		e->due_us = 0;
		/* a delivery heard of meanwhile may be for an endpoint with room */
		e->wait = c->more && c->wait && heard != 0;
		return;
	}
	e->due_us = c->next_us < heard ? c->next_us : heard;
	e->wait = false;
	if (e->due_us == DUESET_NONE)
		forget(s, e);
}

bool
dueset_transfer_ended(dueset *s, int64_t school)
{
	struct entry *e = find(s, school);

	if (e == NULL || !e->wait)
		return false;
	e->wait = false;
	return true;
}

int64_t
dueset_next(const dueset *s, int64_t now)
{
	int64_t at = DUESET_NONE;

	for (size_t i = 0; i < s->cap; i++)
		if (s->t[i].school_id > 0 && s->t[i].due_us > now && s->t[i].due_us < at)
			at = s->t[i].due_us;
	return at;
}

size_t
dueset_count(const dueset *s)
{
	return s->live;
}

size_t
dueset_waiting(const dueset *s, int64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < s->cap; i++)
		n += s->t[i].school_id > 0 && s->t[i].due_us <= now && s->t[i].wait;
	return n;
}
