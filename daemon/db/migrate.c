/*
 * migrate.c: load, compare and apply the sql/NNNN_name.sql migrations, the
 * ones built into recalld (embed.h) or those of a directory.
 */
#include "autoconf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "migrate.h"
#include "pgrow.h"
#include "util.h"

/* Any fixed key works; all recalld processes must agree on it. */
#define MIGRATE_LOCK_KEY "7326155340182254601"

struct migration {
	int version;
	char *name;
	char *sql;
	char checksum[65];	/* SHA-256, hex */
};

struct migrate_set {
	struct migration *m;
	int n;
	char *source;	/* the directory, or EMBEDDED */
};

#define EMBEDDED "the migrations built into recalld"


const char migrate_status_sql[] =
    "SELECT version, name, checksum FROM schema_migrations ORDER BY version";

static const char create_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

/* "0001_init.sql" -> version 1, name "init" */
static bool
parse_name(const char *file, int *version, char **name)
{
	size_t n = strlen(file);

	if (n < 10 || strcmp(file + n - 4, ".sql") != 0)
		return false;
	for (int i = 0; i < 4; i++)
		if (!isdigit((unsigned char)file[i]))
			return false;
	if (file[4] != '_')
		return false;
	for (size_t i = 5; i < n - 4; i++)
		if (!islower((unsigned char)file[i]) && !isdigit((unsigned char)file[i]) &&
		    file[i] != '_')
			return false;
	*version = atoi(file);
	*name = xstrndup(file + 5, n - 9);
	return true;
}

static int
cmp_migration(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;
	return (x->version > y->version) - (x->version < y->version);
}

/* Takes sql (len bytes and a NUL) over, checksums it and adds it to s. */
static bool
add_one(migrate_set *s, int version, char *name, char *sql, size_t len, char *err,
    size_t errlen)
{
	struct migration m = { .version = version, .name = name, .sql = sql };

	if (strlen(sql) != len) {
		util_err(err, errlen, "%04d_%s.sql in %s: contains a NUL byte", version, name,
		    s->source);
		free(name);
		free(sql);
		return false;
	}
	util_sha256_hex(m.sql, m.checksum);
	s->m = xreallocarray(s->m, (size_t)s->n + 1, sizeof *s->m);
	s->m[s->n++] = m;
	return true;
}

static bool
read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, got;

	if (fp == NULL)
		return util_err(err, errlen, "%s: %s", path, strerror(errno));
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = xrealloc(buf, cap);
		}
		got = fread(buf + len, 1, cap - len - 1, fp);
		len += got;
	} while (got > 0);
	if (ferror(fp)) {
		fclose(fp);
		free(buf);
		return util_err(err, errlen, "%s: read error", path);
	}
	fclose(fp);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return true;
}

static bool
load_dir(migrate_set *s, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return util_err(err, errlen, "migrations directory %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		int version;
		char *name, *path, *sql = NULL;
		size_t len = 0;
		bool ok;

		if (de->d_name[0] == '.' || !parse_name(de->d_name, &version, &name))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		ok = read_file(path, &sql, &len, err, errlen);
		free(path);
		if (!ok) {
			free(name);
			closedir(d);
			return false;
		}
		if (!add_one(s, version, name, sql, len, err, errlen)) {
			closedir(d);
			return false;
		}
	}
	closedir(d);
	return true;
}

/* The build lists the files: a name that is no migration is a build mistake. */
static bool
load_embedded(migrate_set *s, char *err, size_t errlen)
{
	for (size_t i = 0; i < embed_sql.n; i++) {
		const struct embed_file *f = &embed_sql.files[i];
		int version;
		char *name, *sql;

		if (!parse_name(f->name, &version, &name))
			return util_err(err, errlen, "%s: %s is not named NNNN_name.sql",
			    s->source, f->name);
		sql = xmalloc(f->len + 1);
		memcpy(sql, f->data, f->len + 1);
		if (!add_one(s, version, name, sql, f->len, err, errlen))
			return false;
	}
	return true;
}

migrate_set *
migrate_load(const char *dir, char *err, size_t errlen)
{
	migrate_set *s = xcalloc(1, sizeof *s);
	bool embedded = dir == NULL || dir[0] == '\0';

	s->source = xstrdup(embedded ? EMBEDDED : dir);
	if (!(embedded ? load_embedded(s, err, errlen) : load_dir(s, dir, err, errlen)))
		goto fail;
	if (s->n == 0) {
		util_err(err, errlen, "no NNNN_name.sql files in %s", s->source);
		goto fail;
	}
	qsort(s->m, (size_t)s->n, sizeof *s->m, cmp_migration);
	for (int i = 1; i < s->n; i++) {
		if (s->m[i].version == s->m[i - 1].version) {
			util_err(err, errlen, "two migrations with version %04d in %s",
			    s->m[i].version, s->source);
			goto fail;
		}
	}
	return s;
fail:
	migrate_set_free(s);
	return NULL;
}

