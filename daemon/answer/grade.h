/*
 * grade.h: grading one answer to one question: whether it is right,
 * and the FSRS rating it gives (wrong is Again, right is Good, latency
 * and a caller's grade give Hard or Easy).
 *
 * Pure: no I/O, no globals; memory is allocated only for the time of a
 * call (normalised copies of the texts).
 *
 * By kind:
 *   mcq       the answer is a 0-based choice index, or a text that is one
 *             choice's text (compared normalised) or its 1-based number
 *             ("2"); a text matching a choice's text wins over a number.
 *   short     the normalised text equals a normalised accepted answer;
 *             with allow_typo, one typo (Damerau distance 1: a letter
 *             added, dropped, changed, or two neighbours swapped) is
 *             forgiven when the accepted answer has at least
 *             GRADE_TYPO_MIN_LEN characters and no digit.
 *   self      the caller gives a rating 1..4; only when the school turned
 *             self-rating on. Rating 1 counts as wrong.
 *   external  the caller gives correct (true/false), a rating 1..4, or
 *             both when they agree (rating 1 exactly when wrong).
 *
 * Ratings (FSRS): wrong = Again; right = Good, refined by the answer
 * latency when it is known and the question has thresholds: latency <
 * fast_ms is Easy, latency > slow_ms is Hard (the bounds themselves stay
 * Good; fast_ms is checked first). An explicit caller rating is taken as
 * is, never refined.
 */
#ifndef RECALLD_GRADE_H
#define RECALLD_GRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsrs.h"

#define GRADE_TYPO_MIN_LEN 6	/* characters of the accepted answer */
#define GRADE_TEXT_MAX 2000	/* bytes of an answer text */

enum grade_kind {
	GRADE_MCQ = 1,
	GRADE_SHORT,
	GRADE_SELF,
	GRADE_EXTERNAL,
};

/* "mcq", "short", "self", "external" as in question.kind. */
bool grade_kind_parse(const char *s, enum grade_kind *out)
    __attribute__((warn_unused_result));
const char *grade_kind_name(enum grade_kind k);

/* A question as grading needs it; the strings stay the caller's. */
struct grade_question {
	enum grade_kind kind;
	const char *const *choices;	/* mcq */
	size_t nchoices;
	int correct_choice;		/* mcq, 0-based */
	const char *const *accepted;	/* short: the first is the canonical one */
	size_t naccepted;
	int32_t fast_ms;		/* <= 0: no Easy refinement */
	int32_t slow_ms;		/* <= 0: no Hard refinement */
	bool self_rating_allowed;	/* the school's self_rating */
	bool allow_typo;		/* short: forgive one typo; off by default */
};

/* What the pupil or the caller sent. Start from GRADE_INPUT_INIT. */
struct grade_input {
	const char *text;		/* mcq, short: the answer as typed */
	int choice;			/* mcq: 0-based index; -1: not given */
	int correct;			/* external: 1 right, 0 wrong; -1: not given */
	int rating;			/* self, external: 1..4; 0: not given */
	int64_t latency_ms;		/* >= 0; -1: unknown */
};
#define GRADE_INPUT_INIT \
	{ .text = NULL, .choice = -1, .correct = -1, .rating = 0, .latency_ms = -1 }

struct grade_result {
	bool correct;
	fsrs_rating rating;
	/*
	 * The canonical right answer for feedback (the right choice, the
	 * first accepted answer) or NULL (self, external); points into the
	 * question, valid as long as it is.
	 */
	const char *answer;
	int choice;			/* mcq: the index answered; else -1 */
	bool typo;			/* short: right only thanks to allow_typo */
};

/*
 * Grade in against q into out. False when the input does not fit the
 * question (an index out of range, a rating outside 1..4, a text answer to
 * a self question, self-rating turned off, ...) or the question itself is
 * malformed, with a message for the caller (the API answers 422) in err;
 * out is then unspecified.
 */
bool grade_answer(const struct grade_question *q, const struct grade_input *in,
    struct grade_result *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Normalise a short answer for comparison: Unicode compatibility
 * decomposition (NFKD), accents dropped (the combining diacritics of the
 * Latin, Greek and Cyrillic scripts, Hebrew points and Arabic harakat;
 * marks other scripts need, such as Devanagari vowel signs or the Japanese
 * voicing marks, stay), case folded, default-ignorable characters
 * dropped, anything but a letter, digit or mark turned into a space, runs
 * of spaces collapsed, the ends trimmed, then recomposed (NFC). A minus
 * sign that starts a number stays ("-5" is not "5").
 * "  Le Frère! " and "le frere" give the same.
 *
 * False on invalid UTF-8 or when the result does not fit outlen bytes
 * (with its NUL); out is then "" when outlen > 0.
 */
bool grade_normalise(const char *in, char *out, size_t outlen)
    __attribute__((warn_unused_result));

/*
 * Damerau (optimal string alignment) distance <= 1 between two UTF-8
 * strings, counted in code points; false for invalid UTF-8. Exposed for
 * the tests.
 */
bool grade_within_one_typo(const char *a, const char *b);

#endif
