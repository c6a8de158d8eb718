/*
 * embed.h: files compiled into recalld at build time, so that the binary
 * alone can migrate a database and serve the dashboard. embed.sh writes one
 * C source per set from a file list in Makefile.am; each set is declared
 * here. The data are read-only and live as long as the process.
 */
#ifndef RECALLD_EMBED_H
#define RECALLD_EMBED_H

#include <stddef.h>

struct embed_file {
	const char *name;		/* the file's base name, e.g. "0001_init.sql" */
	const unsigned char *data;	/* len bytes, then a NUL */
	size_t len;
};

struct embed_set {
	const struct embed_file *files;
	size_t n;
};

/* The migrations, sql/NNNN_name.sql (dist_sql_DATA). */
extern const struct embed_set embed_sql;
/* The teachers' dashboard's files, api/dashboard (dist_dashboard_DATA). */
extern const struct embed_set embed_dashboard;

/* The API's OpenAPI document, api/openapi.yaml (dist_doc_DATA). */
extern const struct embed_set embed_api;

/* The file called name in s, or NULL. */
const struct embed_file *embed_find(const struct embed_set *s, const char *name);

#endif
