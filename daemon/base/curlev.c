/*
 * curlev.c: libcurl multi on libevent (curlev.h).
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdlib.h>

#include "curlev.h"
#include "log.h"
#include "util.h"

struct curlev {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;	/* CURLMOPT_TIMERFUNCTION */
	curlev_done_fn done;
	void *arg;
};

/* A socket libcurl asked us to watch. */
struct sock {
	struct event *ev;
};

static void
check_multi(curlev *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg is invalid once the owner removes the handle */
		c->done(msg->easy_handle, msg->data.result, c->arg);
	}
}

static void
action(curlev *c, curl_socket_t fd, int mask)
{
	int running;
	CURLMcode mc = curl_multi_socket_action(c->multi, fd, mask, &running);

	if (mc != CURLM_OK)
		log_warnx("curl", "curl_multi_socket_action failed", "err=\"%s\"",
		    curl_multi_strerror(mc));
	check_multi(c);
}

static void
sock_ev(evutil_socket_t fd, short what, void *arg)
{
	action(arg, fd, ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
	    ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0));
}

static void
timer_ev(evutil_socket_t fd, short what, void *arg)
{
	action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_SOCKETFUNCTION: watch, re-watch or forget a socket. */
static int
socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	curlev *c = userp;
	struct sock *sk = socketp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (sk != NULL) {
			event_free(sk->ev);	/* deletes it first */
			free(sk);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
	if (sk == NULL) {
		sk = xcalloc(1, sizeof *sk);
		sk->ev = event_new(c->base, s, kind, sock_ev, c);
		curl_multi_assign(c->multi, s, sk);
	} else {
		event_del(sk->ev);
		event_assign(sk->ev, c->base, s, kind, sock_ev, c);
	}
	event_add(sk->ev, NULL);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: arm the one timer; never calls libcurl. */
static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	curlev *c = userp;
	struct timeval tv;

	(void)m;
	if (timeout_ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
	return 0;
}

curlev *
curlev_new(struct event_base *base, curlev_done_fn done, void *arg)
{
	static bool ready;
	curlev *c = xcalloc(1, sizeof *c);

	if (!ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			fatalx("curl", "curl_global_init failed", "");
		ready = true;
	}
	c->base = base;
	c->done = done;
	c->arg = arg;
	if ((c->multi = curl_multi_init()) == NULL)
		fatalx("curl", "curl_multi_init failed", "");
	if ((c->timer = evtimer_new(base, timer_ev, c)) == NULL)
		fatalx("curl", "out of memory", "");
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
}

void
curlev_free(curlev *c)
{
	if (c == NULL)
		return;
	curl_multi_cleanup(c->multi);
	event_free(c->timer);
	free(c);
}

CURLM *
curlev_multi(curlev *c)
{
	return c->multi;
}
