/* pgrow.c: typed values out of a PGresult (see pgrow.h). */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "pgrow.h"
#include "util.h"

int64_t
pgrow_i64(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int
pgrow_int(const PGresult *res, int row, int col)
{
	return (int)strtol(PQgetvalue(res, row, col), NULL, 10);
}

double
pgrow_f64(const PGresult *res, int row, int col)
{
	return strtod(PQgetvalue(res, row, col), NULL);
}

bool
pgrow_bool(const PGresult *res, int row, int col)
{
	return PQgetvalue(res, row, col)[0] == 't';
}

bool
pgrow_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) != 0;
}

const char *
pgrow_str(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

char *
pgrow_dup(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

int64_t
pgrow_i64_or(const PGresult *res, int row, int col, int64_t dflt)
{
	return PQgetisnull(res, row, col) ? dflt : pgrow_i64(res, row, col);
}

bool
pgrow_ids_parse(const char *s, int64_t *out, size_t n)
{
	size_t i = 0;
	char *end;

	if (*s++ != '{')
		return false;
	while (i < n && *s != '}' && *s != '\0') {
		out[i++] = strtoll(s, &end, 10);
		if (end == s)
			return false;
		s = end;
		if (*s == ',')
			s++;
	}
	return i == n && *s == '}';
}

int
pgrow_lower_bound(const PGresult *res, int col, int lo, int hi, int64_t key)
{
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (pgrow_i64(res, mid, col) < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
