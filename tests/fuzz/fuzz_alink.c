/* fuzz_alink.c: libFuzzer harness for answer link tokens (daemon/auth/alink.h). */
#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alink.h"

/* 32 bytes each, base64: fixed keys so that well-signed inputs are reachable. */
#define KEY_CURRENT	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_PREVIOUS	"whsec_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"

static struct alink_keys keys;
static int ready;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[200];
	char *tok;
	int64_t school = -7, prompt = -7, expires = -7;
	enum alink_status st;

	if (!ready) {
		if (!alink_keys_parse(KEY_CURRENT, KEY_PREVIOUS, &keys, err, sizeof err))
			abort();
		ready = 1;
	}
	if ((tok = malloc(size + 1)) == NULL)
		return 0;
	memcpy(tok, data, size);
	tok[size] = '\0';
	bool ok = alink_check(&keys, tok, 1780000000, &school, &prompt, &st);
	if (ok != (st == ALINK_OK))
		abort();
	if (st == ALINK_BAD && (school != -7 || prompt != -7))
		abort();
	(void)alink_check_full(&keys, tok, 0, NULL, NULL, &expires, NULL);
	(void)alink_status_name(st);
	free(tok);
	return 0;
}
