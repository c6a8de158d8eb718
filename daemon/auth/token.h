/*
 * token.h: API tokens. A token reads "rcl_<school_id>_<43 base64url chars>"
 * (256 random bits); the school id in clear lets the lookup stay inside one
 * school's rows (and one Citus shard). Only the SHA-256 of the whole token
 * is stored.
 */
#ifndef RECALLD_TOKEN_H
#define RECALLD_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_MAX 80
#define TOKEN_HASH_HEX 65	/* "\x" is not included */

/* A new random token for a school into out (TOKEN_MAX bytes). */
bool token_generate(int64_t school_id, char *out, size_t outlen)
    __attribute__((warn_unused_result));
/* Check the shape and read the school id; false for anything malformed. */
bool token_parse(const char *token, int64_t *school_id)
    __attribute__((warn_unused_result));
/*
 * Sign-in codes for the dashboard's links read "rcs_<school_id>_<secret>",
 * the same shape with another prefix, so one can never pass for the other.
 */
bool token_signin_generate(int64_t school_id, char *out, size_t outlen)
    __attribute__((warn_unused_result));
bool token_signin_parse(const char *code, int64_t *school_id)
    __attribute__((warn_unused_result));
/* Lower-case hex SHA-256 of the token, for the bytea column ('\x' || hex). */
void token_hash_hex(const char *token, char out[TOKEN_HASH_HEX]);


/*
 * A small cache of checked tokens, so most requests skip the lookup query.
 * Entries live ttl_ms at most; a revocation (NOTIFY recalld_tokens) clears
 * the whole cache at once.
 */
typedef struct token_cache token_cache;

struct token_identity {
	int64_t school_id;
	int64_t token_id;
	int64_t teacher_id;	/* 0 when none */
	int role;		/* the API's role bit */
	int64_t expires_us;	/* a session's end (wall clock); 0 when none */
};

token_cache *token_cache_new(int ttl_ms);
void token_cache_free(token_cache *tc);
bool token_cache_get(token_cache *tc, const char *hash_hex, uint64_t now_ms,
    struct token_identity *out);
void token_cache_put(token_cache *tc, const char *hash_hex, uint64_t now_ms,
    const struct token_identity *id);
void token_cache_clear(token_cache *tc);

#endif
