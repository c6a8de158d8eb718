/* embed.c: lookups in the sets embed.sh generates (see embed.h). */
#include "autoconf.h"

#include <string.h>

#include "embed.h"

const struct embed_file *
embed_find(const struct embed_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->files[i].name, name) == 0)
			return &s->files[i];
	return NULL;
}
