/* test_grade.c: normalising short answers and grading every kind. */
#include "autoconf.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cktest.h"
#include "grade.h"

static const char *
norm(const char *s)
{
	static char buf[512];

	ck_assert_msg(grade_normalise(s, buf, sizeof buf), "cannot normalise '%s'", s);
	return buf;
}

static void
same(const char *a, const char *b)
{
	char na[512];

	ck_assert(grade_normalise(a, na, sizeof na));
	ck_assert_msg(strcmp(na, norm(b)) == 0, "'%s' -> '%s' but '%s' -> '%s'", a, na, b,
	    norm(b));
}

static void
differ(const char *a, const char *b)
{
	char na[512];

	ck_assert(grade_normalise(a, na, sizeof na));
	ck_assert_msg(strcmp(na, norm(b)) != 0, "'%s' and '%s' both -> '%s'", a, b, na);
}

START_TEST(test_normalise_latin)
{
	ck_assert_str_eq(norm("  Le Frère! "), "le frere");
	same("  Le Frère! ", "le frere");
	same("Mitochondria.", "mitochondria");
	same("MITOCHONDRIA", "mitochondria");
	same("Crème brûlée", "creme brulee");
	same("Straße", "strasse");
	same("İstanbul", "istanbul");
	same("ﬁsh", "fish");			/* ligature, NFKD */
	same("ＡＢＣ１２３", "abc123");		/* full width */
	same("naïve café", "naive cafe");
	same("Ça va?", "ca va");
	same("mito\xc2\xad" "chondria", "mitochondria");	/* soft hyphen */
	same("ab\xe2\x80\x8b" "c", "abc");	/* zero-width space */
	differ("fur", "far");			/* accents are dropped, letters are not */
	same("fur", "für ");
	differ("cat", "cats");
}
END_TEST

START_TEST(test_normalise_space_punct)
{
	ck_assert_str_eq(norm("\t the \n  cell\r\nwall  "), "the cell wall");
	ck_assert_str_eq(norm("rock-and-roll"), "rock and roll");
	ck_assert_str_eq(norm("\"Hello,\" she said..."), "hello she said");
	ck_assert_str_eq(norm("it's"), "it s");
	ck_assert_str_eq(norm("H2O"), "h2o");
	ck_assert_str_eq(norm("a\xc2\xa0" "b"), "a b");	/* no-break space */
	ck_assert_str_eq(norm("a\xe3\x80\x80" "b"), "a b");	/* ideographic space */
	ck_assert_str_eq(norm(""), "");
	ck_assert_str_eq(norm("   "), "");
	ck_assert_str_eq(norm("?!..."), "");
	ck_assert_str_eq(norm("50 %"), "50");
	/* A minus starting a number stays; other hyphens are spaces. */
	ck_assert_str_eq(norm("-5"), "-5");
	ck_assert_str_eq(norm(" − 5"), "5");
	ck_assert_str_eq(norm("−5"), "-5");		/* U+2212 */
	ck_assert_str_eq(norm("－5"), "-5");		/* full width */
	ck_assert_str_eq(norm("x = -3"), "x -3");
	ck_assert_str_eq(norm("5-3"), "5 3");
	ck_assert_str_eq(norm("x-1"), "x 1");
	ck_assert_str_eq(norm("--5"), "-5");
	differ("-5", "5");
}
END_TEST

START_TEST(test_normalise_scripts)
{
	same("Ωμέγα", "ωμεγα");
	same("ΣΟΦΟΣ", "σοφος");			/* final sigma folds */
	same("Москва!", "москва");
	same("Ёлка", "елка");
	same("光合作用。", "光合作用");		/* ideographic full stop */
	same("「東京」", "東京");
	same("كَتَبَ", "كتب");				/* harakat are dropped */
	same("שָׁלוֹם", "שלום");			/* Hebrew points too */
	same("서울", "서울");
	ck_assert_str_eq(norm("서울"), "서울");	/* Hangul recomposes */
	ck_assert_str_eq(norm("٣٤"), "٣٤");	/* Arabic-Indic digits are digits */
	ck_assert_str_eq(norm("がっこう"), "がっこう");	/* recomposed */
	/* Marks that spell stay. */
	differ("がっこう", "かっこう");
	differ("काम", "कम");
	differ("किताब", "कताब");
	same("नमस्ते।", "नमस्ते");			/* danda is punctuation */
}
END_TEST

