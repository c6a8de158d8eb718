/*
 * migrate.h: schema migrations. sql/NNNN_name.sql files (built into
 * recalld, or from a directory that overrides them) are applied in
 * order, each in its own transaction, under a PostgreSQL advisory lock,
 * and recorded in schema_migrations with a SHA-256 checksum. Applying is
 * blocking (the `migrate` command and start-up only); comparing a
 * schema_migrations result with the files is pure, so the daemon can check
 * from an asynchronous query.
 */
#ifndef RECALLD_MIGRATE_H
#define RECALLD_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

typedef struct migrate_set migrate_set;

enum migrate_verdict {
	MIGRATE_CURRENT,	/* every file applied, checksums equal */
	MIGRATE_BEHIND,		/* files not yet applied: run `recalld migrate` */
	MIGRATE_CHANGED,	/* an applied file was edited: refuse */
	MIGRATE_AHEAD,		/* the database has versions we do not know */
};

/* The query whose result migrate_compare reads (version, checksum). */
extern const char migrate_status_sql[];

/*
 * Read and checksum every NNNN_name.sql in dir; NULL or "": the
 * migrations built into recalld (embed.h).
 */
migrate_set *migrate_load(const char *dir, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void migrate_set_free(migrate_set *s);
int migrate_count(const migrate_set *s);
/* Where the set came from, for messages: the directory, or a phrase. */
const char *migrate_source(const migrate_set *s);

/*
 * res: the result of migrate_status_sql, or NULL when schema_migrations
 * does not exist yet. err explains anything but MIGRATE_CURRENT.
 */
enum migrate_verdict migrate_compare(const migrate_set *s, const PGresult *res,
    int *pending, char *err, size_t errlen);

/* Blocking: where does this database stand? */
bool migrate_check(PGconn *pg, const migrate_set *s, enum migrate_verdict *v,
    int *pending, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Blocking: print one line per migration known here or applied to the
 * database (pending, applied when, changed since, unknown here); *v and
 * err as for migrate_compare.
 */
bool migrate_status(PGconn *pg, const migrate_set *s, FILE *out,
    enum migrate_verdict *v, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Blocking: apply what is pending; progress lines go to out (may be NULL). */
bool migrate_apply(PGconn *pg, const migrate_set *s, FILE *out, char *err,
    size_t errlen) __attribute__((warn_unused_result));

#endif
