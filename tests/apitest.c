/* apitest.c: run recalld, call its HTTP API, look at its database (see apitest.h). */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <curl/curl.h>
#include <libpq-fe.h>

#include "apitest.h"
#include "secretbox.h"
#include "pgtest.h"
#include "util.h"

#define MAX_ARGS 32

struct apitest_reply apitest_r;

/* The current daemon; the others wait in slots (apitest_daemon_use). */
static pid_t daemon_pid = -1;
static char daemon_dir[256];
static char daemon_log[300];
static char base_url[64];
static struct {
	bool saved;		/* else it never held a daemon */
	pid_t pid;
	char dir[256], log[300], base[64];
} slots[APITEST_DAEMONS];
static int cur_slot;
static CURL *curl;
static PGconn *pg;

static const char *
recalld_path(void)
{
	const char *r = getenv("RECALLD");

	return r && *r ? r : "./recalld";
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
apitest_recalld(char **out, ...)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0, fds[2], status;
	va_list ap;
	pid_t pid;
	char *buf = NULL;
	size_t len = 0;

	argv[argc++] = (char *)recalld_path();
	va_start(ap, out);
	for (char *a; argc < MAX_ARGS && (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	if (pipe(fds) == -1)
		return -1;
	fflush(NULL);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		char chunk[4096];
		ssize_t n = read(fds[0], chunk, sizeof chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf = xrealloc(buf, len + (size_t)n + 1);
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
		buf[len] = '\0';
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (out != NULL)
		*out = buf ? buf : xstrdup("");
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- HTTP ---- */

struct growbuf {
	char *s;
	size_t n;
};

static size_t
grow_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct growbuf *b = arg;
	size_t n = size * nmemb;

	b->s = xrealloc(b->s, b->n + n + 1);
	memcpy(b->s + b->n, data, n);
	b->n += n;
	b->s[b->n] = '\0';
	return n;
}

const char *
apitest_base(void)
{
	return base_url;
}

/*
 * With RECALLD_API_RECORD set, every exchange is appended to that file as
 * one JSON line (method, path, status, content type, request and response
 * bodies) for tests/openapi/validate.cjs, which holds each response to the
 * OpenAPI document. One write per line: Check's forked tests share the file.
 */
static void
record(const char *method, const char *path, const char *body, size_t body_len, long status,
    const char *headers, json_t *resp)
{
	const char *file = getenv("RECALLD_API_RECORD");
	char ctype[128] = "";
	json_t *line, *req = NULL;
	char *s;
	int fd;

	if (file == NULL || *file == '\0' || status == 0)
		return;
	if (headers != NULL)
		apitest_header(headers, "Content-Type", ctype, sizeof ctype);
	if (body != NULL)
		req = json_loadb(body, body_len, 0, NULL);
	line = json_pack("{s:s, s:s, s:i, s:s, s:o, s:O}", "method", method, "path", path,
	    "status", (json_int_t)status, "content_type", ctype,
	    "request", req ? req : json_null(), "response", resp ? resp : json_null());
	s = json_dumps(line, JSON_COMPACT);
	json_decref(line);
	if (s == NULL)
		return;
	fd = open(file, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd >= 0) {
		char *nl = xasprintf("%s\n", s);

		if (write(fd, nl, strlen(nl)) < 0)
			perror("apitest: record");
		free(nl);
		close(fd);
	}
	free(s);
}

/*
 * Every secret this suite was given or made (API tokens, webhook secrets,
 * the answer-link key, the secrets key file's keys): each daemon's log is
 * searched for them before it is removed (apitest_daemon_cleanup), and a
 * leak fails the suite (apitest_openapi_check, the last check of each).
 */
static char **secrets;
static size_t nsecrets;
static int secret_leaks;

static void
secret_seen(const char *s)
{
	if (s == NULL || strlen(s) < 12)
		return;	/* nothing that short is a secret here */
	for (size_t i = 0; i < nsecrets; i++)
		if (strcmp(secrets[i], s) == 0)
			return;
	secrets = xreallocarray(secrets, nsecrets + 1, sizeof *secrets);
	secrets[nsecrets++] = xstrdup(s);
}

/* A reply's members that carry secrets: "secret" (whsec_...), "token" (rcl_...). */
static void
secrets_in(const json_t *j)
{
	const char *s = json_string_value(json_object_get(j, "secret"));

	if (s != NULL && strncmp(s, "whsec_", 6) == 0) {
		secret_seen(s);
		secret_seen(s + 6);
	}
	s = json_string_value(json_object_get(j, "token"));
	if (s != NULL && strncmp(s, "rcl_", 4) == 0)
		secret_seen(s);
}

/* Search a daemon's log for every secret seen; count and name the leaks (never the secret). */
static void
secrets_scan(const char *log)
{
	FILE *f = fopen(log, "r");
	char *text = NULL;
	size_t len = 0;

	if (f == NULL)
		return;
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		fclose(f);
		return;
	}
	fclose(f);
	for (size_t i = 0; i < nsecrets; i++)
		if (strstr(text, secrets[i]) != NULL) {
			fprintf(stderr, "not ok - a secret the suite made (#%zu, %zu characters) is in %s\n",
			    i, strlen(secrets[i]), log);
			secret_leaks++;
		}
	free(text);
}

json_t *
api_call_ex(const char *method, const char *path, const char *token,
    const char *content_type, const char *body, size_t body_len,
    const char *const *extra, long *status, char **raw, char **headers)
{
	struct growbuf rb = { 0 }, hb = { 0 };
	struct curl_slist *hl = NULL;
	char *url = xasprintf("%s%s", base_url, path), *line;
	json_t *j = NULL;

	if (curl == NULL) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl = curl_easy_init();
	}
	curl_easy_reset(curl);	/* the connection cache survives the reset */
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, grow_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &rb);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, grow_cb);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &hb);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	}
	if (token != NULL) {
		line = xasprintf("Authorization: Bearer %s", token);
		hl = curl_slist_append(hl, line);
		free(line);
	}
	if (content_type != NULL) {
		line = xasprintf("Content-Type: %s", content_type);
		hl = curl_slist_append(hl, line);
		free(line);
	} else {
		hl = curl_slist_append(hl, "Content-Type:");	/* none at all */
	}
	hl = curl_slist_append(hl, "Expect:");
	for (int i = 0; extra != NULL && extra[i] != NULL; i++)
		hl = curl_slist_append(hl, extra[i]);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
	*status = 0;
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(hl);
	free(url);
	if (rb.s != NULL)
		j = json_loads(rb.s, 0, NULL);
	secrets_in(j);
	record(method, path, body, body_len, *status, hb.s, j);
	if (raw != NULL)
		*raw = rb.s ? rb.s : xstrdup("");
	else
		free(rb.s);
	if (headers != NULL)
		*headers = hb.s ? hb.s : xstrdup("");
	else
		free(hb.s);
	return j;
}