START_TEST(test_normalise_invalid)
{
	static const char *bad[] = {
		"\xff", "abc\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"ok \x80 no", "\xe2\x82",
	};
	char out[64];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		strcpy(out, "junk");
		ck_assert_msg(!grade_normalise(bad[i], out, sizeof out), "bad %zu accepted", i);
		ck_assert_str_eq(out, "");
	}
	ck_assert(!grade_normalise(NULL, out, sizeof out));
	/* Too small for the result. */
	ck_assert(!grade_normalise("mitochondria", out, 12));
	ck_assert(grade_normalise("mitochondria", out, 13));
	ck_assert(!grade_normalise("x", out, 0));
}
END_TEST

START_TEST(test_typo_distance)
{
	ck_assert(grade_within_one_typo("", ""));
	ck_assert(grade_within_one_typo("a", ""));
	ck_assert(grade_within_one_typo("abc", "abc"));
	ck_assert(grade_within_one_typo("abc", "abd"));	/* changed */
	ck_assert(grade_within_one_typo("abc", "xbc"));
	ck_assert(grade_within_one_typo("abc", "ab"));	/* dropped */
	ck_assert(grade_within_one_typo("abc", "bc"));
	ck_assert(grade_within_one_typo("abc", "abxc"));	/* added */
	ck_assert(grade_within_one_typo("abc", "bac"));	/* swapped */
	ck_assert(grade_within_one_typo("abc", "acb"));
	ck_assert(grade_within_one_typo("héllo", "hlélo"));	/* code points */
	ck_assert(!grade_within_one_typo("abc", "cba"));
	ck_assert(!grade_within_one_typo("abc", "a"));
	ck_assert(!grade_within_one_typo("abcd", "badc"));
	ck_assert(!grade_within_one_typo("abcd", "axcy"));
	ck_assert(!grade_within_one_typo("abc", "abcde"));
	ck_assert(!grade_within_one_typo("ab\xff", "ab"));
}
END_TEST

static const char *const capitals[] = { "Berlin", "Paris", "Rome", "Madrid" };

static struct grade_question
mcq(void)
{
	struct grade_question q = {
		.kind = GRADE_MCQ, .choices = capitals, .nchoices = 4, .correct_choice = 1,
		.fast_ms = 3000, .slow_ms = 20000,
	};
	return q;
}

static struct grade_result
ok(const struct grade_question *q, const struct grade_input *in)
{
	struct grade_result r;
	char err[256] = "";

	ck_assert_msg(grade_answer(q, in, &r, err, sizeof err), "refused: %s", err);
	return r;
}

/* Refused, with a message containing want. */
static void
refused(const struct grade_question *q, const struct grade_input *in, const char *want)
{
	struct grade_result r;
	char err[256] = "";

	ck_assert(!grade_answer(q, in, &r, err, sizeof err));
	ck_assert_msg(strstr(err, want) != NULL, "message '%s' lacks '%s'", err, want);
}

START_TEST(test_mcq)
{
	struct grade_question q = mcq();
	struct grade_input in = GRADE_INPUT_INIT;
	struct grade_result r;

	in.choice = 1;
	r = ok(&q, &in);
	ck_assert(r.correct);
	ck_assert_int_eq(r.rating, FSRS_GOOD);
	ck_assert_int_eq(r.choice, 1);
	ck_assert_str_eq(r.answer, "Paris");
	ck_assert(!r.typo);
	in.choice = 0;
	r = ok(&q, &in);
	ck_assert(!r.correct);
	ck_assert_int_eq(r.rating, FSRS_AGAIN);
	ck_assert_str_eq(r.answer, "Paris");

	in.choice = -1;
	in.text = "  paris! ";
	r = ok(&q, &in);
	ck_assert(r.correct);
	ck_assert_int_eq(r.choice, 1);
	in.text = "MADRID";
	r = ok(&q, &in);
	ck_assert(!r.correct);
	ck_assert_int_eq(r.choice, 3);
	in.text = " 2 ";		/* 1-based number */
	r = ok(&q, &in);
	ck_assert(r.correct);
	ck_assert_int_eq(r.choice, 1);
	in.text = "4";
	r = ok(&q, &in);
	ck_assert_int_eq(r.choice, 3);
}
END_TEST

