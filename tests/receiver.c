/*
 * receiver.c: a small Standard Webhooks receiver for the tests and the
 * benchmark (libevent evhttp). Independent of recalld's own signing code.
 *
 *   receiver --port N [--host 127.0.0.1] [--secret whsec_...]... [--log FILE]
 *            [--status CODE] [--retry-after SECONDS] [--port-file FILE]
 *            [--delay-ms MS] [--print]
 *
 * Every POST is verified against every --secret (any v1 signature of the
 * webhook-signature header that matches any secret makes it valid; the
 * timestamp must be within 5 minutes) and recorded as one JSON line in
 * --log: {"webhook_id", "timestamp", "type", "valid", "status", "inflight",
 * "path", "body"}, inflight counting the requests being answered at its
 * arrival (itself included). It answers --status (default 200), with
 * Retry-After when given, after --delay-ms.
 *
 * Changing the answer at runtime: SIGUSR1 switches to 200, SIGUSR2 back
 * to --status; or POST /_control?status=CODE&retry_after=SECONDS.
 * --port 0 picks a free port; the port is printed on stdout ("port N")
 * and written to --port-file. SIGTERM/SIGINT exit 0.
 *
 * --print writes each event for a person to stdout (the demo's sink):
 * a prompt.batch as the pupil's questions with their answer links.
 *
 * Without arguments (as `make check` runs it) it checks its verifier
 * against the Standard Webhooks reference vector and exits.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define MAX_SECRETS 4
#define TOLERANCE_S 300

static struct {
	struct event_base *base;
	unsigned char key[MAX_SECRETS][96];
	int keylen[MAX_SECRETS];
	int nkeys;
	FILE *log;
	int status, fail_status;
	int retry_after;	/* -1: none */
	int delay_ms;
	bool print;		/* --print: events for a person on stdout */
	int inflight;
	unsigned long requests;
} rx = { .status = 200, .fail_status = 200, .retry_after = -1 };

static int
decode_secret(const char *secret, unsigned char *key, size_t keylen)
{
	const char *b = secret;
	size_t n, pad = 0;
	int got;

	if (strncmp(b, "whsec_", 6) == 0)
		b += 6;
	n = strlen(b);
	if (n == 0 || n % 4 != 0 || n / 4 * 3 > keylen)
		return -1;
	pad = (b[n - 1] == '=') + (b[n - 2] == '=');
	got = EVP_DecodeBlock(key, (const unsigned char *)b, (int)n);
	return got < 0 ? -1 : got - (int)pad;
}

/* "v1,<base64>" of HMAC-SHA256(key, id.ts.body) */
static void
expected_sig(const unsigned char *key, int keylen, const char *id, const char *ts,
    const char *body, size_t len, char *out, size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t n = strlen(id) + strlen(ts) + 2 + len;
	unsigned char *msg = malloc(n + 1);
	char b64[96];

	snprintf((char *)msg, n + 1, "%s.%s.", id, ts);
	memcpy(msg + strlen(id) + strlen(ts) + 2, body, len);
	HMAC(EVP_sha256(), key, keylen, msg, n, mac, &maclen);
	free(msg);
	EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
	snprintf(out, outlen, "v1,%s", b64);
}

/* Any signature in the list matches any key. */
static bool
verify(const char *id, const char *ts, const char *sigs, const char *body, size_t len)
{
	char want[128];
	char *copy, *save = NULL, *tok;
	bool ok = false;

	if (id == NULL || ts == NULL || sigs == NULL)
		return false;
	for (int k = 0; k < rx.nkeys && !ok; k++) {
		expected_sig(rx.key[k], rx.keylen[k], id, ts, body, len, want, sizeof want);
		copy = strdup(sigs);
		for (tok = strtok_r(copy, " ", &save); tok != NULL && !ok;
		    tok = strtok_r(NULL, " ", &save))
			ok = strlen(tok) == strlen(want) && CRYPTO_memcmp(tok, want, strlen(want)) == 0;
		free(copy);
	}
	return ok;
}

static int
self_test(void)
{
	/* From the Standard Webhooks specification's reference tests. */
	const char *secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
	const char *id = "msg_p5jXN8AQM9LWM0D4loKWxJek", *ts = "1614265330";
	const char *body = "{\"test\": 2432232314}";
	const char *sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

	rx.keylen[0] = decode_secret(secret, rx.key[0], sizeof rx.key[0]);
	rx.nkeys = 1;
	if (rx.keylen[0] != 24 || !verify(id, ts, sig, body, strlen(body)) ||
	    !verify(id, ts, "v1,bogus v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", body,
	    strlen(body)) || verify(id, "1614265331", sig, body, strlen(body))) {
		fprintf(stderr, "receiver: self-test FAILED\n");
		return 1;
	}
	printf("receiver: self-test ok (Standard Webhooks reference vector)\n");
	return 0;
}

