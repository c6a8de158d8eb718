/* grade.c: grading answers; short answers compared normalised (utf8proc). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "grade.h"
#include "util.h"

static const struct {
	const char *name;
	enum grade_kind kind;
} kinds[] = {
	{ "mcq", GRADE_MCQ },
	{ "short", GRADE_SHORT },
	{ "self", GRADE_SELF },
	{ "external", GRADE_EXTERNAL },
};

bool
grade_kind_parse(const char *s, enum grade_kind *out)
{
	for (size_t i = 0; s != NULL && i < nitems(kinds); i++)
		if (strcmp(s, kinds[i].name) == 0) {
			*out = kinds[i].kind;
			return true;
		}
	return false;
}

const char *
grade_kind_name(enum grade_kind k)
{
	for (size_t i = 0; i < nitems(kinds); i++)
		if (kinds[i].kind == k)
			return kinds[i].name;
	return "?";
}

/* ---- normalising ---- */

/*
 * The marks that are accents: the generic combining diacritics (what NFKD
 * leaves of Latin, Greek and Cyrillic accented letters), Cyrillic
 * combining marks, Hebrew points and Arabic harakat. Other scripts' marks
 * are part of their spelling and stay.
 */
static bool
is_accent(utf8proc_int32_t cp)
{
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME:
		break;
	default:
		return false;
	}
	return (cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x0483 && cp <= 0x0489) ||
	    (cp >= 0x0591 && cp <= 0x05c7) || (cp >= 0x0610 && cp <= 0x061a) ||
	    (cp >= 0x064b && cp <= 0x065f) || cp == 0x0670 ||
	    (cp >= 0x1ab0 && cp <= 0x1aff) || (cp >= 0x1dc0 && cp <= 0x1dff) ||
	    (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe20 && cp <= 0xfe2f);
}

/* Letters, digits and the marks that were not dropped as accents. */
static bool
is_word(utf8proc_int32_t cp)
{
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME:
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return true;
	default:
		return false;
	}
}

static bool
is_digit(utf8proc_int32_t cp)
{
	return utf8proc_category(cp) == UTF8PROC_CATEGORY_ND;
}

/* After NFKD the full-width and small hyphen-minus are plain '-'. */
static bool
is_minus(utf8proc_int32_t cp)
{
	return cp == '-' || cp == 0x2212;
}

/*
 * The normalised form of s, malloc'd (the caller frees it), or NULL when s
 * is not valid UTF-8.
 */
static char *
normalise_dup(const char *s)
{
	const utf8proc_option_t decompose = UTF8PROC_STABLE | UTF8PROC_COMPAT |
	    UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE;
	utf8proc_uint8_t *d = NULL, *c = NULL;
	utf8proc_ssize_t dlen, clen, pos = 0, n;
	utf8proc_int32_t cp, next;
	char *f;
	size_t flen = 0;
	bool space = false, in_word = false;

	dlen = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)strlen(s), &d,
	    decompose);
	if (dlen < 0)
		return NULL;
	/* Every kept character keeps its bytes; the others become one byte. */
	f = xmalloc((size_t)dlen + 1);
	while (pos < dlen) {
		n = utf8proc_iterate(d + pos, dlen - pos, &cp);
		if (n <= 0)
			break;	/* not reached: utf8proc_map gave valid UTF-8 */
		pos += n;
		if (is_accent(cp))
			continue;
		if (is_word(cp)) {
			if (space && flen > 0)
				f[flen++] = ' ';
			space = false;
			in_word = true;
			flen += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)f + flen);
			continue;
		}
		/* A minus that starts a number is kept: "-5" is not "5". */
		if (is_minus(cp) && !in_word && pos < dlen &&
		    utf8proc_iterate(d + pos, dlen - pos, &next) > 0 && is_digit(next)) {
			if (space && flen > 0)
				f[flen++] = ' ';
			space = false;
			f[flen++] = '-';
			continue;
		}
		space = true;
		in_word = false;
	}
	f[flen] = '\0';
	free(d);
	/* Recompose, so that e.g. a kana and its voicing mark are one character. */
	clen = utf8proc_map((const utf8proc_uint8_t *)f, (utf8proc_ssize_t)flen, &c,
	    UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	free(f);
	if (clen < 0)
		return NULL;
	return (char *)c;
}

