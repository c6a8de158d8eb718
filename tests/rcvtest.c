/* rcvtest.c: the receiver as a child of a test (see rcvtest.h). */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>

#include "rcvtest.h"
#include "util.h"

static const char *
receiver_path(void)
{
	static char path[512];
	const char *b = getenv("top_builddir");

	snprintf(path, sizeof path, "%s/tests/receiver", b ? b : ".");
	return path;
}

static bool control(struct rcv *r, const char *query);

void
rcv_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

void
rcv_start(struct rcv *r, const char *secret, const char *const *extra)
{
	char portfile[128];
	const char *argv[32];
	int n = 0;

	memset(r, 0, sizeof *r);
	snprintf(r->dir, sizeof r->dir, "/tmp/recalld-rcv.XXXXXX");
	ck_assert(mkdtemp(r->dir) != NULL);
	snprintf(r->log, sizeof r->log, "%s/log", r->dir);
	snprintf(portfile, sizeof portfile, "%s/port", r->dir);
	argv[n++] = receiver_path();
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--port-file";
	argv[n++] = portfile;
	argv[n++] = "--log";
	argv[n++] = r->log;
	argv[n++] = "--secret";
	argv[n++] = secret;
	for (int i = 0; extra != NULL && extra[i] != NULL && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	fflush(NULL);
	r->pid = fork();
	ck_assert(r->pid >= 0);
	if (r->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);	/* a failed test leaves no receiver */
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 500 && r->port == 0; i++) {
		FILE *fp = fopen(portfile, "r");
		if (fp != NULL) {
			if (fscanf(fp, "%d", &r->port) != 1)
				r->port = 0;
			fclose(fp);
		}
		if (r->port == 0)
			rcv_sleep_ms(10);
	}
	ck_assert_msg(r->port > 0, "the receiver did not start (%s)", argv[0]);
	snprintf(r->url, sizeof r->url, "http://127.0.0.1:%d/hook", r->port);
}

void
rcv_stop(struct rcv *r)
{
	int st;
	char *cmd;

	if (r->pid > 0) {
		kill(r->pid, SIGTERM);
		waitpid(r->pid, &st, 0);
		r->pid = 0;
	}
	/* For tests/openapi/validate.cjs: the deliveries it got, kept. */
	if (r->dir[0] != '\0' && getenv("RECALLD_WEBHOOK_RECORD") != NULL) {
		cmd = xasprintf("cat '%s' >>'%s' 2>/dev/null", r->log, getenv("RECALLD_WEBHOOK_RECORD"));
		if (system(cmd) != 0)
			fprintf(stderr, "rcvtest: could not keep %s\n", r->log);
		free(cmd);
	}
	if (r->dir[0] != '\0') {
		cmd = xasprintf("rm -rf '%s'", r->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", r->dir);
		free(cmd);
		r->dir[0] = '\0';
	}
}

json_t *
rcv_records(struct rcv *r)
{
	json_t *all = json_array();
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;

	/* The receiver writes its log every 20 ms, and at once when asked. */
	if (r->pid > 0 && !control(r, "flush=1"))
		fprintf(stderr, "rcvtest: the receiver did not answer its control request\n");
	if ((fp = fopen(r->log, "r")) == NULL)
		return all;
	while (getline(&line, &cap, fp) > 0) {
		json_t *j = json_loads(line, 0, NULL);
		if (j != NULL)
			json_array_append_new(all, j);
	}
	free(line);
	fclose(fp);
	return all;
}

json_t *
rcv_records_since(struct rcv *r, long *offset)
{
	json_t *all = json_array();
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if ((fp = fopen(r->log, "r")) == NULL)
		return all;
	if (fseek(fp, *offset, SEEK_SET) != 0) {
		fclose(fp);
		return all;
	}
	/* A line the receiver has not finished writing waits for the next call. */
	while ((n = getline(&line, &cap, fp)) > 0 && line[n - 1] == '\n') {
		json_t *j = json_loadb(line, (size_t)n, 0, NULL);

		*offset += (long)n;
		if (j != NULL)
			json_array_append_new(all, j);
	}
	free(line);
	fclose(fp);
	return all;
}

/* POST /_control?query to the receiver; true when it answered 204. */
static bool
control(struct rcv *r, const char *query)
{
	struct sockaddr_in sa;
	char req[160], resp[256];
	size_t got = 0;
	ssize_t n;
	int fd;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)r->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return false;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		close(fd);
		return false;
	}
	snprintf(req, sizeof req, "POST /_control?%s HTTP/1.0\r\nHost: 127.0.0.1\r\n"
	    "Content-Length: 0\r\n\r\n", query);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return false;
	}
	while (got < sizeof resp - 1 && (n = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	close(fd);
	return strncmp(resp, "HTTP/1.", 7) == 0 && strstr(resp, " 204 ") != NULL;
}

bool
rcv_set_status(struct rcv *r, int status)
{
	char query[32];

	snprintf(query, sizeof query, "status=%d", status);
	return control(r, query);
}
