/* sbuf.c: a growing string (see sbuf.h). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "util.h"

static void
grow(struct sbuf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	b->cap = (b->len + more + 1) * 2;
	if (b->cap < 64)
		b->cap = 64;
	b->s = xrealloc(b->s, b->cap);
}

void
sbuf_put(struct sbuf *b, const char *s, size_t len)
{
	grow(b, len);
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
}

void
sbuf_str(struct sbuf *b, const char *s)
{
	sbuf_put(b, s, strlen(s));
}

void
sbuf_putc(struct sbuf *b, char c)
{
	sbuf_put(b, &c, 1);
}

void
sbuf_i64(struct sbuf *b, int64_t v)
{
	char tmp[24], *e = tmp + sizeof tmp, *d = e;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do
		*--d = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--d = '-';
	sbuf_put(b, d, (size_t)(e - d));
}

void
sbuf_f64(struct sbuf *b, double v)
{
	char tmp[32];
	int len = snprintf(tmp, sizeof tmp, "%.17g", v);

	sbuf_put(b, tmp, (size_t)len);
}

void
sbuf_json_str(struct sbuf *b, const char *s)
{
	const char *run = s;

	sbuf_put(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sbuf_put(b, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"': sbuf_put(b, "\\\"", 2); break;
		case '\\': sbuf_put(b, "\\\\", 2); break;
		case '\n': sbuf_put(b, "\\n", 2); break;
		case '\r': sbuf_put(b, "\\r", 2); break;
		case '\t': sbuf_put(b, "\\t", 2); break;
		default:
			snprintf(esc, sizeof esc, "\\u%04x", c);
			sbuf_put(b, esc, 6);
		}
	}
	sbuf_put(b, run, (size_t)(s - run));
	sbuf_put(b, "\"", 1);
}

static void
arr_sep(struct sbuf *b)
{
	sbuf_putc(b, b->n++ == 0 ? '{' : ',');
}

void
sbuf_arr_i64(struct sbuf *b, int64_t v)
{
	arr_sep(b);
	sbuf_i64(b, v);
}

void
sbuf_arr_f64(struct sbuf *b, double v)
{
	arr_sep(b);
	sbuf_f64(b, v);
}

void
sbuf_arr_null(struct sbuf *b)
{
	arr_sep(b);
	sbuf_put(b, "NULL", 4);
}

/* Quoted, so that commas, braces, spaces and the word NULL stay text. */
void
sbuf_arr_text(struct sbuf *b, const char *v)
{
	const char *run;

	if (v == NULL) {
		sbuf_arr_null(b);
		return;
	}
	arr_sep(b);
	sbuf_putc(b, '"');
	for (run = v; *v != '\0'; v++) {
		if (*v != '"' && *v != '\\')
			continue;
		sbuf_put(b, run, (size_t)(v - run));
		sbuf_putc(b, '\\');
		run = v;
	}
	sbuf_put(b, run, (size_t)(v - run));
	sbuf_putc(b, '"');
}

const char *
sbuf_arr_end(struct sbuf *b)
{
	if (b->n == 0)
		sbuf_putc(b, '{');
	sbuf_putc(b, '}');
	b->n = 0;
	return b->s;
}

const char *
sbuf_text(const struct sbuf *b)
{
	return b->s != NULL ? b->s : "";
}

void
sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	b->n = 0;
	if (b->s != NULL)
		b->s[0] = '\0';
}

char *
sbuf_take(struct sbuf *b)
{
	char *s = b->s != NULL ? b->s : xstrdup("");

	memset(b, 0, sizeof *b);
	return s;
}

void
sbuf_free(struct sbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof *b);
}

char *
sbuf_ids_literal(const int64_t *v, size_t n, size_t stride)
{
	struct sbuf b = { 0 };

	for (size_t i = 0; i < n; i++)
		sbuf_arr_i64(&b, *(const int64_t *)(const void *)((const char *)v + i * stride));
	sbuf_arr_end(&b);
	return sbuf_take(&b);
}