void
migrate_set_free(migrate_set *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->n; i++) {
		free(s->m[i].name);
		free(s->m[i].sql);
	}
	free(s->m);
	free(s->source);
	free(s);
}

int
migrate_count(const migrate_set *s)
{
	return s->n;
}

const char *
migrate_source(const migrate_set *s)
{
	return s->source;
}

static const struct migration *
find_version(const migrate_set *s, int version)
{
	for (int i = 0; i < s->n; i++)
		if (s->m[i].version == version)
			return &s->m[i];
	return NULL;
}

enum migrate_verdict
migrate_compare(const migrate_set *s, const PGresult *res, int *pending,
    char *err, size_t errlen)
{
	int rows = res ? PQntuples(res) : 0, applied = 0;

	for (int i = 0; i < rows; i++) {
		int v = pgrow_int(res, i, 0);
		const struct migration *m = find_version(s, v);

		if (m == NULL) {
			util_err(err, errlen,
			    "the database has migration %04d_%s, which this recalld does not "
			    "know: it was migrated by a newer version", v, PQgetvalue(res, i, 1));
			return MIGRATE_AHEAD;
		}
		if (strcmp(m->checksum, PQgetvalue(res, i, 2)) != 0) {
			util_err(err, errlen,
			    "migration %04d_%s.sql changed after it was applied (checksum "
			    "%.12s... in the database, %.12s... in %s): restore the "
			    "original file and put changes in a new migration",
			    v, m->name, PQgetvalue(res, i, 2), m->checksum, s->source);
			return MIGRATE_CHANGED;
		}
		applied++;
	}
	if (pending != NULL)
		*pending = s->n - applied;
	if (applied < s->n) {
		util_err(err, errlen,
		    "the database is behind: %d migration(s) to apply; run `recalld migrate`",
		    s->n - applied);
		return MIGRATE_BEHIND;
	}
	return MIGRATE_CURRENT;
}

static bool
exec_ok(PGconn *pg, const char *sql, ExecStatusType want, char *err, size_t errlen,
    const char *what)
{
	PGresult *res = PQexec(pg, sql);
	bool ok = res != NULL && PQresultStatus(res) == want;

	if (!ok)
		util_err(err, errlen, "%s: %s", what, res ? PQresultErrorMessage(res) :
		    PQerrorMessage(pg));
	PQclear(res);
	return ok;
}

/* The rows of sql, or *res NULL when schema_migrations does not exist yet. */
static bool
read_applied(PGconn *pg, const char *sql, PGresult **res, char *err, size_t errlen)
{
	PGresult *r = PQexec(pg, "SELECT to_regclass('schema_migrations') IS NOT NULL");
	bool exists;

	*res = NULL;
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		util_err(err, errlen, "cannot read schema_migrations: %s", PQerrorMessage(pg));
		PQclear(r);
		return false;
	}
	exists = pgrow_bool(r, 0, 0);
	PQclear(r);
	if (!exists)
		return true;
	r = PQexec(pg, sql);
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		util_err(err, errlen, "cannot read schema_migrations: %s", PQerrorMessage(pg));
		PQclear(r);
		return false;
	}
	*res = r;
	return true;
}

bool
migrate_check(PGconn *pg, const migrate_set *s, enum migrate_verdict *v,
    int *pending, char *err, size_t errlen)
{
	PGresult *res;

	if (!read_applied(pg, migrate_status_sql, &res, err, errlen))
		return false;
	*v = migrate_compare(s, res, pending, err, errlen);
	PQclear(res);
	return true;
}

