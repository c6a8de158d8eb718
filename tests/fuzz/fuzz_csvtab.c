/* fuzz_csvtab.c: libFuzzer harness for the CSV table reader (daemon/import/csvtab.h). */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvtab.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	csvtab *t = csvtab_parse(data, size);
	unsigned long line = 0;
	volatile size_t sink = 0;

	if (t == NULL)
		return 0;
	(void)csvtab_error(t, &line);
	(void)csvtab_dup_header(t);
	(void)csvtab_header_line(t);
	(void)csvtab_col(t, "sourcedId");
	for (int c = -1; c <= csvtab_ncols(t); c++) {
		sink += strlen(csvtab_header(t, c));
	}
	csvtab_map *m = csvtab_map_new();
	for (int r = 0; r < csvtab_nrows(t); r++) {
		(void)csvtab_line(t, r);
		int n = csvtab_nfields(t, r);
		for (int c = -1; c <= n; c++) {
			const char *f = csvtab_get(t, r, c);
			sink += strlen(f);
			if (c == 0) {
				sink += csvtab_utf8_len(f);
				(void)csvtab_map_put(m, f, r);
				(void)csvtab_map_get(m, f);
				(void)csvtab_map_set(m, f, r + 1);
			}
		}
	}
	sink += csvtab_map_count(m);
	csvtab_map_free(m);
	csvtab_free(t);
	(void)sink;
	return 0;
}