START_TEST(test_mcq_numbers_as_choices)
{
	static const char *const nums[] = { "8", "2", "4", "6" };
	struct grade_question q = {
		.kind = GRADE_MCQ, .choices = nums, .nchoices = 4, .correct_choice = 2,
	};
	struct grade_input in = GRADE_INPUT_INIT;
	struct grade_result r;

	/* A choice's text wins over a choice's number. */
	in.text = "4";
	r = ok(&q, &in);
	ck_assert(r.correct);
	ck_assert_int_eq(r.choice, 2);
	in.text = "3";		/* no choice reads 3: the third */
	r = ok(&q, &in);
	ck_assert(r.correct);
	in.text = "1";
	r = ok(&q, &in);
	ck_assert_int_eq(r.choice, 0);
	ck_assert(!r.correct);
}
END_TEST

START_TEST(test_mcq_bad)
{
	struct grade_question q = mcq();
	struct grade_input in = GRADE_INPUT_INIT;

	refused(&q, &in, "send the chosen answer");
	in.choice = 4;
	refused(&q, &in, "out of range");
	in.choice = -2;
	refused(&q, &in, "out of range");
	in.choice = 1;
	in.text = "Paris";
	refused(&q, &in, "not both");
	in.choice = -1;
	in.text = "Lisbon";
	refused(&q, &in, "not one of the choices");
	in.text = "0";
	refused(&q, &in, "not one of the choices");
	in.text = "5";
	refused(&q, &in, "1 to 4");
	in.text = "";
	refused(&q, &in, "not one of the choices");
	in.text = "\xc3(";
	refused(&q, &in, "UTF-8");
	in.text = NULL;
	in.choice = 1;
	in.rating = 4;
	refused(&q, &in, "graded by recalld");
	in.rating = 0;
	in.correct = 1;
	refused(&q, &in, "graded by recalld");
	in.correct = -1;
	in.latency_ms = -5;
	refused(&q, &in, "latency_ms");

	/* Malformed questions. */
	in = (struct grade_input)GRADE_INPUT_INIT;
	in.choice = 0;
	q.correct_choice = 4;
	refused(&q, &in, "malformed");
	q.correct_choice = -1;
	refused(&q, &in, "malformed");
	q = mcq();
	q.nchoices = 1;
	refused(&q, &in, "malformed");
	q = mcq();
	q.choices = NULL;
	refused(&q, &in, "malformed");
}
END_TEST

static const char *const organelle[] = { "Mitochondria", "the mitochondrion", "?" };

static struct grade_question
short_q(void)
{
	struct grade_question q = {
		.kind = GRADE_SHORT, .accepted = organelle, .naccepted = 2,
		.fast_ms = 3000, .slow_ms = 20000,
	};
	return q;
}

START_TEST(test_short)
{
	struct grade_question q = short_q();
	struct grade_input in = GRADE_INPUT_INIT;
	struct grade_result r;

	in.text = "mitochondria.";
	r = ok(&q, &in);
	ck_assert(r.correct);
	ck_assert_int_eq(r.rating, FSRS_GOOD);
	ck_assert_str_eq(r.answer, "Mitochondria");
	ck_assert_int_eq(r.choice, -1);
	in.text = "  The  MITOCHONDRION!! ";	/* the second accepted answer */
	ck_assert(ok(&q, &in).correct);
	in.text = "ribosome";
	r = ok(&q, &in);
	ck_assert(!r.correct);
	ck_assert_int_eq(r.rating, FSRS_AGAIN);
	ck_assert_str_eq(r.answer, "Mitochondria");
	in.text = "";			/* a blank answer is a wrong one */
	ck_assert(!ok(&q, &in).correct);
	in.text = "...";
	ck_assert(!ok(&q, &in).correct);
	/* Typos count as wrong unless allowed. */
	in.text = "mitocondria";
	ck_assert(!ok(&q, &in).correct);
}
END_TEST

