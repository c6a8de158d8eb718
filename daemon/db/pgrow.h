/*
 * pgrow.h: reading typed values out of a PGresult (text format). The
 * queries are ours, so a value is well-formed by its column's type; SQL
 * NULL reads as 0, false or NULL.
 */
#ifndef RECALLD_PGROW_H
#define RECALLD_PGROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

int64_t pgrow_i64(const PGresult *res, int row, int col);
int pgrow_int(const PGresult *res, int row, int col);
double pgrow_f64(const PGresult *res, int row, int col);
bool pgrow_bool(const PGresult *res, int row, int col);	/* "t" */
bool pgrow_null(const PGresult *res, int row, int col);
/* The text, or NULL for SQL NULL; valid while res is. */
const char *pgrow_str(const PGresult *res, int row, int col);
/* A copy of the text (caller frees), or NULL for SQL NULL. */
char *pgrow_dup(const PGresult *res, int row, int col);
/* An int column, or dflt for SQL NULL. */
int64_t pgrow_i64_or(const PGresult *res, int row, int col, int64_t dflt);

/* Parse an int8[] literal "{1,2,3}" into out, exactly n entries. */
bool pgrow_ids_parse(const char *s, int64_t *out, size_t n) __attribute__((warn_unused_result));

/* First row in [lo, hi) whose int8 column col is >= key (rows sorted by it). */
int pgrow_lower_bound(const PGresult *res, int col, int lo, int hi, int64_t key);

#endif