json_t *
api_call(const char *method, const char *path, const char *token,
    const char *content_type, const char *body, long *status, char **raw,
    char **headers)
{
	return api_call_ex(method, path, token, content_type, body,
	    body ? strlen(body) : 0, NULL, status, raw, headers);
}

const char *
apitest_header(const char *headers, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name);

	for (const char *l = headers; l != NULL && *l != '\0';) {
		const char *eol = strchr(l, '\n');
		size_t ll = eol ? (size_t)(eol - l) : strlen(l);

		if (ll > nl && strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
			const char *v = l + nl + 1;
			size_t vl;
			while (*v == ' ' || *v == '\t')
				v++;
			vl = ll - (size_t)(v - l);
			while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			snprintf(buf, len, "%.*s", (int)vl, v);
			return buf;
		}
		l = eol ? eol + 1 : NULL;
	}
	return NULL;
}

/* ---- the daemon ---- */

static long
get_status(const char *path)
{
	long st;
	json_t *j = api_call("GET", path, NULL, NULL, NULL, &st, NULL, NULL);

	json_decref(j);
	return st;
}

static bool
daemon_alive(void)
{
	int status;

	return daemon_pid > 0 && waitpid(daemon_pid, &status, WNOHANG) == 0;
}

/*
 * Our daemon's log, from offset from (where this try's lines begin: the
 * tries share the log), says it listens (true), or that it cannot, or it
 * died (false).
 */
