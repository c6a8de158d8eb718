/* ssrf.c: the SSRF guard of webhook transfers (see ssrf.h). */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "ssrf.h"
#include "util.h"

static bool
v4_blocked(uint32_t a, char *why, size_t len)
{
	static const struct { uint32_t net; int bits; const char *name; } ranges[] = {
		{ 0x00000000, 8, "this-network" },
		{ 0x0a000000, 8, "private" },
		{ 0x64400000, 10, "carrier-grade NAT" },
		{ 0x7f000000, 8, "loopback" },
		{ 0xa9fe0000, 16, "link-local" },
		{ 0xac100000, 12, "private" },
		{ 0xc0000000, 24, "IETF protocol assignments" },
		{ 0xc0000200, 24, "documentation" },
		{ 0xc0586300, 24, "6to4 relay" },
		{ 0xc0a80000, 16, "private" },
		{ 0xc6120000, 15, "benchmarking" },
		{ 0xc6336400, 24, "documentation" },
		{ 0xcb007100, 24, "documentation" },
		{ 0xe0000000, 4, "multicast" },
		{ 0xf0000000, 4, "reserved" },
	};
	char txt[INET_ADDRSTRLEN];
	struct in_addr in = { htonl(a) };

	for (size_t i = 0; i < nitems(ranges); i++) {
		uint32_t mask = ranges[i].bits == 0 ? 0 : 0xffffffffu << (32 - ranges[i].bits);
		if ((a & mask) == ranges[i].net) {
			inet_ntop(AF_INET, &in, txt, sizeof txt);
			snprintf(why, len, "%s address %s", ranges[i].name, txt);
			return true;
		}
	}
	return false;
}

static uint32_t
v4_at(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool
v6_blocked(const struct in6_addr *a6, char *why, size_t len)
{
	static const uint8_t zero[16];
	const uint8_t *b = a6->s6_addr;
	char txt[INET6_ADDRSTRLEN];
	const char *name = NULL;

	inet_ntop(AF_INET6, a6, txt, sizeof txt);
	if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) {
		name = b[15] == 1 ? "loopback" : "unspecified";
	} else if (memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff) {
		/* ::ffff:a.b.c.d, IPv4-mapped */
		if (v4_blocked(v4_at(b + 12), why, len))
			return true;
		return false;
	} else if (memcmp(b, zero, 12) == 0) {
		name = "IPv4-compatible";	/* deprecated ::a.b.c.d */
	} else if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) {
		/* 64:ff9b::/96 and 64:ff9b:1::/48, NAT64: judge the IPv4 inside */
		if (v4_blocked(v4_at(b + 12), why, len))
			return true;
		return false;
	} else if (b[0] == 0x20 && b[1] == 0x02) {
		/* 2002::/16, 6to4 */
		if (v4_blocked(v4_at(b + 2), why, len))
			return true;
		return false;
	} else if ((b[0] & 0xfe) == 0xfc) {
		name = "unique-local";
	} else if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
		name = "link-local";
	} else if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) {
		name = "site-local";
	} else if (b[0] == 0xff) {
		name = "multicast";
	} else if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) {
		name = "documentation";
	} else if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00) {
		name = "Teredo";
	} else if (b[0] == 0x01 && b[1] == 0x00 && memcmp(b + 2, zero, 6) == 0) {
		name = "discard-only";
	} else if ((b[0] & 0xe0) != 0x20) {
		name = "reserved";	/* only 2000::/3 is global unicast */
	}
	if (name == NULL)
		return false;
	snprintf(why, len, "%s address %s", name, txt);
	return true;
}

bool
ssrf_addr_blocked(const struct sockaddr *sa, char *why, size_t len)
{
	if (sa->sa_family == AF_INET)
		return v4_blocked(ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr),
		    why, len);
	if (sa->sa_family == AF_INET6)
		return v6_blocked(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, why, len);
	snprintf(why, len, "address family %d", sa->sa_family);
	return true;
}

/* CURLOPT_OPENSOCKETFUNCTION: the address is resolved; refuse private ones. */
static curl_socket_t
open_socket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct ssrf_guard *g = clientp;
	char why[160];

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (!g->allow_private && ssrf_addr_blocked(&addr->addr, why, sizeof why)) {
		if (g->refused[0] == '\0')
			snprintf(g->refused, sizeof g->refused,
			    "refused: the target resolves to a %s (webhooks.allow_private is false)", why);
		return CURL_SOCKET_BAD;
	}
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

void
ssrf_guard_easy(CURL *e, struct ssrf_guard *g)
{
	g->refused[0] = '\0';
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, g);
}
