/* csvtab.c: a CSV file as an in-memory table (libcsv), and a string map. */
#include "autoconf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>

#include "csvtab.h"
#include "util.h"

/* Strings live in chunks freed together: a table is dropped as a whole. */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	char data[];
};

struct arena {
	struct arena_chunk *head;
};

#define ARENA_CHUNK	(64 * 1024)

struct row {
	unsigned long line;
	int nf;
	char **f;
};

struct csvtab {
	struct arena a;
	struct row hdr;
	bool have_hdr;
	struct row *rows;
	int nrows, caprows;

	/* While parsing. */
	char **cur;
	int ncur, capcur;
	unsigned long line, row_line;
	bool row_open;
	bool failed;

	char *error;
	unsigned long error_line;
};

struct csvtab_map {
	struct arena a;
	char **keys;
	long *vals;
	size_t cap, count;
};

static void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;

	/* Keep pointers aligned: the tables store char * arrays here too. */
	n = (n + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
	if (c == NULL || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;

		c = xmalloc(sizeof *c + size);
		c->size = size;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	c->used += n;
	return c->data + c->used - n;
}

static char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void
arena_free(struct arena *a)
{
	while (a->head != NULL) {
		struct arena_chunk *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}

static void
fail(csvtab *t, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(csvtab *t, unsigned long line, const char *fmt, ...)
{
	va_list ap;

	if (t->failed)
		return;
	t->failed = true;
	t->error_line = line;
	va_start(ap, fmt);
	t->error = xvasprintf(fmt, ap);
	va_end(ap);
}

static void
on_field(void *s, size_t len, void *data)
{
	csvtab *t = data;

	if (t->ncur == t->capcur) {
		t->capcur = t->capcur ? t->capcur * 2 : 16;
		t->cur = xreallocarray(t->cur, (size_t)t->capcur, sizeof *t->cur);
	}
	t->cur[t->ncur++] = arena_strndup(&t->a, s != NULL ? s : "", s != NULL ? len : 0);
}

static void
on_row(int term, void *data)
{
	csvtab *t = data;
	struct row r;

	(void)term;
	if (t->have_hdr) {
		int i = 0;

		/* ",,,," rows: spreadsheets leave them after the data. */
		while (i < t->ncur && t->cur[i][0] == '\0')
			i++;
		if (i == t->ncur) {
			t->ncur = 0;
			t->row_open = false;
			return;
		}
	}
	r.line = t->row_line;
	r.nf = t->ncur;
	r.f = arena_alloc(&t->a, (size_t)(t->ncur ? t->ncur : 1) * sizeof(char *));
	memcpy(r.f, t->cur, (size_t)t->ncur * sizeof(char *));
	t->ncur = 0;
	t->row_open = false;
	if (!t->have_hdr) {
		t->hdr = r;
		t->have_hdr = true;
		return;
	}
	if (t->nrows == t->caprows) {
		t->caprows = t->caprows ? t->caprows * 2 : 64;
		t->rows = xreallocarray(t->rows, (size_t)t->caprows, sizeof *t->rows);
	}
	t->rows[t->nrows++] = r;
}

/* Length of a valid UTF-8 prefix of s[0..n): where a bad sequence starts. */
static size_t
utf8_valid_prefix(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return i;
		}
		if (n - i <= k)
			return i;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF. */
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return i;
		i += k + 1;
	}
	return n;
}

size_t
csvtab_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

bool
csvtab_too_long(const char *s, size_t max)
{
	/* Bytes bound characters from above: most values skip the count. */
	return strlen(s) > max && csvtab_utf8_len(s) > max;
}

csvtab *
csvtab_parse(const void *buf, size_t len)
{
	csvtab *t = xcalloc(1, sizeof *t);
	const char *s = buf, *end = s + len;
	struct csv_parser p;

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		fail(t, 0, "out of memory");
		return t;
	}
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	t->line = 1;
	/*
	 * A physical line at a time, as replay does: libcsv does not count
	 * lines, and a record's first line is what a person looks for.
	 */
	while (s < end && !t->failed) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl != NULL ? nl + 1 : end) - s);

		if (memchr(s, '\0', n) != NULL) {
			fail(t, t->line, "a NUL byte: this is not a text file");
			break;
		}
		if (utf8_valid_prefix((const unsigned char *)s, n) != n) {
			fail(t, t->line, "not valid UTF-8 (save the file as CSV UTF-8)");
			break;
		}
		/* libcsv skips blank lines: a record starts at the first other. */
		for (size_t i = 0; i < n && !t->row_open; i++)
			if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
				t->row_open = true;
				t->row_line = t->line;
			}
		if (csv_parse(&p, s, n, on_field, on_row, t) != n) {
			if (csv_error(&p) == CSV_EPARSE)
				fail(t, t->row_line, "malformed CSV in the record starting "
				    "here: a quote inside an unquoted field, text after a "
				    "closing quote, or a quote never closed");
			else
				fail(t, t->row_line, "%s", csv_strerror(csv_error(&p)));
			break;
		}
		if (csv_get_buffer_size(&p) > CSVTAB_FIELD_MAX) {
			fail(t, t->row_line, "a field longer than %d bytes (a quote "
			    "never closed?)", CSVTAB_FIELD_MAX);
			break;
		}
		if (nl != NULL)
			t->line++;
		s += n;
	}
	if (!t->failed && csv_fini(&p, on_field, on_row, t) != 0)
		fail(t, t->row_line, "malformed CSV: a quoted field in the record "
		    "starting here is never closed");
	csv_free(&p);
	free(t->cur);
	t->cur = NULL;
	if (!t->have_hdr && !t->failed)
		fail(t, 1, "empty file: expected a header line");
	return t;
}