static bool
own_port(long from, int timeout_ms)
{
	uint64_t end = util_mono_ms() + (uint64_t)timeout_ms;

	while (daemon_alive() && util_mono_ms() < end) {
		FILE *f = fopen(daemon_log, "r");
		char line[2048];
		int verdict = 0;

		if (f != NULL && fseek(f, from, SEEK_SET) != 0) {
			fclose(f);
			f = NULL;
		}
		while (f != NULL && verdict == 0 && fgets(line, sizeof line, f) != NULL) {
			if (strstr(line, "msg=\"listening\"") != NULL)
				verdict = 1;
			else if (strstr(line, "msg=\"cannot listen\"") != NULL)
				verdict = -1;
		}
		if (f != NULL)
			fclose(f);
		if (verdict != 0)
			return verdict > 0;
		usleep(20 * 1000);
	}
	return false;
}

static bool
wait_path(const char *path, long want, int timeout_ms)
{
	uint64_t end = util_mono_ms() + (uint64_t)timeout_ms;

	do {
		if (get_status(path) == want)
			return true;
		if (!daemon_alive())
			return false;
		sleep_ms(50);
	} while (util_mono_ms() < end);
	return false;
}

bool
apitest_daemon_start(void)
{
	const char *tmp = getenv("TMPDIR");
	char conf[300];
	FILE *f;
	int port = 20000 + (int)(getpid() % 19000) + cur_slot * 211;

	snprintf(daemon_dir, sizeof daemon_dir, "%s/recalld-api.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(daemon_dir) == NULL)
		return false;
	snprintf(conf, sizeof conf, "%s/recalld.conf", daemon_dir);
	snprintf(daemon_log, sizeof daemon_log, "%s/serve.log", daemon_dir);
	if ((f = fopen(conf, "w")) == NULL)
		return false;
	fputs("[log]\nlevel = info\n", f);
	secret_seen(getenv("RECALLD_RESPONSES_LINK_KEY"));
	fclose(f);
	for (int try = 0; try < 8; try++, port += 7) {
		char listen[64];
		struct stat sb;
		long from = stat(daemon_log, &sb) == 0 ? (long)sb.st_size : 0;

		snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
		snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d", port);
		fflush(NULL);
		if ((daemon_pid = fork()) == -1)
			return false;
		if (daemon_pid == 0) {
			FILE *lf;
#ifdef __linux__
			/* A test program that dies (a crash, an abort) takes its daemon along. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
			lf = freopen(daemon_log, "a", stderr);
			if (lf == NULL)
				_exit(127);
			dup2(STDERR_FILENO, STDOUT_FILENO);
			setenv("RECALLD_HTTP_LISTEN", listen, 1);
			execl(recalld_path(), "recalld", "-c", conf, "serve", (char *)NULL);
			perror(recalld_path());
			_exit(127);
		}
		/*
		 * Ours must hold the port: another suite's daemon on it would
		 * answer the health checks while ours fails to bind and exits.
		 */
		if (own_port(from, 20000) && wait_path("/healthz", 200, 5000) && daemon_alive())
			return wait_path("/readyz", 200, 15000);
		if (daemon_alive())
			kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = -1;
	}
	return false;
}

void
apitest_daemon_use(int i)
{
	if (i < 0 || i >= APITEST_DAEMONS || i == cur_slot)
		return;
	slots[cur_slot].saved = true;
	slots[cur_slot].pid = daemon_pid;
	memcpy(slots[cur_slot].dir, daemon_dir, sizeof daemon_dir);
	memcpy(slots[cur_slot].log, daemon_log, sizeof daemon_log);
	memcpy(slots[cur_slot].base, base_url, sizeof base_url);
	daemon_pid = slots[i].saved ? slots[i].pid : -1;
	memcpy(daemon_dir, slots[i].dir, sizeof daemon_dir);
	memcpy(daemon_log, slots[i].log, sizeof daemon_log);
	memcpy(base_url, slots[i].base, sizeof base_url);
	cur_slot = i;
}

const char *
apitest_daemon_base(int i)
{
	return i == cur_slot ? base_url : slots[i].base;
}

void
apitest_http_reset(void)
{
	if (curl != NULL) {
		curl_easy_cleanup(curl);
		curl = NULL;
		curl_global_cleanup();
	}
}

void
apitest_daemon_kill9(void)
{
	if (curl != NULL) {
		curl_easy_cleanup(curl);
		curl = NULL;
		curl_global_cleanup();
	}
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = -1;
	}
}

int
apitest_daemon_stop(void)
{
	uint64_t end;
	int status = 0;
	pid_t r = 0;

	if (curl != NULL) {
		curl_easy_cleanup(curl);	/* close the kept-alive connection first */
		curl = NULL;
		curl_global_cleanup();
	}
	if (daemon_pid <= 0)
		return -1;
	kill(daemon_pid, SIGTERM);
	end = util_mono_ms() + 20000;
	while ((r = waitpid(daemon_pid, &status, WNOHANG)) == 0 && util_mono_ms() < end)
		sleep_ms(20);
	if (r == 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, &status, 0);
		daemon_pid = -1;
		return -1;
	}
	daemon_pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void
apitest_daemon_dump_log(void)
{
	FILE *f = fopen(daemon_log, "r");
	char line[2048];

	if (f == NULL)
		return;
	fprintf(stderr, "--- %s\n", daemon_log);
	while (fgets(line, sizeof line, f) != NULL)
		fputs(line, stderr);
	fclose(f);
}

void
apitest_daemon_cleanup(void)
{
	char *cmd;

	if (daemon_dir[0] == '\0')
		return;
	secrets_scan(daemon_log);
	cmd = xasprintf("rm -rf '%s'", daemon_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "apitest: cannot remove %s\n", daemon_dir);
	free(cmd);
	daemon_dir[0] = '\0';
}

/* ---- SQL ---- */

bool
apitest_set_clock(const char *token, const char *iso)
{
	char body[96];
	long status = 0;

	snprintf(body, sizeof body, "{\"now\": \"%s\"}", iso);
	json_decref(api_call("POST", "/v1/admin/clock", token, "application/json", body, &status,
	    NULL, NULL));
	return status == 200;
}

bool
apitest_token(char *dst, size_t len, const char *school, const char *role,
    const char *teacher)
{
	char *out = NULL;
	int rc = teacher != NULL ?
	    apitest_recalld(&out, "token", "create", "--school", school, "--role", role,
	    "--teacher", teacher, (char *)NULL) :
	    apitest_recalld(&out, "token", "create", "--school", school, "--role", role,
	    (char *)NULL);

	if (rc != 0 || out == NULL || strncmp(out, "rcl_", 4) != 0) {
		free(out);
		return false;
	}
	out[strcspn(out, "\n")] = '\0';
	util_strlcpy(dst, out, len);
	secret_seen(out);
	free(out);
	return true;
}

long
apitest_json(const char *method, const char *token, const char *body, json_t **out,
    const char *fmt, ...)
{
	va_list ap;
	char path[512];
	long status = 0;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(path, sizeof path, fmt, ap);
	va_end(ap);
	j = api_call(method, path, token, body ? "application/json" : NULL, body, &status,
	    NULL, NULL);
	if (out != NULL)
		*out = j;
	else
		json_decref(j);
	return status;
}

void
apitest_req_done(void)
{
	json_decref(apitest_r.j);
	free(apitest_r.raw);
	free(apitest_r.hdr);
	apitest_r.j = NULL;
	apitest_r.raw = apitest_r.hdr = NULL;
	apitest_r.status = 0;
}

static void
vreq(const char *method, const char *token, const char *ctype, const char *body,
    const char *const *extra, const char *fmt, va_list ap)
{
	struct apitest_reply *r = &apitest_r;

	apitest_req_done();
	snprintf(r->method, sizeof r->method, "%s", method);
	vsnprintf(r->path, sizeof r->path, fmt, ap);
	r->j = api_call_ex(method, r->path, token, ctype, body, body ? strlen(body) : 0, extra,
	    &r->status, &r->raw, &r->hdr);
}

void
apitest_req(const char *method, const char *token, const char *body, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreq(method, token, body ? "application/json" : NULL, body, NULL, fmt, ap);
	va_end(ap);
}

void
apitest_req_ex(const char *method, const char *token, const char *ctype, const char *body,
    const char *const *extra, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreq(method, token, ctype, body, extra, fmt, ap);
	va_end(ap);
}

static bool
school_create(const char *name, long long want)
{
	char *out = NULL;
	int rc = apitest_recalld(&out, "school", "create", "--name", name, "--tz",
	    "Europe/London", (char *)NULL);
	bool ok = rc == 0 && out != NULL && strtoll(out, NULL, 10) == want;

	if (!ok)
		fprintf(stderr, "apitest: school create %s: exit %d, id %s", name, rc,
		    out ? out : "none\n");
	free(out);
	return ok;
}

bool
apitest_two_schools(const char *a, const char *b, char *admin_a, char *admin_b, size_t len)
{
	char *out = NULL;
	int rc = apitest_recalld(&out, "migrate", (char *)NULL);

	free(out);
	if (rc != 0) {
		fprintf(stderr, "apitest: recalld migrate: exit %d\n", rc);
		return false;
	}
	if (!school_create(a, 1) || !school_create(b, 2))
		return false;
	if (!apitest_token(admin_a, len, "1", "admin", NULL) ||
	    !apitest_token(admin_b, len, "2", "admin", NULL)) {
		fprintf(stderr, "apitest: token create --role admin failed\n");
		return false;
	}
	return true;
}

long long
apitest_jint(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

const char *
apitest_jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

bool
apitest_field_error(const json_t *problem, const char *field)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(problem, "errors"), i, e)
		if (strcmp(apitest_jstr(e, "field"), field) == 0 && *apitest_jstr(e, "detail") != '\0')
			return true;
	return false;
}

