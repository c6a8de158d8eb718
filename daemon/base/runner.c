/* runner.c: a periodic job's kicks, runs and stop (see runner.h). */
#include "autoconf.h"

#include <stdlib.h>

#include "clock.h"
#include "log.h"
#include "runner.h"
#include "util.h"

struct runner {
	const char *name;
	runner_fn fn;
	void *arg;
	struct event *timer;	/* the interval */
	struct event *kick;	/* a run from the loop */
	struct event *later;	/* runner_kick_after */
	unsigned pending;	/* reasons since the last start */
	unsigned later_why;
	bool running, stopped, on_clock;
};

static void
set_tv(struct timeval *tv, int64_t ms)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

static void
start(runner *r)
{
	unsigned why = r->pending;

	if (r->stopped || r->running || why == 0)
		return;
	r->pending = 0;
	r->running = true;
	log_debug("runner", "run", "job=%s why=0x%x", r->name, why);
	r->fn(r, why, r->arg);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	start(arg);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	runner_kick(arg, RUNNER_TIMER);
}

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	runner *r = arg;
	unsigned why = r->later_why;

	r->later_why = 0;
	runner_kick(r, why);
}

static void
clock_moved(void *arg)
{
	runner_kick(arg, RUNNER_CLOCK);
}

runner *
runner_new(struct event_base *base, const struct runner_spec *spec, runner_fn fn, void *arg)
{
	runner *r = xcalloc(1, sizeof *r);
	struct timeval tv;

	r->name = spec->name;
	r->fn = fn;
	r->arg = arg;
	r->on_clock = spec->on_clock;
	r->kick = event_new(base, -1, 0, kick_cb, r);
	r->later = evtimer_new(base, later_cb, r);
	if (spec->interval_ms > 0) {
		r->timer = event_new(base, -1, EV_PERSIST, timer_cb, r);
		set_tv(&tv, spec->interval_ms);
		event_add(r->timer, &tv);
	}
	if (r->kick == NULL || r->later == NULL || (spec->interval_ms > 0 && r->timer == NULL))
		fatalx("runner", "out of memory", "job=%s", r->name);
	if (spec->on_clock)
		clock_subscribe(clock_moved, r);
	if (spec->at_start)
		runner_kick(r, RUNNER_KICK);
	return r;
}

void
runner_kick(runner *r, unsigned why)
{
	if (r->stopped)
		return;
	r->pending |= why;
	if (!r->running)
		event_active(r->kick, EV_TIMEOUT, 0);
}

void
runner_kick_after(runner *r, int64_t ms, unsigned why)
{
	struct timeval tv;

	if (r->stopped)
		return;
	r->later_why |= why;
	if (evtimer_pending(r->later, NULL))
		return;
	set_tv(&tv, ms > 0 ? ms : 0);
	evtimer_add(r->later, &tv);
}

void
runner_done(runner *r)
{
	r->running = false;
	/* Kicked while it ran: again, from the loop (the job's stack unwinds first). */
	if (r->pending != 0 && !r->stopped)
		event_active(r->kick, EV_TIMEOUT, 0);
}

void
runner_stop(runner *r)
{
	r->stopped = true;
	if (r->timer != NULL)
		event_del(r->timer);
	event_del(r->later);
	event_del(r->kick);
	if (r->on_clock)
		clock_unsubscribe(clock_moved, r);
}

bool
runner_stopping(const runner *r)
{
	return r->stopped;
}

bool
runner_running(const runner *r)
{
	return r->running;
}

bool
runner_idle(const runner *r)
{
	return !r->running && r->pending == 0 && !evtimer_pending(r->later, NULL);
}

void
runner_free(runner *r)
{
	if (r == NULL)
		return;
	if (!r->stopped)
		runner_stop(r);
	if (r->timer != NULL)
		event_free(r->timer);
	event_free(r->later);
	event_free(r->kick);
	free(r);
}
