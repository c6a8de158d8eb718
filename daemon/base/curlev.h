/*
 * curlev.h: libcurl's multi interface driven by a libevent loop: the
 * sockets libcurl asks to watch become events, its one timer an evtimer,
 * and each finished transfer is handed to the owner's callback. Shared by
 * the webhook sender (push.c) and the LMS client (hfetch.c).
 */
#ifndef RECALLD_CURLEV_H
#define RECALLD_CURLEV_H

#include <curl/curl.h>
#include <event2/event.h>

typedef struct curlev curlev;

/*
 * A transfer of the multi ended with res. The callback may remove the
 * handle (it must not use the message after that) and add new ones.
 */
typedef void (*curlev_done_fn)(CURL *easy, CURLcode res, void *arg);

/* Calls curl_global_init once per process. */
curlev *curlev_new(struct event_base *base, curlev_done_fn done, void *arg);
/* After removing every handle (which closes their sockets through it). */
void curlev_free(curlev *c);
/* The multi handle, for curl_multi_add_handle, _remove_handle and options. */
CURLM *curlev_multi(curlev *c);

#endif
