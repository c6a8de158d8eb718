/*
 * qbank.h: the question bank CSV import.
 *
 * The format (README: "Question bank CSV"):
 *
 *   One row per question, UTF-8 (a byte order mark is fine), a header line
 *   naming the columns. Columns are found by name, in any order, ASCII
 *   case aside; other columns are ignored. Quoted fields may hold commas,
 *   quotes ("") and line breaks.
 *
 *   column       needed        meaning
 *   course_id    always        the course's external id; created if new
 *   course_name  new course    the course's name, 1-200 characters
 *                              (empty: an existing course keeps its name)
 *   unit_id      always        the unit's external id; created if new
 *   unit_name    new unit      the unit's name, 1-200 characters
 *                              (empty: an existing unit keeps its name)
 *   unit_order   no            the unit's place in its course, an integer
 *                              0-100000 (new units default to 0)
 *   question_id  always        the question's external id
 *   kind         always        mcq, short, self or external
 *   prompt       always        the question, 1-2000 characters
 *   choices      mcq           2-10 choices separated by |, each 1-500
 *                              characters, no two alike; empty otherwise
 *   answer       mcq, short    mcq: the right choice, its text exactly as
 *                              in choices, or its number counting from 1
 *                              (a choice's text wins over a number);
 *                              short: the accepted answers separated by |
 *                              (1-50, each 1-500 characters);
 *                              empty for self and external
 *   explanation  no            shown after an answer, up to 2000 characters
 *   active       no            true or false (default true)
 *   fast_ms      no            a right answer faster than this many ms is
 *                              rated Easy (a positive integer)
 *   slow_ms      no            a right answer slower than this is rated
 *                              Hard (a positive integer, above fast_ms)
 *
 *   Spaces around each choice and answer are ignored; a choice cannot
 *   contain |. Rows of one course or unit must not disagree on its name,
 *   its order or (for a unit) its course; one row saying it is enough.
 *
 *   Re-importing updates questions by question_id and keeps history: when
 *   a question's content (kind, prompt, choices, answer, explanation)
 *   changes, the old content is kept as a numbered version and the
 *   question's version goes up by one; pupils' memory of the question
 *   stays. Changing only its unit, active, fast_ms or slow_ms makes no new
 *   version. Rows that change nothing write nothing. Questions not in the
 *   file are left as they are (set active to false to retire one).
 *
 *   All or nothing: any problem rejects the whole file, and the report
 *   lists every problem with its line; nothing is changed.
 */
#ifndef RECALLD_QBANK_H
#define RECALLD_QBANK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

/*
 * Build the plan for the question bank CSV in buf; name is the file name
 * the report uses ("questions.csv"), now_iso every row's updated_at.
 * Problems with the data are in the plan's report (plan_nrejected > 0:
 * do not run it). Returns false only if no plan could be made (err).
 */
bool qbank_parse(const void *buf, size_t len, const char *name, int64_t school_id,
    const char *now_iso, plan **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