bool
grade_normalise(const char *in, char *out, size_t outlen)
{
	char *n;
	size_t len;

	if (outlen > 0)
		out[0] = '\0';
	if (in == NULL || (n = normalise_dup(in)) == NULL)
		return false;
	len = strlen(n);
	if (len >= outlen) {
		free(n);
		return false;
	}
	memcpy(out, n, len + 1);
	free(n);
	return true;
}

/* ---- one typo ---- */

/* Decode valid UTF-8 into a malloc'd array of code points. */
static utf8proc_int32_t *
decode(const char *s, size_t *n)
{
	size_t len = strlen(s);
	utf8proc_int32_t *cps = xreallocarray(NULL, len + 1, sizeof *cps);
	utf8proc_ssize_t pos = 0, k;

	*n = 0;
	while ((size_t)pos < len) {
		k = utf8proc_iterate((const utf8proc_uint8_t *)s + pos,
		    (utf8proc_ssize_t)len - pos, &cps[*n]);
		if (k <= 0) {
			free(cps);
			return NULL;
		}
		pos += k;
		(*n)++;
	}
	return cps;
}

static bool
cps_equal(const utf8proc_int32_t *a, const utf8proc_int32_t *b, size_t n)
{
	return n == 0 || memcmp(a, b, n * sizeof *a) == 0;
}

static bool
within_one(const utf8proc_int32_t *a, size_t na, const utf8proc_int32_t *b, size_t nb)
{
	size_t i = 0;

	if (na < nb)
		return within_one(b, nb, a, na);
	if (na - nb > 1)
		return false;
	while (i < nb && a[i] == b[i])
		i++;
	if (i == nb)
		return true;	/* equal, or a has one more at the end */
	if (na == nb + 1)	/* one dropped from a */
		return cps_equal(a + i + 1, b + i, nb - i);
	/* Same length: one changed, or two neighbours swapped. */
	if (cps_equal(a + i + 1, b + i + 1, nb - i - 1))
		return true;
	return i + 1 < nb && a[i] == b[i + 1] && a[i + 1] == b[i] &&
	    cps_equal(a + i + 2, b + i + 2, nb - i - 2);
}

bool
grade_within_one_typo(const char *a, const char *b)
{
	utf8proc_int32_t *ca, *cb;
	size_t na, nb;
	bool ok = false;

	if ((ca = decode(a, &na)) == NULL)
		return false;
	if ((cb = decode(b, &nb)) != NULL)
		ok = within_one(ca, na, cb, nb);
	free(ca);
	free(cb);
	return ok;
}

/* Long enough and free of digits for a typo to be forgiven. */
static bool
typo_eligible(const char *norm)
{
	utf8proc_int32_t *cps;
	size_t n;
	bool ok;

	if ((cps = decode(norm, &n)) == NULL)
		return false;
	ok = n >= GRADE_TYPO_MIN_LEN;
	for (size_t i = 0; ok && i < n; i++)
		if (utf8proc_category(cps[i]) == UTF8PROC_CATEGORY_ND)
			ok = false;
	free(cps);
	return ok;
}

/* ---- grading ---- */

/* s without surrounding ASCII white space, as a length and start. */
static const char *
trimmed(const char *s, size_t *len)
{
	size_t n;

	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || (s[n - 1] >= '\t' && s[n - 1] <= '\r')))
		n--;
	*len = n;
	return s;
}

/*
 * Whether the answer (raw and normalised) matches an expected text. Texts
 * that normalise to nothing ("?", "+") are compared as typed, trimmed.
 */
