/* fuzz_replay.c: libFuzzer harness for `recalld replay` input (daemon/cli/replay.h). */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "replay.h"

static FILE *devnull;
static replay_opts opts;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	FILE *in;

	if (devnull == NULL) {
		if ((devnull = fopen("/dev/null", "w")) == NULL)
			return 0;
		replay_opts_init(&opts);
	}
	/* fmemopen of zero bytes is not portable: an empty tmpfile instead. */
	in = size > 0 ? fmemopen((void *)data, size, "r") : tmpfile();
	if (in == NULL)
		return 0;
	(void)!replay_stream(in, devnull, &opts, err, sizeof err);
	fclose(in);
	return 0;
}
