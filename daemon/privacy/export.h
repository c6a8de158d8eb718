/*
 * export.h: everything recalld holds about one pupil (a subject access
 * request), as a zip of JSON files with a README inside that says what
 * each file is, in plain words.
 *
 * Blocking (libpq, libzip), and bounded in memory: each file is streamed
 * row by row from PostgreSQL (single-row mode) into a temporary file, and
 * libzip compresses from those files; a pupil with 50,000 reviews costs no
 * more memory than one with five. Everything is read in one REPEATABLE
 * READ transaction, so the files agree with each other. `recalld pupil
 * export` runs it; `serve` runs that command as a child process for
 * GET /v1/pupils/{id}/export, so that the event loop never waits on it.
 */
#ifndef RECALLD_EXPORT_H
#define RECALLD_EXPORT_H

#include <stddef.h>

#include <libpq-fe.h>

enum export_result {
	EXPORT_OK = 0,
	EXPORT_FAILED = 1,	/* the database or the disk: err says which */
	EXPORT_NO_PUPIL = 2,	/* no such pupil in that school */
};

enum export_result export_pupil(PGconn *pg, const char *school, const char *pupil,
    const char *zip_path, char *err, size_t errlen);

#endif
