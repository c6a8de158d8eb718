/* util.c: allocation wrappers and string helpers. */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util.h"

static void
oom(void)
{
	/* No logger here: it may need memory itself. */
	static const char msg[] = "recalld: out of memory\n";
	ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)n;
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom();
	return q;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		oom();
	return xrealloc(p, nmemb * size);
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (p == NULL)
		oom();
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

size_t
util_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

bool
util_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return false;
}

uint64_t
util_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

double
util_jitter(void)
{
	/* Per-process state is fine: jitter only spreads retries apart. */
	static uint64_t s;

	if (s == 0)
		s = ((uint64_t)getpid() << 32) ^ util_mono_ms() ^ 0x9e3779b97f4a7c15ULL;
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return (double)(s >> 11) / 9007199254740992.0;
}

void
util_sha256_hex(const char *s, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		abort();	/* SHA-256 always works; as out of memory otherwise */
	for (unsigned int i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

/* A password value's end: a quoted '...' (with \\ escapes), else a run up to a separator. */
static size_t
password_end(const char *s, size_t i)
{
	if (s[i] == '\'') {
		for (i++; s[i] != '\0' && s[i] != '\''; i++)
			if (s[i] == '\\' && s[i + 1] != '\0')
				i++;
		return s[i] == '\'' ? i + 1 : i;
	}
	while (s[i] != '\0' && s[i] != ' ' && s[i] != '&' && s[i] != '"' && s[i] != '\n')
		i++;
	return i;
}

size_t
util_mask_passwords(const char *in, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (outlen == 0)
		return 0;
#define PUT(c) do { if (o + 1 < outlen) out[o++] = (c); } while (0)
	while (in[i] != '\0') {
		if (strncmp(in + i, "://", 3) == 0) {
			/* scheme://user:password@host: the userinfo ends at '@' */
			size_t j = i + 3, colon = 0;

			while (in[j] != '\0' && in[j] != '@' && in[j] != '/' && in[j] != ' ' &&
			    in[j] != '"' && in[j] != '\n') {
				if (in[j] == ':' && colon == 0)
					colon = j;
				j++;
			}
			for (size_t k = i; k < (in[j] == '@' && colon ? colon + 1 : i + 3); k++)
				PUT(in[k]);
			if (in[j] == '@' && colon) {
				for (const char *m = "****"; *m; m++)
					PUT(*m);
				i = j;
			} else
				i += 3;
			continue;
		}
		if (strncmp(in + i, "password", 8) == 0) {
			size_t j = i + 8;

			while (in[j] == ' ')
				j++;
			if (in[j] == '=') {
				for (j++; in[j] == ' '; j++)
					;
				for (size_t k = i; k < j; k++)
					PUT(in[k]);
				for (const char *m = "****"; *m; m++)
					PUT(*m);
				i = password_end(in, j);
				continue;
			}
		}
		PUT(in[i]);
		i++;
	}
#undef PUT
	out[o] = '\0';
	return o;
}

size_t
util_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

bool
util_each_id(const char *s, void (*add)(int64_t id, void *arg), void *arg)
{
	const char *p = s;
	char *end;
	bool any = false;

	while (p != NULL && *p != '\0') {
		long long v;

		errno = 0;
		v = strtoll(p, &end, 10);
		if (end == p || v <= 0 || errno != 0 || (*end != ',' && *end != '\0'))
			return false;
		add((int64_t)v, arg);
		any = true;
		p = *end == ',' ? end + 1 : end;
	}
	return any;
}
