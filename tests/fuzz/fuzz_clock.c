/* fuzz_clock.c: libFuzzer harness for ISO 8601 / Unix time parsing (daemon/base/clock.h). */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, buf[64];
	int64_t us;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (clock_parse_iso(s, &us))
		clock_format_iso(us, buf, sizeof buf);
	free(s);
	return 0;
}
