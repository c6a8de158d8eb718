/* fuzz_roster.c: libFuzzer harness for the OneRoster zip import (daemon/import/roster.h). */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>

#include "plan.h"
#include "roster.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	plan *p = NULL;
	char err[256];

	if (roster_parse_zip(data, size, 1, "2026-09-07T06:00:00.000000Z", &p, err,
	    sizeof err)) {
		(void)plan_nrejected(p);
		(void)plan_count(p);
	}
	if (p != NULL)
		plan_free(p);
	return 0;
}