bool
apitest_wait(bool (*pred)(void *), void *arg, int timeout_ms)
{
	uint64_t end = util_mono_ms() + (uint64_t)timeout_ms;
	bool ok;

	while (!(ok = pred(arg)) && util_mono_ms() < end)
		sleep_ms(20);
	return ok;
}

struct sql_wait {
	char *sql;
	long long want;
};

static bool
sql_reached(void *arg)
{
	const struct sql_wait *w = arg;

	return apitest_sql_int("%s", w->sql) >= w->want;
}

bool
apitest_wait_sql(long long want, int timeout_ms, const char *fmt, ...)
{
	va_list ap;
	struct sql_wait w = { NULL, want };
	bool ok;

	va_start(ap, fmt);
	w.sql = xvasprintf(fmt, ap);
	va_end(ap);
	ok = apitest_wait(sql_reached, &w, timeout_ms);
	free(w.sql);
	return ok;
}

static bool
job_idle_now(void *arg)
{
	char *raw = NULL, *want = xasprintf("recalld_job_idle{job=\"%s\"} 1\n", (const char *)arg);
	long status = 0;
	json_t *j = api_call("GET", "/metrics", NULL, NULL, NULL, &status, &raw, NULL);
	bool idle = status == 200 && raw != NULL && strstr(raw, want) != NULL;

	json_decref(j);
	free(raw);
	free(want);
	return idle;
}

