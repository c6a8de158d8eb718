/* dashboard.c: the dashboard's static files (see dashboard.h). */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/evp.h>

#include "app.h"
#include "dashboard.h"
#include "embed.h"
#include "util.h"

#define MAX_FILES 64
#define MAX_FILE_SIZE (4 << 20)

/* Our own scripts and styles only: no inline code, nothing from elsewhere. */
#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;" \
	" connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors "

struct file {
	char *name;
	const char *type;
	char etag[36];		/* "…" around 32 hex digits of SHA-256 */
	const unsigned char *data;	/* owned, or the files built into recalld */
	unsigned char *owned;
	size_t len;
};

struct dashboard {
	struct file files[MAX_FILES];
	size_t n;
};

static const struct {
	const char *ext, *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".txt", "text/plain; charset=utf-8" },
};

static const char *
type_of(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < nitems(types); i++) {
		size_t e = strlen(types[i].ext);
		if (n > e && strcmp(name + n - e, types[i].ext) == 0)
			return types[i].type;
	}
	return NULL;
}

/* Names a URL segment can carry as is: no dot files, no escapes, no slashes. */
static bool
plain_name(const char *s)
{
	if (*s == '\0' || *s == '.' || strlen(s) > 100)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return false;
	return true;
}

static void
set_etag(struct file *f)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(f->data, f->len, md, &mdlen, EVP_sha256(), NULL);
	f->etag[0] = '"';
	for (unsigned int i = 0; i < 16 && i < mdlen; i++)
		snprintf(f->etag + 1 + 2 * i, 3, "%02x", md[i]);
	util_strlcpy(f->etag + 33, "\"", 2);
}

static bool
read_file(const char *path, struct file *f, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	bool ok = false;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fileno(fp), &st) != 0 || st.st_size > MAX_FILE_SIZE) {
		snprintf(err, errlen, "%s: unreadable or larger than 4 MiB", path);
		goto done;
	}
	f->len = (size_t)st.st_size;
	f->owned = xmalloc(f->len + 1);
	f->data = f->owned;
	if (f->len > 0 && fread(f->owned, 1, f->len, fp) != f->len) {
		snprintf(err, errlen, "%s: short read", path);
		goto done;
	}
	set_etag(f);
	ok = true;
done:
	fclose(fp);
	return ok;
}

/* The build lists the files: the same rules as for a directory, strictly. */
static dashboard *
load_embedded(char *err, size_t errlen)
{
	dashboard *d = xcalloc(1, sizeof *d);

	for (size_t i = 0; i < embed_dashboard.n; i++) {
		const struct embed_file *e = &embed_dashboard.files[i];
		struct file *f;

		if (!plain_name(e->name) || type_of(e->name) == NULL || d->n == MAX_FILES) {
			snprintf(err, errlen, "built-in dashboard file %s: not a plain name of a"
			    " known type, or more than %d files", e->name, MAX_FILES);
			dashboard_free(d);
			return NULL;
		}
		f = &d->files[d->n++];
		f->name = xstrdup(e->name);
		f->type = type_of(e->name);
		f->data = e->data;
		f->len = e->len;
		set_etag(f);
	}
	return d;
}

dashboard *
dashboard_load(const char *dir, char *err, size_t errlen)
{
	dashboard *d;
	DIR *dp;
	struct dirent *de;

	if (dir == NULL || dir[0] == '\0')
		return load_embedded(err, errlen);
	d = xcalloc(1, sizeof *d);
	if ((dp = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	while ((de = readdir(dp)) != NULL) {
		char *path;
		struct stat st;
		struct file *f;
		bool ok;

		if (!plain_name(de->d_name) || type_of(de->d_name) == NULL)
			continue;	/* editor backups, dot files, unknown types */
		path = xasprintf("%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (d->n == MAX_FILES) {
			snprintf(err, errlen, "%s: more than %d files", dir, MAX_FILES);
			free(path);
			goto fail;
		}
		f = &d->files[d->n++];
		f->name = xstrdup(de->d_name);
		f->type = type_of(de->d_name);
		ok = read_file(path, f, err, errlen);
		free(path);
		if (!ok)
			goto fail;
	}
	closedir(dp);
	return d;
fail:
	if (dp != NULL)
		closedir(dp);
	dashboard_free(d);
	return NULL;
}

void
dashboard_free(dashboard *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->files[i].name);
		free(d->files[i].owned);
	}
	free(d);
}

size_t
dashboard_nfiles(const dashboard *d)
{
	return d ? d->n : 0;
}

static const struct file *
find(const dashboard *d, const char *name)
{
	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->files[i].name, name) == 0)
			return &d->files[i];
	return NULL;
}

static void
serve_file(http_ctx *ctx, struct app *app, const char *name)
{
	struct evhttp_request *req = http_ctx_req(ctx);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const struct file *f = find(app->dashboard, name);
	const char *inm;
	struct evbuffer *b;

	if (f == NULL) {
		http_problem(ctx, 404, "not-found", "Not found", app->dashboard == NULL ?
		    "the dashboard's files could not be read (see dashboard.dir)" :
		    "no such file in the dashboard");
		return;
	}
	{
		/* Framed only by the school's LMS (a teacher's LTI launch lands here). */
		const char *anc = app->cfg->lti_frame_ancestors;
		char *csp = xasprintf("%s%s", CSP, anc[0] != '\0' ? anc : "'none'");

		evhttp_add_header(out, "Content-Security-Policy", csp);
		free(csp);
		if (anc[0] == '\0')
			evhttp_add_header(out, "X-Frame-Options", "DENY");
	}
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");
	/* Small files, revalidated each time: an upgrade shows at the next load. */
	evhttp_add_header(out, "Cache-Control", "no-cache");
	evhttp_add_header(out, "ETag", f->etag);
	inm = evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
	if (inm != NULL && strstr(inm, f->etag) != NULL) {
		http_reply(ctx, 304, NULL, NULL);
		return;
	}
	b = evbuffer_new();
	evbuffer_add_reference(b, f->data, f->len, NULL, NULL);
	http_reply(ctx, 200, f->type, b);
	evbuffer_free(b);
}

static void
index_get(http_ctx *ctx, void *app, const void *data)
{
	struct evhttp_request *req = http_ctx_req(ctx);
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL;

	(void)data;
	/* The page's relative links need the trailing slash. */
	if (path == NULL || path[strlen(path) - 1] != '/') {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Location", "/dashboard/");
		http_reply_text(ctx, 301, "text/plain; charset=utf-8", "see /dashboard/\n");
		return;
	}
	serve_file(ctx, app, "index.html");
}

static void
file_get(http_ctx *ctx, void *app, const void *data)
{
	const char *name = http_ctx_param(ctx, "name");

	(void)data;
	serve_file(ctx, app, name != NULL && plain_name(name) ? name : "");
}

void
dashboard_routes(http_server *s)
{
	http_route(s, EVHTTP_REQ_GET, "/dashboard", index_get);
	http_route(s, EVHTTP_REQ_GET, "/dashboard/{name}", file_get);
}
