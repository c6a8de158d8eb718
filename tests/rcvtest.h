/*
 * rcvtest.h: run tests/receiver (a Standard Webhooks receiver) as a child
 * of a Check test and read what it recorded. A receiver dies with the test
 * process that started it.
 */
#ifndef RECALLD_RCVTEST_H
#define RECALLD_RCVTEST_H

#include <stdbool.h>

#include <sys/types.h>

#include <jansson.h>

struct rcv {
	pid_t pid;
	int port;
	char dir[64];
	char log[128];
	char url[128];		/* http://127.0.0.1:PORT/hook */
};

/*
 * Start a receiver on a free loopback port that verifies with secret;
 * extra: NULL or NULL-terminated arguments ("--status", "503", NULL).
 */
void rcv_start(struct rcv *r, const char *secret, const char *const *extra);
/* SIGTERM, wait, remove its directory. */
void rcv_stop(struct rcv *r);
/* Every request it recorded so far, in order (a JSON array; caller decrefs). */
json_t *rcv_records(struct rcv *r);
/*
 * The requests recorded since *offset (a byte offset into its log, 0 at
 * first), complete lines only; *offset moves past them. For long runs,
 * where re-reading the whole log each time would cost too much.
 */
json_t *rcv_records_since(struct rcv *r, long *offset);
/* Change its answer at runtime (POST /_control?status=N); false if it did not take. */
bool rcv_set_status(struct rcv *r, int status);
void rcv_sleep_ms(int ms);

#endif
