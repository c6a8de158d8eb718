/* fuzz_qbank.c: libFuzzer harness for the question bank CSV import (daemon/import/qbank.h). */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>

#include "plan.h"
#include "qbank.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	plan *p = NULL;
	char err[256];

	if (qbank_parse(data, size, "questions.csv", 1, "2026-09-07T06:00:00.000000Z",
	    &p, err, sizeof err)) {
		(void)plan_nrejected(p);
		(void)plan_count(p);
	}
	if (p != NULL)
		plan_free(p);
	return 0;
}
