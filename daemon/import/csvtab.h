/*
 * csvtab.h: a whole CSV file as a table of strings, for the imports.
 *
 * Import files are small enough to hold in memory (a 10,000-pupil roster
 * is a few megabytes), and holding them lets the importers check every
 * row and every cross-file reference before anything is written. Real
 * files come from spreadsheets and school information systems: a UTF-8
 * byte order mark is skipped, CRLF and LF both end a record, quoted
 * fields may hold commas, quotes ("") and line breaks, blank lines and
 * rows of empty fields only (",,,") are skipped. Each record remembers the physical line it starts on, so a
 * message can point a person at the right line of their file.
 *
 * A malformed file (a quote never closed, text after a closing quote,
 * invalid UTF-8, a NUL byte) still yields the records before the fault:
 * csvtab_error says what and where, and the caller can go on checking
 * the good part so the report lists every problem at once.
 */
#ifndef RECALLD_CSVTAB_H
#define RECALLD_CSVTAB_H

#include <stdbool.h>
#include <stddef.h>

typedef struct csvtab csvtab;
typedef struct csvtab_map csvtab_map;

/* The largest field we keep; longer is a malformed file, not data. */
#define CSVTAB_FIELD_MAX	(1024 * 1024)

/* Parse buf (not NUL-terminated; not referenced after the call). */
csvtab *csvtab_parse(const void *buf, size_t len);
void csvtab_free(csvtab *t);

/* NULL when the whole input parsed; else why, and the record's first line. */
const char *csvtab_error(const csvtab *t, unsigned long *line);

/* The header is the first record; it is not counted among the rows. */
int csvtab_ncols(const csvtab *t);
const char *csvtab_header(const csvtab *t, int col);
/* Column of a header name (ASCII case-insensitive), or -1. */
int csvtab_col(const csvtab *t, const char *name);
/* A header name that appears twice, or NULL. */
const char *csvtab_dup_header(const csvtab *t);
unsigned long csvtab_header_line(const csvtab *t);

int csvtab_nrows(const csvtab *t);
unsigned long csvtab_line(const csvtab *t, int row);
int csvtab_nfields(const csvtab *t, int row);
/* A field, or "" when col < 0 or the row is short; valid until csvtab_free. */
const char *csvtab_get(const csvtab *t, int row, int col);

/* Characters (code points) of a valid UTF-8 string. */
size_t csvtab_utf8_len(const char *s);
/* Whether s has more than max characters. */
bool csvtab_too_long(const char *s, size_t max);

/*
 * A string-keyed map to long values, for ids seen in a file. Keys are
 * copied. put returns the value already stored under key (and leaves it),
 * or -1 after storing val, so a duplicate is found in one call.
 */
csvtab_map *csvtab_map_new(void);
void csvtab_map_free(csvtab_map *m);
long csvtab_map_put(csvtab_map *m, const char *key, long val);
long csvtab_map_get(const csvtab_map *m, const char *key);
/* Replace the value of a key that is there; false when it is not. */
bool csvtab_map_set(csvtab_map *m, const char *key, long val);
size_t csvtab_map_count(const csvtab_map *m);

#endif
