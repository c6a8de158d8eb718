/* fuzz_grade.c: libFuzzer harness for answer grading (daemon/answer/grade.h). */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grade.h"

static const char *const choices[] = { "Mitochondria", "Le Frère", "42", "-5" };
static const char *const accepted[] = { "photosynthesis", "Le Frère", "x2" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char norm[GRADE_TEXT_MAX * 4 + 1], err[200];
	struct grade_result res;
	char *text;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	/* Small and exact output buffers, to catch off-by-one writes. */
	(void)grade_normalise(text, norm, sizeof norm);
	(void)grade_normalise(text, norm, 1 + size % 16);
	(void)grade_within_one_typo(text, "photosynthesis");

	struct grade_question sq = {
		.kind = GRADE_SHORT, .accepted = accepted, .naccepted = 3,
		.fast_ms = 3000, .slow_ms = 20000, .allow_typo = size % 2 == 0,
	};
	struct grade_question mq = {
		.kind = GRADE_MCQ, .choices = choices, .nchoices = 4,
		.correct_choice = 1, .fast_ms = 3000, .slow_ms = 20000,
	};
	struct grade_input in = GRADE_INPUT_INIT;
	in.text = text;
	in.latency_ms = (int64_t)(size * 997) % 30000;
	(void)grade_answer(&sq, &in, &res, err, sizeof err);
	(void)grade_answer(&mq, &in, &res, err, sizeof err);
	free(text);
	return 0;
}