static bool
text_matches(const char *raw, const char *norm, const char *expected)
{
	char *en;
	bool eq;

	if (expected == NULL || (en = normalise_dup(expected)) == NULL)
		return false;
	if (en[0] != '\0') {
		eq = strcmp(norm, en) == 0;
	} else {
		size_t la, lb;
		const char *a = trimmed(raw, &la), *b = trimmed(expected, &lb);

		eq = la > 0 && la == lb && memcmp(a, b, la) == 0;
	}
	free(en);
	return eq;
}

/* Right = Good, refined by the latency; wrong = Again. */
static fsrs_rating
rating_of(const struct grade_question *q, bool correct, int64_t latency_ms)
{
	if (!correct)
		return FSRS_AGAIN;
	if (latency_ms >= 0 && q->fast_ms > 0 && latency_ms < q->fast_ms)
		return FSRS_EASY;
	if (latency_ms >= 0 && q->slow_ms > 0 && latency_ms > q->slow_ms)
		return FSRS_HARD;
	return FSRS_GOOD;
}

/* The first accepted answer, if any, for feedback. */
static const char *
first_accepted(const struct grade_question *q)
{
	return q->accepted != NULL && q->naccepted > 0 ? q->accepted[0] : NULL;
}

/* "2" of 1..n, as typed: digits only, after trimming. */
static bool
choice_number(const char *raw, size_t nchoices, int *index)
{
	size_t len;
	const char *s = trimmed(raw, &len);
	long v = 0;

	if (len == 0 || len > 3)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || (size_t)v > nchoices)
		return false;
	*index = (int)v - 1;
	return true;
}

static bool
grade_mcq(const struct grade_question *q, const struct grade_input *in,
    struct grade_result *out, char *err, size_t errlen)
{
	int idx = -1;

	if (q->choices == NULL || q->nchoices < 2 || q->nchoices > 1000 ||
	    q->correct_choice < 0 || (size_t)q->correct_choice >= q->nchoices ||
	    q->choices[q->correct_choice] == NULL)
		return util_err(err, errlen,
		    "the question is malformed: it needs choices and a right one");
	if (in->choice != -1 && in->text != NULL)
		return util_err(err, errlen, "send either a choice or a text answer, not both");
	if (in->choice != -1) {
		if (in->choice < 0 || (size_t)in->choice >= q->nchoices)
			return util_err(err, errlen,
			    "choice %d is out of range: this question has choices 0 to %zu",
			    in->choice, q->nchoices - 1);
		idx = in->choice;
	} else if (in->text != NULL) {
		char *norm = normalise_dup(in->text);

		if (norm == NULL)
			return util_err(err, errlen, "the answer is not valid UTF-8");
		for (size_t i = 0; idx < 0 && i < q->nchoices; i++)
			if (text_matches(in->text, norm, q->choices[i]))
				idx = (int)i;
		free(norm);
		if (idx < 0 && !choice_number(in->text, q->nchoices, &idx))
			return util_err(err, errlen,
			    "the answer is not one of the choices: send a choice's text or "
			    "its number, 1 to %zu", q->nchoices);
	} else {
		return util_err(err, errlen, "send the chosen answer (a choice or its text)");
	}
	out->choice = idx;
	out->correct = idx == q->correct_choice;
	out->rating = rating_of(q, out->correct, in->latency_ms);
	out->answer = q->choices[q->correct_choice];
	return true;
}

static bool
grade_short(const struct grade_question *q, const struct grade_input *in,
    struct grade_result *out, char *err, size_t errlen)
{
	char *norm;

	if (q->accepted == NULL || q->naccepted == 0 || q->accepted[0] == NULL)
		return util_err(err, errlen,
		    "the question is malformed: it has no accepted answer");
	if (in->choice != -1)
		return util_err(err, errlen,
		    "a short-answer question takes a text answer, not a choice");
	if (in->text == NULL)
		return util_err(err, errlen, "send the answer text");
	if ((norm = normalise_dup(in->text)) == NULL)
		return util_err(err, errlen, "the answer is not valid UTF-8");
	for (size_t i = 0; !out->correct && i < q->naccepted; i++)
		out->correct = text_matches(in->text, norm, q->accepted[i]);
	for (size_t i = 0; q->allow_typo && !out->correct && norm[0] != '\0' &&
	    i < q->naccepted; i++) {
		char *an = q->accepted[i] != NULL ? normalise_dup(q->accepted[i]) : NULL;

		if (an != NULL && typo_eligible(an) && grade_within_one_typo(norm, an))
			out->correct = out->typo = true;
		free(an);
	}
	free(norm);
	out->rating = rating_of(q, out->correct, in->latency_ms);
	out->answer = q->accepted[0];
	return true;
}