static void
control(struct evhttp_request *req)
{
	struct evkeyvalq q;
	const char *s;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);

	TAILQ_INIT(&q);
	if (evhttp_uri_get_query(u) != NULL)
		evhttp_parse_query_str(evhttp_uri_get_query(u), &q);
	if ((s = evhttp_find_header(&q, "status")) != NULL)
		rx.status = atoi(s);
	if ((s = evhttp_find_header(&q, "retry_after")) != NULL)
		rx.retry_after = atoi(s);
	evhttp_clear_headers(&q);
	/* What was logged before this request is in the file once it is answered. */
	if (rx.log != NULL)
		fflush(rx.log);
	evhttp_send_reply(req, 204, "No Content", NULL);
}

/* Answer a request (now or after --delay-ms) with the status it was given. */
struct pending {
	struct evhttp_request *req;
	int status;
};

static void
answer(struct evhttp_request *req, int status)
{
	struct evbuffer *out = evbuffer_new();
	char reason[16];

	if (rx.retry_after >= 0 && status != 200) {
		char ra[16];
		snprintf(ra, sizeof ra, "%d", rx.retry_after);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
	}
	evbuffer_add_printf(out, "%s\n", status >= 200 && status < 300 ? "ok" : "not now");
	snprintf(reason, sizeof reason, "S%d", status);
	evhttp_send_reply(req, status, reason, out);
	evbuffer_free(out);
	rx.inflight--;
}

static void
delayed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;

	answer(p->req, p->status);
	free(p);
}

/* --print: what a messaging system would show, one event at a time. */
static void
print_event(json_t *ev, bool valid)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *data = json_object_get(ev, "data");

	if (type == NULL)
		return;
	if (strcmp(type, "prompt.batch") == 0) {
		json_t *prompts = json_object_get(data, "prompts"), *p;
		size_t i;

		printf("\n== prompt.batch for pupil %s, %s (%zu questions)%s\n",
		    json_string_value(json_object_get(json_object_get(data, "pupil"), "external_id")),
		    json_string_value(json_object_get(data, "local_date")), json_array_size(prompts),
		    valid ? "" : " [BAD SIGNATURE]");
		json_array_foreach(prompts, i, p) {
			json_t *choices = json_object_get(p, "choices"), *c;
			size_t j;

			printf("  %zu. [%s] %s\n", i + 1, json_string_value(json_object_get(
			    json_object_get(p, "unit"), "name")), json_string_value(json_object_get(p, "text")));
			json_array_foreach(choices, j, c)
				printf("       %zu) %s\n", j, json_string_value(c));
			printf("     prompt_id %" JSON_INTEGER_FORMAT "  answer: %s\n",
			    json_integer_value(json_object_get(p, "prompt_id")),
			    json_string_value(json_object_get(p, "answer_url")) ?
			    json_string_value(json_object_get(p, "answer_url")) : "(no link)");
		}
	} else {
		char *d = json_dumps(data, JSON_COMPACT);
		printf("\n== %s%s\n  %.400s\n", type, valid ? "" : " [BAD SIGNATURE]", d ? d : "");
		free(d);
	}
	fflush(stdout);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *id = evhttp_find_header(h, "webhook-id");
	const char *ts = evhttp_find_header(h, "webhook-timestamp");
	const char *sig = evhttp_find_header(h, "webhook-signature");
	const char *path = evhttp_request_get_uri(req);
	size_t len = evbuffer_get_length(in);
	const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
	bool valid;

	if (strncmp(path, "/_control", 9) == 0) {
		control(req);
		return;
	}
	rx.requests++;
	rx.inflight++;
	valid = verify(id, ts, sig, body, len);
	if (valid) {
		long long t = atoll(ts), now = (long long)time(NULL);
		valid = t > now - TOLERANCE_S && t < now + TOLERANCE_S;
	}
	if (rx.print) {
		json_t *ev = json_loadb(body, len, 0, NULL);
		print_event(ev, valid);
		json_decref(ev);
	}
	if (rx.log != NULL) {
		json_t *rec = json_object(), *parsed = json_loadb(body, len, 0, NULL);
		json_t *type = json_object_get(parsed, "type");
		char *line;

		json_object_set_new(rec, "webhook_id", id ? json_string(id) : json_null());
		json_object_set_new(rec, "timestamp", ts ? json_string(ts) : json_null());
		json_object_set_new(rec, "type", json_is_string(type) ? json_copy(type) : json_null());
		json_object_set_new(rec, "valid", json_boolean(valid));
		json_object_set_new(rec, "status", json_integer(rx.status));
		json_object_set_new(rec, "inflight", json_integer(rx.inflight));
		json_object_set_new(rec, "path", json_string(path));
		json_object_set_new(rec, "body", json_stringn(body, len));
		line = json_dumps(rec, JSON_COMPACT);
		if (line != NULL) {
			fputs(line, rx.log);
			fputc('\n', rx.log);
			free(line);
		}
		json_decref(rec);
		json_decref(parsed);
	}
	if (rx.delay_ms > 0) {
		struct pending *p = malloc(sizeof *p);
		struct timeval tv = { rx.delay_ms / 1000, (rx.delay_ms % 1000) * 1000 };

		p->req = req;
		p->status = rx.status;
		event_base_once(rx.base, -1, EV_TIMEOUT, delayed_cb, p, &tv);
		return;
	}
	answer(req, rx.status);
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	if (rx.log != NULL)
		fflush(rx.log);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	switch (sig) {
	case SIGUSR1:
		rx.status = 200;
		break;
	case SIGUSR2:
		rx.status = rx.fail_status;
		break;
	default:
		event_base_loopbreak(rx.base);
		break;
	}
	if (rx.log != NULL)
		fflush(rx.log);
}

