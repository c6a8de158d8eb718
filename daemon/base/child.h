/*
 * child.h: a recalld subcommand run as a child process from the event
 * loop, for work that must not hold the loop (a pupil's export, a school's
 * FSRS fit, a workload simulation). Its standard output and error are read
 * as they come, without blocking; one callback, from the loop, says how it
 * ended. The child is this same binary (/proc/self/exe), with the
 * daemon's configuration file when it has one.
 */
#ifndef RECALLD_CHILD_H
#define RECALLD_CHILD_H

#include <stddef.h>

#include <event2/event.h>

typedef struct child child;

struct child_result {
	int status;		/* exit code; -1 when killed by a signal */
	const char *out;	/* standard output (NUL-terminated), at most out_max */
	size_t outlen;
	const char *err;	/* standard error, its first 2 KiB, newlines kept */
	size_t errlen;
};

/* Called once when the child has exited; the child is freed after it returns. */
typedef void (*child_done_fn)(const struct child_result *r, void *arg);

/*
 * Start `recalld [-c config_path] args...` (args NULL-terminated). NULL
 * with errno set when it could not start; fn is then never called.
 */
child *child_start(struct event_base *base, const char *config_path,
    const char *const *args, size_t out_max, child_done_fn fn, void *arg);

/* Its standard error as one line a log may quote ("..." and newlines become '). */
void child_err_line(const struct child_result *r, char *buf, size_t len);

/* Kill it and wait for it (shutdown); fn is not called. */
void child_kill(child *c);

#endif