START_TEST(test_short_scripts)
{
	static const char *const fr[] = { "le frère" };
	static const char *const ja[] = { "がっこう" };
	static const char *const ru[] = { "Москва" };
	struct grade_question q = { .kind = GRADE_SHORT, .accepted = fr, .naccepted = 1 };
	struct grade_input in = GRADE_INPUT_INIT;

	in.text = "  Le Frère! ";
	ck_assert(ok(&q, &in).correct);
	in.text = "LE FRERE";
	ck_assert(ok(&q, &in).correct);
	in.text = "la frere";
	ck_assert(!ok(&q, &in).correct);
	q.accepted = ja;
	in.text = "がっこう。";
	ck_assert(ok(&q, &in).correct);
	in.text = "かっこう";
	ck_assert(!ok(&q, &in).correct);
	q.accepted = ru;
	in.text = "москва";
	ck_assert(ok(&q, &in).correct);
}
END_TEST

START_TEST(test_short_symbol_answer)
{
	struct grade_question q = short_q();
	struct grade_input in = GRADE_INPUT_INIT;

	/* An accepted answer with no letters is compared as typed. */
	q.accepted = organelle + 2;	/* "?" */
	q.naccepted = 1;
	in.text = " ? ";
	ck_assert(ok(&q, &in).correct);
	in.text = "!";
	ck_assert(!ok(&q, &in).correct);
	in.text = "";
	ck_assert(!ok(&q, &in).correct);
}
END_TEST

START_TEST(test_short_typo)
{
	static const char *const small[] = { "cat", "1066 AD", "photosynthesis" };
	struct grade_question q = short_q();
	struct grade_input in = GRADE_INPUT_INIT;
	struct grade_result r;

	q.allow_typo = true;
	in.text = "Mitocondria";		/* dropped */
	r = ok(&q, &in);
	ck_assert(r.correct);
	ck_assert(r.typo);
	ck_assert_int_eq(r.rating, FSRS_GOOD);
	in.text = "mitochnodria";		/* swapped */
	ck_assert(ok(&q, &in).typo);
	in.text = "mitochondriaa";		/* added */
	ck_assert(ok(&q, &in).correct);
	in.text = "mitochondrie";		/* changed */
	ck_assert(ok(&q, &in).correct);
	in.text = "mitocondrie";		/* two */
	ck_assert(!ok(&q, &in).correct);
	in.text = "Mitochondria";		/* exact: not a typo */
	r = ok(&q, &in);
	ck_assert(r.correct);
	ck_assert(!r.typo);

	q.accepted = small;
	q.naccepted = 3;
	in.text = "cot";			/* too short to forgive */
	ck_assert(!ok(&q, &in).correct);
	in.text = "1067 AD";			/* numbers are never typos */
	ck_assert(!ok(&q, &in).correct);
	in.text = "1066 ad";
	ck_assert(ok(&q, &in).correct);
	in.text = "fotosynthesis";		/* two edits */
	ck_assert(!ok(&q, &in).correct);
	in.text = "photosynthesys";
	ck_assert(ok(&q, &in).correct);
	in.text = "";
	ck_assert(!ok(&q, &in).correct);
}
END_TEST

START_TEST(test_short_typo_min_len)
{
	static const char *const six[] = { "abcdef", "abcde" };
	struct grade_question q = { .kind = GRADE_SHORT, .accepted = six, .naccepted = 1,
		.allow_typo = true };
	struct grade_input in = GRADE_INPUT_INIT;

	in.text = "abcdex";
	ck_assert(ok(&q, &in).correct);
	q.accepted = six + 1;
	in.text = "abcdx";
	ck_assert(!ok(&q, &in).correct);
}
END_TEST