static bool
rating_valid(int rating, char *err, size_t errlen)
{
	if (rating < FSRS_AGAIN || rating > FSRS_EASY)
		return util_err(err, errlen,
		    "rating %d is out of range: 1 forgot, 2 hard, 3 good, 4 easy", rating);
	return true;
}

static bool
grade_self(const struct grade_question *q, const struct grade_input *in,
    struct grade_result *out, char *err, size_t errlen)
{
	if (!q->self_rating_allowed)
		return util_err(err, errlen, "self-rating is turned off for this school");
	if (in->text != NULL || in->choice != -1 || in->correct != -1)
		return util_err(err, errlen,
		    "a self-rated question takes a rating 1..4, not an answer or a verdict");
	if (in->rating == 0)
		return util_err(err, errlen,
		    "send a rating: 1 forgot, 2 hard, 3 good, 4 easy");
	if (!rating_valid(in->rating, err, errlen))
		return false;
	out->rating = (fsrs_rating)in->rating;
	out->correct = in->rating != FSRS_AGAIN;
	out->answer = first_accepted(q);
	return true;
}

static bool
grade_external(const struct grade_question *q, const struct grade_input *in,
    struct grade_result *out, char *err, size_t errlen)
{
	if (in->text != NULL || in->choice != -1)
		return util_err(err, errlen,
		    "this question is graded by the caller: send correct or a rating, not an answer");
	if (in->correct != -1 && in->correct != 0 && in->correct != 1)
		return util_err(err, errlen, "correct must be true or false");
	if (in->rating == 0 && in->correct == -1)
		return util_err(err, errlen, "send correct (true or false) or a rating 1..4");
	if (in->rating != 0 && !rating_valid(in->rating, err, errlen))
		return false;
	if (in->rating != 0 && in->correct != -1 &&
	    (in->rating == FSRS_AGAIN) != (in->correct == 0))
		return util_err(err, errlen,
		    "correct and rating disagree: rating 1 means wrong, 2 to 4 mean right");
	if (in->rating != 0) {
		out->rating = (fsrs_rating)in->rating;
		out->correct = in->rating != FSRS_AGAIN;
	} else {
		out->correct = in->correct == 1;
		out->rating = rating_of(q, out->correct, in->latency_ms);
	}
	out->answer = first_accepted(q);
	return true;
}

bool
grade_answer(const struct grade_question *q, const struct grade_input *in,
    struct grade_result *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	out->choice = -1;
	if (in->latency_ms < -1)
		return util_err(err, errlen,
		    "latency_ms must be a number of milliseconds >= 0, or unknown");
	if (in->text != NULL && strlen(in->text) > GRADE_TEXT_MAX)
		return util_err(err, errlen, "the answer is too long (at most %d bytes)",
		    GRADE_TEXT_MAX);
	switch (q->kind) {
	case GRADE_MCQ:
	case GRADE_SHORT:
		if (in->rating != 0 || in->correct != -1)
			return util_err(err, errlen,
			    "this %s question is graded by recalld: send the answer, "
			    "not a rating or a verdict", grade_kind_name(q->kind));
		return q->kind == GRADE_MCQ ? grade_mcq(q, in, out, err, errlen) :
		    grade_short(q, in, out, err, errlen);
	case GRADE_SELF:
		return grade_self(q, in, out, err, errlen);
	case GRADE_EXTERNAL:
		return grade_external(q, in, out, err, errlen);
	}
	return util_err(err, errlen, "the question has an unknown kind");
}
