/* secretbox.c: AES-256-GCM sealing of secrets under a key file (see secretbox.h). */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "b64.h"
#include "log.h"
#include "secretbox.h"
#include "util.h"

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define KID_LEN 8		/* hex digits */
#define MAX_KEYS 16
#define AAD "recalld secret v1"	/* binds a sealed text to this use */

struct key {
	char kid[KID_LEN + 1];
	unsigned char k[KEY_LEN];
};

struct secretbox {
	char *path;
	struct key keys[MAX_KEYS];
	int nkeys;
};

static void
wipe_keys(secretbox *sb)
{
	OPENSSL_cleanse(sb->keys, sizeof sb->keys);
	sb->nkeys = 0;
}

static bool
read_file(secretbox *sb, char *err, size_t errlen)
{
	FILE *f;
	struct stat st;
	char line[256];
	int n = 0;
	bool ok = true;

	if ((f = fopen(sb->path, "r")) == NULL)
		return util_err(err, errlen, "secrets.key_file %s: %s (make it with `recalld keys init`)",
		    sb->path, strerror(errno));
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0) {
		fclose(f);
		return util_err(err, errlen, "secrets.key_file %s is open to others (mode %03o):"
		    " chmod 600 it", sb->path, (unsigned)(st.st_mode & 0777));
	}
	wipe_keys(sb);
	while (ok && fgets(line, sizeof line, f) != NULL) {
		char *sp = strchr(line, ' ');
		size_t len, klen = 0;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (n == MAX_KEYS || sp == NULL || sp - line != KID_LEN) {
			ok = util_err(err, errlen, "secrets.key_file %s: line %d is not \"KID KEY\"",
			    sb->path, n + 1);
			break;
		}
		*sp = '\0';
		len = strlen(sp + 1);
		if (!b64_decode(sp + 1, len, B64_ANY, sb->keys[n].k, KEY_LEN, &klen) ||
		    klen != KEY_LEN) {
			ok = util_err(err, errlen, "secrets.key_file %s: key %s is not 32 bytes of base64",
			    sb->path, line);
			break;
		}
		util_strlcpy(sb->keys[n].kid, line, sizeof sb->keys[n].kid);
		n++;
	}
	OPENSSL_cleanse(line, sizeof line);
	fclose(f);
	if (ok && n == 0)
		ok = util_err(err, errlen, "secrets.key_file %s holds no key", sb->path);
	if (!ok)
		wipe_keys(sb);
	else
		sb->nkeys = n;
	return ok;
}

secretbox *
secretbox_load(const char *path, char *err, size_t errlen)
{
	secretbox *sb = xcalloc(1, sizeof *sb);

	sb->path = xstrdup(path);
	if (!read_file(sb, err, errlen)) {
		secretbox_free(sb);
		return NULL;
	}
	return sb;
}

void
secretbox_free(secretbox *sb)
{
	if (sb == NULL)
		return;
	wipe_keys(sb);
	free(sb->path);
	free(sb);
}

const char *
secretbox_kid(const secretbox *sb)
{
	return sb->keys[0].kid;
}

static bool
new_key(struct key *k)
{
	unsigned char id[KID_LEN / 2];

	if (RAND_bytes(k->k, KEY_LEN) != 1 || RAND_bytes(id, sizeof id) != 1)
		return false;
	for (size_t i = 0; i < sizeof id; i++)
		snprintf(k->kid + 2 * i, 3, "%02x", id[i]);
	return true;
}

