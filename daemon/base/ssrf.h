/*
 * ssrf.h: the SSRF guard of webhook transfers. Targets resolving to
 * loopback, private, link-local, CGNAT, multicast or reserved addresses
 * are refused at connect time, after DNS (so a name that resolves to
 * 127.0.0.1 is caught), unless private targets are allowed.
 */
#ifndef RECALLD_SSRF_H
#define RECALLD_SSRF_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/socket.h>

#include <curl/curl.h>

/* One transfer's guard; the transfer's owner embeds it. */
struct ssrf_guard {
	bool allow_private;	/* let private targets through */
	char refused[320];	/* why a connection was refused; "" if none was */
};

/*
 * Guard every connection of e with g (g must outlive the transfer), and
 * use no proxy, so the guard sees the target itself. Clears g->refused.
 */
void ssrf_guard_easy(CURL *e, struct ssrf_guard *g);
/*
 * Whether the guard refuses sa; why names the range ("loopback
 * 127.0.0.1"). IPv4-mapped, NAT64 and 6to4 IPv6 forms are judged by the
 * IPv4 address inside.
 */
bool ssrf_addr_blocked(const struct sockaddr *sa, char *why, size_t len);

#endif