START_TEST(test_short_bad)
{
	struct grade_question q = short_q();
	struct grade_input in = GRADE_INPUT_INIT;
	char *big;

	refused(&q, &in, "send the answer text");
	in.choice = 0;
	refused(&q, &in, "not a choice");
	in.choice = -1;
	in.text = "mito\xff";
	refused(&q, &in, "UTF-8");
	big = malloc(GRADE_TEXT_MAX + 2);
	memset(big, 'a', GRADE_TEXT_MAX + 1);
	big[GRADE_TEXT_MAX + 1] = '\0';
	in.text = big;
	refused(&q, &in, "too long");
	big[GRADE_TEXT_MAX] = '\0';
	ck_assert(!ok(&q, &in).correct);
	free(big);
	in.text = "x";
	in.rating = 3;
	refused(&q, &in, "graded by recalld");
	in.rating = 0;
	q.naccepted = 0;
	refused(&q, &in, "malformed");
}
END_TEST

START_TEST(test_latency)
{
	static const struct {
		int64_t latency;
		fsrs_rating want;
	} cases[] = {
		{ -1, FSRS_GOOD }, { 0, FSRS_EASY }, { 2999, FSRS_EASY }, { 3000, FSRS_GOOD },
		{ 3001, FSRS_GOOD }, { 19999, FSRS_GOOD }, { 20000, FSRS_GOOD },
		{ 20001, FSRS_HARD }, { 86400000, FSRS_HARD },
	};
	struct grade_question q = mcq();
	struct grade_input in = GRADE_INPUT_INIT;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		in.choice = 1;
		in.latency_ms = cases[i].latency;
		ck_assert_msg(ok(&q, &in).rating == cases[i].want, "latency %lld",
		    (long long)cases[i].latency);
		in.choice = 2;		/* wrong is Again, fast or slow */
		ck_assert_int_eq(ok(&q, &in).rating, FSRS_AGAIN);
	}
	/* No thresholds: no refinement. */
	q.fast_ms = q.slow_ms = 0;
	in.choice = 1;
	in.latency_ms = 0;
	ck_assert_int_eq(ok(&q, &in).rating, FSRS_GOOD);
	in.latency_ms = 999999;
	ck_assert_int_eq(ok(&q, &in).rating, FSRS_GOOD);
	/* Only one threshold. */
	q.slow_ms = 10000;
	ck_assert_int_eq(ok(&q, &in).rating, FSRS_HARD);
	in.latency_ms = 0;
	ck_assert_int_eq(ok(&q, &in).rating, FSRS_GOOD);
	/* Short answers refine too. */
	q = short_q();
	in = (struct grade_input)GRADE_INPUT_INIT;
	in.text = "mitochondria";
	in.latency_ms = 1000;
	ck_assert_int_eq(ok(&q, &in).rating, FSRS_EASY);
	in.latency_ms = 30000;
	ck_assert_int_eq(ok(&q, &in).rating, FSRS_HARD);
}
END_TEST

START_TEST(test_self)
{
	struct grade_question q = { .kind = GRADE_SELF, .fast_ms = 3000, .slow_ms = 20000 };
	struct grade_input in = GRADE_INPUT_INIT;
	struct grade_result r;

	in.rating = 3;
	refused(&q, &in, "self-rating is turned off");
	q.self_rating_allowed = true;
	for (int rating = 1; rating <= 4; rating++) {
		in.rating = rating;
		in.latency_ms = 100;	/* the rating wins over the latency */
		r = ok(&q, &in);
		ck_assert_int_eq(r.rating, rating);
		ck_assert(r.correct == (rating != 1));
		ck_assert_ptr_null(r.answer);
	}
	q.accepted = organelle;
	q.naccepted = 1;
	ck_assert_str_eq(ok(&q, &in).answer, "Mitochondria");
	in.rating = 0;
	refused(&q, &in, "send a rating");
	in.rating = 5;
	refused(&q, &in, "out of range");
	in.rating = -1;
	refused(&q, &in, "out of range");
	in.rating = 3;
	in.text = "I knew it";
	refused(&q, &in, "not an answer");
	in.text = NULL;
	in.choice = 0;
	refused(&q, &in, "not an answer");
	in.choice = -1;
	in.correct = 1;
	refused(&q, &in, "not an answer");
}
END_TEST