void
csvtab_free(csvtab *t)
{
	if (t == NULL)
		return;
	arena_free(&t->a);
	free(t->rows);
	free(t->cur);
	free(t->error);
	free(t);
}

const char *
csvtab_error(const csvtab *t, unsigned long *line)
{
	if (line != NULL)
		*line = t->error_line;
	return t->error;
}

int
csvtab_ncols(const csvtab *t)
{
	return t->have_hdr ? t->hdr.nf : 0;
}

const char *
csvtab_header(const csvtab *t, int col)
{
	return col >= 0 && col < csvtab_ncols(t) ? t->hdr.f[col] : "";
}

unsigned long
csvtab_header_line(const csvtab *t)
{
	return t->have_hdr ? t->hdr.line : 1;
}

int
csvtab_col(const csvtab *t, const char *name)
{
	for (int i = 0; i < csvtab_ncols(t); i++)
		if (strcasecmp(t->hdr.f[i], name) == 0)
			return i;
	return -1;
}

const char *
csvtab_dup_header(const csvtab *t)
{
	for (int i = 0; i < csvtab_ncols(t); i++)
		for (int j = 0; j < i; j++)
			if (t->hdr.f[i][0] != '\0' && strcasecmp(t->hdr.f[i], t->hdr.f[j]) == 0)
				return t->hdr.f[i];
	return NULL;
}

int
csvtab_nrows(const csvtab *t)
{
	return t->nrows;
}

unsigned long
csvtab_line(const csvtab *t, int row)
{
	return t->rows[row].line;
}

int
csvtab_nfields(const csvtab *t, int row)
{
	return t->rows[row].nf;
}

const char *
csvtab_get(const csvtab *t, int row, int col)
{
	if (col < 0 || col >= t->rows[row].nf)
		return "";
	return t->rows[row].f[col];
}

/* The map: open addressing, FNV-1a; ids are short strings. */

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

csvtab_map *
csvtab_map_new(void)
{
	csvtab_map *m = xcalloc(1, sizeof *m);

	m->cap = 64;
	m->keys = xcalloc(m->cap, sizeof *m->keys);
	m->vals = xcalloc(m->cap, sizeof *m->vals);
	return m;
}

void
csvtab_map_free(csvtab_map *m)
{
	if (m == NULL)
		return;
	arena_free(&m->a);
	free(m->keys);
	free(m->vals);
	free(m);
}

static size_t
map_slot(const csvtab_map *m, const char *key)
{
	size_t i = (size_t)hash_str(key) & (m->cap - 1);

	while (m->keys[i] != NULL && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void
map_grow(csvtab_map *m)
{
	char **keys = m->keys;
	long *vals = m->vals;
	size_t cap = m->cap;

	m->cap *= 2;
	m->keys = xcalloc(m->cap, sizeof *m->keys);
	m->vals = xcalloc(m->cap, sizeof *m->vals);
	for (size_t i = 0; i < cap; i++) {
		if (keys[i] != NULL) {
			size_t j = map_slot(m, keys[i]);

			m->keys[j] = keys[i];
			m->vals[j] = vals[i];
		}
	}
	free(keys);
	free(vals);
}

long
csvtab_map_put(csvtab_map *m, const char *key, long val)
{
	size_t i;

	if ((m->count + 1) * 2 > m->cap)
		map_grow(m);
	i = map_slot(m, key);
	if (m->keys[i] != NULL)
		return m->vals[i];
	m->keys[i] = arena_strndup(&m->a, key, strlen(key));
	m->vals[i] = val;
	m->count++;
	return -1;
}

long
csvtab_map_get(const csvtab_map *m, const char *key)
{
	size_t i = map_slot(m, key);

	return m->keys[i] != NULL ? m->vals[i] : -1;
}

bool
csvtab_map_set(csvtab_map *m, const char *key, long val)
{
	size_t i = map_slot(m, key);

	if (m->keys[i] == NULL)
		return false;
	m->vals[i] = val;
	return true;
}

size_t
csvtab_map_count(const csvtab_map *m)
{
	return m->count;
}