static void
usage(void)
{
	fprintf(stderr, "usage: receiver --port N [--host ADDR] [--secret whsec_...]..."
	    " [--log FILE] [--status CODE] [--retry-after S] [--port-file FILE]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *port_file = NULL;
	int port = -1;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct event *evs[5];
	const int sigs[4] = { SIGUSR1, SIGUSR2, SIGTERM, SIGINT };
	struct timeval tick = { 0, 20 * 1000 };

	if (argc == 1)
		return self_test();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--print") == 0) {
			rx.print = true;
			continue;
		}
		if (v == NULL)
			usage();
		if (strcmp(a, "--port") == 0)
			port = atoi(v);
		else if (strcmp(a, "--host") == 0)
			host = v;
		else if (strcmp(a, "--secret") == 0 && rx.nkeys < MAX_SECRETS) {
			rx.keylen[rx.nkeys] = decode_secret(v, rx.key[rx.nkeys], sizeof rx.key[0]);
			if (rx.keylen[rx.nkeys] < 1) {
				fprintf(stderr, "receiver: bad secret\n");
				return 2;
			}
			rx.nkeys++;
		} else if (strcmp(a, "--log") == 0) {
			if ((rx.log = fopen(v, "a")) == NULL) {
				perror(v);
				return 1;
			}
		} else if (strcmp(a, "--status") == 0)
			rx.status = rx.fail_status = atoi(v);
		else if (strcmp(a, "--retry-after") == 0)
			rx.retry_after = atoi(v);
		else if (strcmp(a, "--port-file") == 0)
			port_file = v;
		else if (strcmp(a, "--delay-ms") == 0)
			rx.delay_ms = atoi(v);
		else
			usage();
		i++;
	}
	if (port < 0)
		usage();
	signal(SIGPIPE, SIG_IGN);
	rx.base = event_base_new();
	http = evhttp_new(rx.base);
	evhttp_set_max_body_size(http, 4 << 20);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
	evhttp_set_gencb(http, request_cb, NULL);
	if ((bound = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port)) == NULL) {
		fprintf(stderr, "receiver: cannot listen on %s:%d\n", host, port);
		return 1;
	}
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		evutil_socket_t fd = evhttp_bound_socket_get_fd(bound);
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	if (port_file != NULL) {
		FILE *fp = fopen(port_file, "w");
		if (fp != NULL) {
			fprintf(fp, "%d\n", port);
			fclose(fp);
		}
	}
	printf("port %d\n", port);
	fflush(stdout);
	for (int i = 0; i < 4; i++) {
		evs[i] = evsignal_new(rx.base, sigs[i], signal_cb, NULL);
		event_add(evs[i], NULL);
	}
	evs[4] = event_new(rx.base, -1, EV_PERSIST, flush_cb, NULL);
	event_add(evs[4], &tick);
	event_base_dispatch(rx.base);
	for (int i = 0; i < 5; i++)
		event_free(evs[i]);
	evhttp_free(http);
	event_base_free(rx.base);
	if (rx.log != NULL)
		fclose(rx.log);
	OPENSSL_cleanse(rx.key, sizeof rx.key);
	return 0;
}