bool
apitest_wait_job_idle(const char *job, int timeout_ms)
{
	return apitest_wait(job_idle_now, (void *)(uintptr_t)job, timeout_ms);
}

/*
 * With RECALLD_OPENAPI_NODE_PATH (test.sh installs tests/openapi's npm
 * packages there), the suite records every answer and webhook delivery it
 * gets, and apitest_finish holds them to api/openapi.yaml.
 */
static char openapi_dir[64];

static void
openapi_begin(void)
{
	char *f;

	if (getenv("RECALLD_OPENAPI_NODE_PATH") == NULL || getenv("RECALLD_API_RECORD") != NULL)
		return;
	snprintf(openapi_dir, sizeof openapi_dir, "/tmp/recalld-openapi.XXXXXX");
	if (mkdtemp(openapi_dir) == NULL) {
		openapi_dir[0] = '\0';
		return;
	}
	f = xasprintf("%s/answers.jsonl", openapi_dir);
	setenv("RECALLD_API_RECORD", f, 1);
	free(f);
	f = xasprintf("%s/webhooks.jsonl", openapi_dir);
	setenv("RECALLD_WEBHOOK_RECORD", f, 1);
	free(f);
}

bool
apitest_openapi_check(void)
{
	char *cmd, *script;
	int st;

	for (size_t i = 0; i < nsecrets; i++)
		free(secrets[i]);
	free(secrets);
	secrets = NULL;
	if (nsecrets > 0 && secret_leaks == 0)
		fprintf(stderr, "apitest: none of the %zu secrets this suite made is in a daemon's log\n",
		    nsecrets);
	nsecrets = 0;
	if (secret_leaks > 0) {
		fprintf(stderr, "apitest: %d secrets found in daemons' logs (above)\n", secret_leaks);
		return false;
	}
	if (openapi_dir[0] == '\0')
		return true;
	/* pgtest_srcpath answers in one static buffer: one path at a time. */
	script = xstrdup(pgtest_srcpath("tests/openapi/validate.cjs"));
	cmd = xasprintf("'%s' serve --routes >'%s/routes' && NODE_PATH='%s' node '%s' '%s' '%s/routes'"
	    " '%s/answers.jsonl' '%s/webhooks.jsonl' >&2", recalld_path(), openapi_dir,
	    getenv("RECALLD_OPENAPI_NODE_PATH"), script, pgtest_srcpath("api/openapi.yaml"),
	    openapi_dir, openapi_dir, openapi_dir);
	st = system(cmd);
	free(script);
	free(cmd);
	cmd = xasprintf("rm -rf '%s'", openapi_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "apitest: cannot remove %s\n", openapi_dir);
	free(cmd);
	openapi_dir[0] = '\0';
	return st == 0;
}

