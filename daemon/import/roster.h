/*
 * roster.h: OneRoster 1.2 (and 1.1) CSV roster import.
 *
 * Reads a OneRoster CSV set, from a directory or a zip archive (files
 * may sit in a subfolder of the zip; they are found by name), checks all
 * of it in memory and builds an import plan (plan.h) that upserts the
 * school's courses, classes, pupils, teachers and enrollments by
 * sourcedId (stored as external_id). Files used:
 *
 *   manifest.csv        required: manifest.version 1.0, oneroster.version
 *                       1.2 (1.1 accepted), file.NAME = bulk|delta|absent
 *   courses.csv         sourcedId, title
 *   classes.csv         sourcedId, title, courseSourcedId
 *   users.csv           sourcedId, role (student: pupil, teacher: teacher,
 *                       other OneRoster roles skipped with a note),
 *                       givenName, familyName; optional grades (a pupil's
 *                       year group), email (teachers), enabledUser
 *   roles.csv           1.2 sets whose users.csv has no role column:
 *                       userSourcedId, role (a primary roleType wins)
 *   enrollments.csv     sourcedId, classSourcedId, userSourcedId, role
 *                       (student, teacher; others skipped with a note)
 *   orgs.csv, academicSessions.csv   checked, not stored
 *
 * Every file also has sourcedId, status and dateLastModified; columns
 * are found by header name in any order, other columns are ignored.
 * status tobedeleted deactivates a row (rows are never deleted). A file
 * in bulk mode is the whole truth: rows of the school of that kind that
 * are not in it are deactivated. In delta mode only the listed rows
 * change. Unchanged rows are not written at all.
 *
 * All or nothing: any problem (a missing file or column, malformed CSV,
 * a bad status, a duplicate sourcedId, a field too long for the schema,
 * a reference to a class, course or user that is in neither the files
 * nor, in delta mode, the database) rejects the import as a whole; the
 * report lists every problem found with its file and line.
 */
#ifndef RECALLD_ROSTER_H
#define RECALLD_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

/* The largest single file read, from a directory or out of a zip. */
#define ROSTER_FILE_MAX	(256UL * 1024 * 1024)

/*
 * Build the plan for dir (or a zip in memory) into *out; now_iso is
 * every row's updated_at. Problems with the data are in the plan's
 * report (plan_nrejected > 0: do not run it). Returns false, with err
 * and no plan, only when the input cannot be read at all: no such
 * directory, not a zip archive.
 */
bool roster_parse_dir(const char *dir, int64_t school_id, const char *now_iso,
    plan **out, char *err, size_t errlen) __attribute__((warn_unused_result));
bool roster_parse_zip(const void *buf, size_t len, int64_t school_id,
    const char *now_iso, plan **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
