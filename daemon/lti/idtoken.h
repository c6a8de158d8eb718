/*
 * idtoken.h: checking a platform's id_token (LTI 1.3 Core §5.1, OpenID
 * Connect Core §3.1.3.7), on libcjose. Pure: no I/O, no clock (the caller
 * passes now and the platform's JWKS).
 *
 * Only RS256 is taken, whatever the token's header says: "none", HS256
 * with the RSA key as a secret, or any other algorithm is refused before
 * a key is looked at; the key must be an RSA key of at least 2048 bits
 * that does not say it is for anything but RS256 signatures.
 */
#ifndef RECALLD_IDTOKEN_H
#define RECALLD_IDTOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define IDTOKEN_MAX 16384	/* bytes of a compact token we read at all */
#define IDTOKEN_LEEWAY_S 60	/* clock difference taken on exp and iat */
#define IDTOKEN_MAX_AGE_S 3600	/* an older iat is refused */

/* The claims' names (LTI 1.3 Core §5.3 and §5.4). */
#define LTI_CLAIM "https://purl.imsglobal.org/spec/lti/claim/"
#define LTI_DL_CLAIM "https://purl.imsglobal.org/spec/lti-dl/claim/"
#define LTI_NRPS_CLAIM "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
#define LTI_AGS_CLAIM "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"

enum idtoken_status {
	IDTOKEN_OK = 0,
	IDTOKEN_MALFORMED,	/* not a compact JWS of JSON objects, or too long */
	IDTOKEN_ALG,		/* an algorithm other than RS256, or crit */
	IDTOKEN_UNKNOWN_KID,	/* no key of the JWKS has the token's kid */
	IDTOKEN_SIGNATURE,	/* the signature does not verify */
	IDTOKEN_CLAIMS,		/* signed well, but a claim is wrong or missing */
};

/* The token's header and claims, read before anything is trusted. */
struct idtoken {
	json_t *header;
	json_t *claims;
	const char *kid;	/* in header */
};

/* Split and parse; why says what is wrong. Free with idtoken_free in any case. */
enum idtoken_status idtoken_parse(const char *compact, struct idtoken *t, char *why, size_t len);
void idtoken_free(struct idtoken *t);

/* Verify compact's signature with the key of jwks (a JWK Set) named by t->kid. */
enum idtoken_status idtoken_verify(const char *compact, const struct idtoken *t,
    const json_t *jwks, char *why, size_t len);

/* What the claims must say. */
struct idtoken_expect {
	const char *issuer;
	const char *client_id;
	const char *nonce;
	const char *const *deployments;
	size_t ndeployments;
	int64_t now;		/* Unix seconds */
};

enum lti_message {
	LTI_RESOURCE_LINK = 1,	/* LtiResourceLinkRequest */
	LTI_DEEP_LINKING,	/* LtiDeepLinkingRequest */
};

/* The LTI roles recalld acts on (LIS vocabulary, context or institution). */
#define LTI_ROLE_LEARNER 1u
#define LTI_ROLE_INSTRUCTOR 2u	/* Instructor, TeachingAssistant, ContentDeveloper, Mentor */
#define LTI_ROLE_ADMIN 4u	/* Administrator */

/* One LIS role URI (or short name) as LTI_ROLE_* bits; 0 for others (a Mentor). */
unsigned lti_role_bits(const char *role);

/* What recalld reads of good claims; strings point into t->claims. */
struct lti_launch {
	enum lti_message message;
	const char *sub;
	const char *deployment_id;
	unsigned roles;
	const char *person_sourcedid;	/* lis.person_sourcedid, or NULL */
	const char *email;
	const char *given_name;
	const char *context_id;		/* NULL: no context */
	const char *context_title;
	const char *section_sourcedid;	/* lis.course_section_sourcedid */
	const char *resource_link_id;	/* resource links */
	const char *target_link_uri;
	const char *custom_unit;	/* custom.unit: one unit's check */
	const char *dl_return_url;	/* deep linking */
	const char *dl_data;
	const char *nrps_url;		/* context_memberships_url */
	const char *ags_lineitems;	/* the context's line-items container */
	bool ags_scores;		/* the platform grants the score scope */
};

/* Check the claims against e and fill out; why names the claim. */
enum idtoken_status idtoken_check(const struct idtoken *t, const struct idtoken_expect *e,
    struct lti_launch *out, char *why, size_t len);

#endif