START_TEST(test_external)
{
	struct grade_question q = { .kind = GRADE_EXTERNAL, .fast_ms = 3000, .slow_ms = 20000 };
	struct grade_input in = GRADE_INPUT_INIT;
	struct grade_result r;

	in.correct = 1;
	r = ok(&q, &in);
	ck_assert(r.correct);
	ck_assert_int_eq(r.rating, FSRS_GOOD);
	ck_assert_ptr_null(r.answer);
	in.latency_ms = 1000;
	ck_assert_int_eq(ok(&q, &in).rating, FSRS_EASY);
	in.latency_ms = 60000;
	ck_assert_int_eq(ok(&q, &in).rating, FSRS_HARD);
	in.correct = 0;
	r = ok(&q, &in);
	ck_assert(!r.correct);
	ck_assert_int_eq(r.rating, FSRS_AGAIN);
	/* The caller's rating wins. */
	in.correct = -1;
	in.rating = 2;
	in.latency_ms = 10;
	r = ok(&q, &in);
	ck_assert(r.correct);
	ck_assert_int_eq(r.rating, FSRS_HARD);
	in.rating = 1;
	ck_assert(!ok(&q, &in).correct);
	in.correct = 1;
	in.rating = 4;
	ck_assert_int_eq(ok(&q, &in).rating, FSRS_EASY);
	in.correct = 0;
	in.rating = 1;
	ck_assert_int_eq(ok(&q, &in).rating, FSRS_AGAIN);

	in.rating = 3;
	refused(&q, &in, "disagree");
	in.correct = 1;
	in.rating = 1;
	refused(&q, &in, "disagree");
	in.rating = 9;
	refused(&q, &in, "out of range");
	in.rating = 0;
	in.correct = 2;
	refused(&q, &in, "true or false");
	in.correct = -1;
	refused(&q, &in, "send correct");
	in.correct = 1;
	in.text = "an answer";
	refused(&q, &in, "graded by the caller");
	in.text = NULL;
	in.choice = 0;
	refused(&q, &in, "graded by the caller");
}
END_TEST

START_TEST(test_kinds)
{
	enum grade_kind k;
	struct grade_question q = { .kind = (enum grade_kind)99 };
	struct grade_input in = GRADE_INPUT_INIT;

	ck_assert(grade_kind_parse("mcq", &k) && k == GRADE_MCQ);
	ck_assert(grade_kind_parse("short", &k) && k == GRADE_SHORT);
	ck_assert(grade_kind_parse("self", &k) && k == GRADE_SELF);
	ck_assert(grade_kind_parse("external", &k) && k == GRADE_EXTERNAL);
	ck_assert(!grade_kind_parse("MCQ", &k));
	ck_assert(!grade_kind_parse(NULL, &k));
	ck_assert_str_eq(grade_kind_name(GRADE_SHORT), "short");
	ck_assert_str_eq(grade_kind_name((enum grade_kind)0), "?");
	refused(&q, &in, "unknown kind");
}
END_TEST

static Suite *
grade_suite(void)
{
	Suite *s = suite_create("grade");
	TCase *tn = tcase_create("normalise");
	TCase *tg = tcase_create("grade");

	tcase_add_test(tn, test_normalise_latin);
	tcase_add_test(tn, test_normalise_space_punct);
	tcase_add_test(tn, test_normalise_scripts);
	tcase_add_test(tn, test_normalise_invalid);
	tcase_add_test(tn, test_typo_distance);
	suite_add_tcase(s, tn);
	tcase_add_test(tg, test_mcq);
	tcase_add_test(tg, test_mcq_numbers_as_choices);
	tcase_add_test(tg, test_mcq_bad);
	tcase_add_test(tg, test_short);
	tcase_add_test(tg, test_short_scripts);
	tcase_add_test(tg, test_short_symbol_answer);
	tcase_add_test(tg, test_short_typo);
	tcase_add_test(tg, test_short_typo_min_len);
	tcase_add_test(tg, test_short_bad);
	tcase_add_test(tg, test_latency);
	tcase_add_test(tg, test_self);
	tcase_add_test(tg, test_external);
	tcase_add_test(tg, test_kinds);
	suite_add_tcase(s, tg);
	return s;
}

int
main(void)
{
	int failed;

	failed = cktest_run(grade_suite());
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