bool
apitest_import_demo(bool questions)
{
	char *roster = xstrdup(pgtest_srcpath("tests/demo/roster"));
	bool ok = apitest_recalld(NULL, "import", "roster", roster, "--school", "1",
	    (char *)NULL) == 0 && (!questions || apitest_recalld(NULL, "import", "questions",
	    pgtest_srcpath("tests/demo/questions.csv"), "--school", "1", (char *)NULL) == 0);

	free(roster);
	return ok;
}

bool
apitest_teach_demo_cells(void)
{
	return apitest_sql_ok("INSERT INTO taught (school_id, class_id, unit_id, taught_on, updated_at)"
	    " SELECT 1, k.class_id, u.unit_id, '2026-09-18', now() FROM class k, unit u"
	    " WHERE k.school_id = 1 AND u.school_id = 1"
	    " AND k.external_id IN ('class-8a-sci', 'class-8b-sci') AND u.external_id = 'sci-cells'") &&
	    apitest_sql_ok("UPDATE school SET new_per_day = 5 WHERE school_id = 1");
}

bool
apitest_teacher_token(char *dst, size_t len, const char *teacher_sql)
{
	char *tid = apitest_sql("%s", teacher_sql);
	bool ok = tid != NULL && *tid != '\0' && apitest_token(dst, len, "1", "teacher", tid);

	free(tid);
	return ok;
}

bool
apitest_demo_answering(const char *conninfo, char *admin_a, char *admin_b, size_t len)
{
	char *one;

	setenv("RECALLD_CLOCK_MODE", "manual", 1);
	setenv("RECALLD_CLOCK_START", "2026-09-21T06:00:00Z", 1);
	if (!apitest_two_schools("A", "B", admin_a, admin_b, len) || !apitest_import_demo(true))
		return false;
	apitest_db_open(conninfo);
	if (!apitest_teach_demo_cells())
		return false;
	one = apitest_sql("INSERT INTO endpoint (school_id, url, secret, created_at) VALUES"
	    " (1, 'http://127.0.0.1:9/hook', 'whsec_MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIz', now())"
	    " RETURNING 1");
	free(one);
	return one != NULL;
}

static char keys_dir[64];
static pid_t keys_owner;

static void
keys_cleanup(void)
{
	char path[128];

	if (getpid() != keys_owner)
		return;	/* a forked child's exit */
	snprintf(path, sizeof path, "%s/secrets.key", keys_dir);
	unlink(path);
	rmdir(keys_dir);
}