/* Write keys to path through a new file renamed over it: never half a file. */
static bool
write_keys(const char *path, const struct key *keys, int n, bool exclusive, char *err,
    size_t errlen)
{
	char *tmp = xasprintf("%s.new", path);
	char b64[B64_SIZE(KEY_LEN)];
	int fd;
	FILE *f;
	bool ok = true;

	if (exclusive && access(path, F_OK) == 0) {
		free(tmp);
		return util_err(err, errlen, "%s exists already: its keys open the secrets in the"
		    " database (use `recalld keys rotate` for a new key)", path);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		ok = util_err(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(tmp);
		return ok;
	}
	fputs("# recalld's keys for secrets at rest: the current one first. Keep a copy\n"
	    "# apart from the database's backups; without it, webhook secrets are lost.\n", f);
	for (int i = 0; i < n && ok; i++) {
		ok = b64_encode(keys[i].k, KEY_LEN, b64, sizeof b64);
		fprintf(f, "%s %s\n", keys[i].kid, b64);
	}
	OPENSSL_cleanse(b64, sizeof b64);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = false;
	if (fclose(f) != 0)
		ok = false;
	if (!ok || rename(tmp, path) != 0) {
		ok = util_err(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return ok;
}

bool
secretbox_init_file(const char *path, char *err, size_t errlen)
{
	struct key k;
	bool ok;

	if (!new_key(&k))
		return util_err(err, errlen, "no random bytes");
	ok = write_keys(path, &k, 1, true, err, errlen);
	OPENSSL_cleanse(&k, sizeof k);
	return ok;
}

bool
secretbox_rotate_file(secretbox *sb, char *err, size_t errlen)
{
	struct key keys[MAX_KEYS];
	int n = sb->nkeys < MAX_KEYS ? sb->nkeys : MAX_KEYS - 1;
	bool ok;

	if (!new_key(&keys[0]))
		return util_err(err, errlen, "no random bytes");
	memcpy(&keys[1], sb->keys, sizeof keys[0] * (size_t)n);
	ok = write_keys(sb->path, keys, n + 1, false, err, errlen);
	OPENSSL_cleanse(keys, sizeof keys);
	return ok && read_file(sb, err, errlen);
}

char *
secretbox_seal(const secretbox *sb, const char *plain)
{
	size_t len = strlen(plain);
	unsigned char *buf = xmalloc(NONCE_LEN + len + TAG_LEN);
	char *b64 = xmalloc(B64_SIZE(NONCE_LEN + len + TAG_LEN)), *out;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;

	if (ctx == NULL || RAND_bytes(buf, NONCE_LEN) != 1 ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, sb->keys[0].k, buf) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)AAD, (int)strlen(AAD)) != 1 ||
	    EVP_EncryptUpdate(ctx, buf + NONCE_LEN, &n, (const unsigned char *)plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, buf + NONCE_LEN + n, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, buf + NONCE_LEN + len) != 1 ||
	    !b64_encode(buf, NONCE_LEN + len + TAG_LEN, b64, B64_SIZE(NONCE_LEN + len + TAG_LEN)))
		fatalx("secretbox", "sealing failed", "");
	EVP_CIPHER_CTX_free(ctx);
	out = xasprintf(SECRETBOX_PREFIX "%s:%s", sb->keys[0].kid, b64);
	free(buf);
	free(b64);
	return out;
}

static const struct key *
find_key(const secretbox *sb, const char *kid)
{
	for (int i = 0; i < sb->nkeys; i++)
		if (strncmp(sb->keys[i].kid, kid, KID_LEN) == 0)
			return &sb->keys[i];
	return NULL;
}

char *
secretbox_open(secretbox *sb, const char *sealed, char *err, size_t errlen)
{
	const char *kid, *data;
	const struct key *k;
	unsigned char *buf;
	size_t len, n;
	char *out = NULL;
	EVP_CIPHER_CTX *ctx;
	int m = 0, fin = 0;

	if (strncmp(sealed, SECRETBOX_PREFIX, strlen(SECRETBOX_PREFIX)) != 0)
		return xstrdup(sealed);	/* from before encryption */
	kid = sealed + strlen(SECRETBOX_PREFIX);
	data = strchr(kid, ':');
	if (data == NULL || data - kid != KID_LEN) {
		util_err(err, errlen, "a sealed secret is malformed");
		return NULL;
	}
	data++;
	if ((k = find_key(sb, kid)) == NULL) {
		/* rotated by `recalld keys rotate` since we read the file */
		if (!read_file(sb, err, errlen) || (k = find_key(sb, kid)) == NULL) {
			util_err(err, errlen, "a secret is sealed under key %.8s, which"
			    " secrets.key_file does not hold", kid);
			return NULL;
		}
	}
	len = strlen(data);
	buf = xmalloc(len + 1);
	if (!b64_decode(data, len, B64_ANY, buf, len, &n) || n < NONCE_LEN + TAG_LEN) {
		free(buf);
		util_err(err, errlen, "a sealed secret is malformed");
		return NULL;
	}
	out = xmalloc(n - NONCE_LEN - TAG_LEN + 1);
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->k, buf) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &m, (const unsigned char *)AAD, (int)strlen(AAD)) != 1 ||
	    EVP_DecryptUpdate(ctx, (unsigned char *)out, &m, buf + NONCE_LEN,
	    (int)(n - NONCE_LEN - TAG_LEN)) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
	    buf + n - TAG_LEN) != 1 ||
	    EVP_DecryptFinal_ex(ctx, (unsigned char *)out + m, &fin) != 1) {
		OPENSSL_cleanse(out, n - NONCE_LEN - TAG_LEN + 1);
		free(out);
		out = NULL;
		util_err(err, errlen, "a sealed secret does not open under key %.8s (altered?)", kid);
	} else {
		out[m + fin] = '\0';
	}
	EVP_CIPHER_CTX_free(ctx);
	free(buf);
	return out;
}

bool
secretbox_is_current(const secretbox *sb, const char *text)
{
	size_t p = strlen(SECRETBOX_PREFIX);

	return strncmp(text, SECRETBOX_PREFIX, p) == 0 &&
	    strncmp(text + p, sb->keys[0].kid, KID_LEN) == 0 && text[p + KID_LEN] == ':';
}
