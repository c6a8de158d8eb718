/*
 * rcvtest.h: run tests/receiver (a Standard Webhooks receiver) as a child
 * of a Check test and read what it recorded. A receiver dies with the test
 * process that started it.
 */
#ifndef RECALLD_RCVTEST_H
#define RECALLD_RCVTEST_H

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
void rcv_sleep_ms(int ms);

#endif
