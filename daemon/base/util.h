/*
 * util.h: allocation wrappers that abort on out-of-memory (so callers are
 * not buried in NULL checks) and small string helpers.
 */
#ifndef RECALLD_UTIL_H
#define RECALLD_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Copy with truncation; always NUL-terminates when size > 0. */
size_t util_strlcpy(char *dst, const char *src, size_t size);

/* Format into err (may be NULL); returns false so error paths can return it. */
bool util_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The SHA-256 of a string as 64 lowercase hex digits and a NUL. */
void util_sha256_hex(const char *s, char out[65]);

/* Monotonic milliseconds, for latencies and deadlines. */
uint64_t util_mono_ms(void);
/* A pseudo-random double in [0, 1) for jitter (not for secrets). */
double util_jitter(void);

/*
 * in with every password a connection string may carry masked as ****:
 * URI userinfo (scheme://user:PASSWORD@host) and password=VALUE (quoted or
 * not, also ?password= in a URI). Into out, always NUL-terminated (cut at
 * outlen - 1); returns the length written. For anything logged or shown.
 */
size_t util_mask_passwords(const char *in, char *out, size_t outlen);

/* Characters of UTF-8 text (continuation bytes not counted). */
size_t util_utf8_chars(const char *s);

/*
 * The ids a NOTIFY payload names, comma-separated positive decimals: add
 * is called for each. False when s names none or is malformed (another
 * version's payload): the listener then looks at every school.
 */
bool util_each_id(const char *s, void (*add)(int64_t id, void *arg), void *arg);

#endif