bool
migrate_status(PGconn *pg, const migrate_set *s, FILE *out, enum migrate_verdict *v,
    char *err, size_t errlen)
{
	/* migrate_status_sql's columns first, as migrate_compare reads them. */
	static const char sql[] =
	    "SELECT version, name, checksum,"
	    " to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS\"Z\"')"
	    " FROM schema_migrations ORDER BY version";
	PGresult *res;
	int rows, r = 0, i = 0;

	if (!read_applied(pg, sql, &res, err, errlen))
		return false;
	rows = res ? PQntuples(res) : 0;
	fprintf(out, "%s: %d\n", s->source, s->n);
	/* Both lists are sorted by version: walk them side by side. */
	while (i < s->n || r < rows) {
		int dbv = r < rows ? pgrow_int(res, r, 0) : 0;

		if (r == rows || (i < s->n && s->m[i].version < dbv)) {
			fprintf(out, "  %04d_%-28s pending\n", s->m[i].version, s->m[i].name);
			i++;
		} else if (i == s->n || dbv < s->m[i].version) {
			fprintf(out, "  %04d_%-28s applied %s, unknown to this recalld\n", dbv,
			    PQgetvalue(res, r, 1), PQgetvalue(res, r, 3));
			r++;
		} else {
			bool same = strcmp(s->m[i].checksum, PQgetvalue(res, r, 2)) == 0;

			fprintf(out, "  %04d_%-28s applied %s%s\n", dbv, s->m[i].name,
			    PQgetvalue(res, r, 3), same ? "" : ", CHANGED since (checksum differs)");
			i++;
			r++;
		}
	}
	*v = migrate_compare(s, res, NULL, err, errlen);
	PQclear(res);
	return true;
}

static bool
apply_one(PGconn *pg, const struct migration *m, char *err, size_t errlen)
{
	char version[16];
	const char *params[3];
	PGresult *res;

	if (!exec_ok(pg, "BEGIN", PGRES_COMMAND_OK, err, errlen, "BEGIN"))
		return false;
	res = PQexec(pg, m->sql);
	if (res == NULL || (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)) {
		util_err(err, errlen, "%04d_%s.sql: %s", m->version, m->name,
		    res ? PQresultErrorMessage(res) : PQerrorMessage(pg));
		PQclear(res);
		goto rollback;
	}
	PQclear(res);
	snprintf(version, sizeof version, "%d", m->version);
	params[0] = version;
	params[1] = m->name;
	params[2] = m->checksum;
	res = PQexecParams(pg,
	    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
	    3, NULL, params, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		util_err(err, errlen, "recording %04d_%s: %s", m->version, m->name,
		    res ? PQresultErrorMessage(res) : PQerrorMessage(pg));
		PQclear(res);
		goto rollback;
	}
	PQclear(res);
	return exec_ok(pg, "COMMIT", PGRES_COMMAND_OK, err, errlen, "COMMIT");
rollback:
	PQclear(PQexec(pg, "ROLLBACK"));
	return false;
}

static void
quiet_notice(void *arg, const char *message)
{
	/* "already exists, skipping" and the like: expected, not news. */
}

bool
migrate_apply(PGconn *pg, const migrate_set *s, FILE *out, char *err, size_t errlen)
{
	enum migrate_verdict v;
	PGresult *res = NULL;
	bool ok = false;
	int applied = 0;

	PQsetNoticeProcessor(pg, quiet_notice, NULL);
	/* One migrator at a time, also across hosts; others wait here. */
	if (!exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", PGRES_TUPLES_OK,
	    err, errlen, "taking the migration lock"))
		return false;
	/* Created under the lock: concurrent CREATE IF NOT EXISTS can collide. */
	if (!exec_ok(pg, create_sql, PGRES_COMMAND_OK, err, errlen,
	    "creating schema_migrations"))
		goto done;
	res = PQexec(pg, migrate_status_sql);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		util_err(err, errlen, "reading schema_migrations: %s", PQerrorMessage(pg));
		goto done;
	}
	v = migrate_compare(s, res, NULL, err, errlen);
	if (v == MIGRATE_CHANGED || v == MIGRATE_AHEAD)
		goto done;
	for (int i = 0; i < s->n; i++) {
		bool have = false;

		for (int j = 0; j < PQntuples(res) && !have; j++)
			have = pgrow_int(res, j, 0) == s->m[i].version;
		if (have)
			continue;
		if (!apply_one(pg, &s->m[i], err, errlen))
			goto done;
		applied++;
		if (out != NULL)
			fprintf(out, "applied %04d_%s.sql\n", s->m[i].version, s->m[i].name);
	}
	if (out != NULL && applied > 0)
		fprintf(out, "database is current (%d applied now)\n", applied);
	else if (out != NULL)
		fprintf(out, "database is current (nothing to apply)\n");
	ok = true;
done:
	PQclear(res);
	if (PQstatus(pg) == CONNECTION_OK)
		PQclear(PQexec(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
	return ok;
}
