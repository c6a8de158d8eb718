/*
 * dashboard.h: the teachers' dashboard, static files served under
 * /dashboard/. They are built into recalld, or read into memory once at
 * start-up from a directory that overrides them (nothing reads
 * the disk while the loop runs) and served with their content type, an
 * ETag, "Cache-Control: no-cache" and a strict Content-Security-Policy.
 */
#ifndef RECALLD_DASHBOARD_H
#define RECALLD_DASHBOARD_H

#include <stddef.h>

#include "http.h"

typedef struct dashboard dashboard;

/*
 * Every regular file of dir (flat, plain names); NULL or "": the files
 * built into recalld (embed.h). NULL and err if unreadable.
 */
dashboard *dashboard_load(const char *dir, char *err, size_t errlen);
void dashboard_free(dashboard *d);
size_t dashboard_nfiles(const dashboard *d);

/* GET /dashboard/ and /dashboard/{name}; the app's dashboard may be NULL (404). */
void dashboard_routes(http_server *s);

#endif
