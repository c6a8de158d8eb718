/* child.c: a recalld subcommand in a child process (see child.h). */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "util.h"

#define ERR_MAX 2048
#define ARGS_MAX 32

struct child {
	pid_t pid;
	int fd[2];		/* stdout, stderr; -1 once closed */
	struct event *ev[2];
	char *buf[2];
	size_t len[2], max[2];
	child_done_fn fn;
	void *arg;
};

static void
close_stream(child *c, int i)
{
	if (c->ev[i] != NULL)
		event_free(c->ev[i]);
	c->ev[i] = NULL;
	if (c->fd[i] >= 0)
		close(c->fd[i]);
	c->fd[i] = -1;
}

static void
child_free(child *c)
{
	close_stream(c, 0);
	close_stream(c, 1);
	free(c->buf[0]);
	free(c->buf[1]);
	free(c);
}

static void
finish(child *c)
{
	struct child_result r;
	int status = 0;

	/* Both its pipes closed: it has exited or is about to. */
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r.out = c->buf[0];
	r.outlen = c->len[0];
	r.err = c->buf[1];
	r.errlen = c->len[1];
	c->fn(&r, c->arg);
	child_free(c);
}

static void
readable(evutil_socket_t fd, short what, void *arg)
{
	child *c = arg;
	int i = fd == c->fd[0] ? 0 : 1;
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof tmp);

	(void)what;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		size_t room = c->max[i] - c->len[i];
		size_t k = (size_t)n < room ? (size_t)n : room;

		memcpy(c->buf[i] + c->len[i], tmp, k);
		c->len[i] += k;
		c->buf[i][c->len[i]] = '\0';
		return;
	}
	close_stream(c, i);
	if (c->fd[0] < 0 && c->fd[1] < 0)
		finish(c);
}

child *
child_start(struct event_base *base, const char *config_path, const char *const *args,
    size_t out_max, child_done_fn fn, void *arg)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	const char *argv[ARGS_MAX];
	int k = 0, out[2] = { -1, -1 }, err[2] = { -1, -1 }, e;
	child *c;

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	/*
	 * The binary was replaced under the running daemon (a package upgrade,
	 * before systemd restarts it): run the new one at the same path.
	 */
	if (n > 10 && strcmp(exe + n - 10, " (deleted)") == 0)
		exe[n - 10] = '\0';
	argv[k++] = exe;
	if (config_path != NULL && access(config_path, R_OK) == 0) {
		argv[k++] = "-c";
		argv[k++] = config_path;
	}
	for (int i = 0; args[i] != NULL; i++) {
		if (k == ARGS_MAX - 1) {
			errno = E2BIG;
			return NULL;
		}
		argv[k++] = args[i];
	}
	argv[k] = NULL;
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
		goto fail;
	c = xcalloc(1, sizeof *c);
	c->fn = fn;
	c->arg = arg;
	c->max[0] = out_max;
	c->max[1] = ERR_MAX;
	c->buf[0] = xcalloc(1, out_max + 1);
	c->buf[1] = xcalloc(1, ERR_MAX + 1);
	c->pid = fork();
	if (c->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	e = errno;
	close(out[1]);
	close(err[1]);
	c->fd[0] = out[0];
	c->fd[1] = err[0];
	if (c->pid < 0) {
		child_free(c);
		errno = e;
		return NULL;
	}
	for (int i = 0; i < 2; i++) {
		evutil_make_socket_nonblocking(c->fd[i]);
		c->ev[i] = event_new(base, c->fd[i], EV_READ | EV_PERSIST, readable, c);
		event_add(c->ev[i], NULL);
	}
	return c;
fail:
	e = errno;
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	errno = e;
	return NULL;
}

void
child_err_line(const struct child_result *r, char *buf, size_t len)
{
	size_t n = r->errlen < len - 1 ? r->errlen : len - 1;

	memcpy(buf, r->err, n);
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	for (char *q = buf; *q != '\0'; q++)
		if (*q == '"' || *q == '\n')
			*q = '\'';
}

void
child_kill(child *c)
{
	int status;

	if (c == NULL)
		return;
	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	child_free(c);
}