/* A key file of the suite's own (recalld keys init), in RECALLD_SECRETS_KEY_FILE. */
static void
keys_file(void)
{
	char path[128], *out = NULL;

	snprintf(keys_dir, sizeof keys_dir, "/tmp/recalld-keys.XXXXXX");
	if (mkdtemp(keys_dir) == NULL) {
		perror("apitest: mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof path, "%s/secrets.key", keys_dir);
	if (apitest_recalld(&out, "keys", "init", "--file", path, (char *)NULL) != 0) {
		fprintf(stderr, "apitest: recalld keys init failed\n");
		exit(1);
	}
	free(out);
	{
		FILE *kf = fopen(path, "r");
		char line[256];

		while (kf != NULL && fgets(line, sizeof line, kf) != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			if (line[0] != '#' && strchr(line, ' ') != NULL)
				secret_seen(strchr(line, ' ') + 1);
		}
		if (kf != NULL)
			fclose(kf);
	}
	keys_owner = getpid();
	atexit(keys_cleanup);
	setenv("RECALLD_SECRETS_KEY_FILE", path, 1);
}

void
apitest_env(const char *conninfo, const char *shutdown_timeout)
{
	openapi_begin();
	setenv("RECALLD_DATABASE_URL", conninfo, 1);
	setenv("RECALLD_DATABASE_MIGRATIONS", pgtest_sql_dir(), 1);
	setenv("RECALLD_DATABASE_STARTUP_WAIT", "10s", 1);
	setenv("RECALLD_SERVE_SHUTDOWN_TIMEOUT", shutdown_timeout, 1);
	/* webhook secrets sealed, as in production */
	keys_file();
	/* a daemon restarted after SIGKILL waits out its predecessor's leases */
	setenv("RECALLD_JOBS_LEASE_TIMEOUT", "3s", 1);
}

void
apitest_db_open(const char *conninfo)
{
	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "apitest: %s", PQerrorMessage(pg));
		exit(1);
	}
}

void
apitest_db_close(void)
{
	PQfinish(pg);
	pg = NULL;
}

static char *
vsql(const char *fmt, va_list ap, bool *ran)
{
	char *q = xvasprintf(fmt, ap), *v = NULL;
	PGresult *res = PQexec(pg, q);

	*ran = true;
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0))
			v = xstrdup(PQgetvalue(res, 0, 0));
	} else if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "apitest: %s: %s", q, PQresultErrorMessage(res));
		*ran = false;
	}
	PQclear(res);
	free(q);
	return v;
}

bool
apitest_sql_ok(const char *fmt, ...)
{
	va_list ap;
	bool ran;

	va_start(ap, fmt);
	free(vsql(fmt, ap, &ran));
	va_end(ap);
	return ran;
}

char *
apitest_sql(const char *fmt, ...)
{
	va_list ap;
	char *v;
	bool ran;

	va_start(ap, fmt);
	v = vsql(fmt, ap, &ran);
	va_end(ap);
	return v;
}

long long
apitest_sql_int(const char *fmt, ...)
{
	va_list ap;
	char *v;
	long long n;
	bool ran;

	va_start(ap, fmt);
	v = vsql(fmt, ap, &ran);
	va_end(ap);
	n = v ? strtoll(v, NULL, 10) : -1;
	free(v);
	return n;
}

/* The database's answer-link key (sql/0028), opened, is a secret the logs must not hold. */
static void
link_key_seen(void)
{
	const char *file = getenv("RECALLD_SECRETS_KEY_FILE");
	char err[256], *plain;
	secretbox *sb;
	PGresult *res;

	if (pg == NULL || file == NULL || (sb = secretbox_load(file, err, sizeof err)) == NULL)
		return;
	res = PQexec(pg, "SELECT sealed, previous_sealed FROM link_key");
	for (int c = 0; PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && c < 2; c++) {
		if (PQgetisnull(res, 0, c))
			continue;
		if ((plain = secretbox_open(sb, PQgetvalue(res, 0, c), err, sizeof err)) != NULL) {
			secret_seen(plain);
			free(plain);
		}
	}
	PQclear(res);
	secretbox_free(sb);
}

int
apitest_finish(int failed)
{
	int code;

	link_key_seen();
	code = apitest_daemon_stop();

	if (failed != 0 || code != 0)
		apitest_daemon_dump_log();
	apitest_db_close();
	apitest_daemon_cleanup();
	pgtest_destroy();
	if (!apitest_openapi_check()) {
		fprintf(stderr, "apitest: answers or deliveries that api/openapi.yaml does not describe (above)\n");
		return EXIT_FAILURE;
	}
	return failed == 0 && code == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
