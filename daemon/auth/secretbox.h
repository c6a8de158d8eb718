/*
 * secretbox.h: secrets at rest. The webhook signing secrets are stored in
 * the database sealed with AES-256-GCM under a key kept outside it, in
 * secrets.key_file (made by `recalld keys init`, readable only by the
 * service user), so that a database dump alone cannot sign webhooks.
 *
 * The key file holds one key a line, "<kid> <base64 of 32 bytes>", the
 * current one first; older ones stay to open what they sealed until
 * `recalld keys rotate` has sealed everything again under a new one. A
 * sealed text is "enc1:<kid>:<base64 of nonce, ciphertext, tag>". Text
 * without the prefix is a secret from before encryption: opened as is
 * (`recalld keys rotate` seals it).
 */
#ifndef RECALLD_SECRETBOX_H
#define RECALLD_SECRETBOX_H

#include <stdbool.h>
#include <stddef.h>

typedef struct secretbox secretbox;

#define SECRETBOX_PREFIX "enc1:"

/* Read the key file; NULL with err on failure (missing, unreadable, open to others, malformed). */
secretbox *secretbox_load(const char *path, char *err, size_t errlen);
void secretbox_free(secretbox *sb);
/* Make a new key file at path with one key (0600, never over an existing file). */
bool secretbox_init_file(const char *path, char *err, size_t errlen);
/* Put a new current key at the head of the file (atomically, 0600); sb reloads it. */
bool secretbox_rotate_file(secretbox *sb, char *err, size_t errlen);
/* The current key's id. */
const char *secretbox_kid(const secretbox *sb);

/* The sealed text of plain (malloc'd), under the current key. */
char *secretbox_seal(const secretbox *sb, const char *plain);
/*
 * The plain text of sealed (malloc'd; wipe and free it), or NULL with err:
 * an unknown key id makes sb read its file again once (another process
 * rotated it). Text without the prefix comes back as it is.
 */
char *secretbox_open(secretbox *sb, const char *sealed, char *err, size_t errlen);
/* Sealed under the current key already? */
bool secretbox_is_current(const secretbox *sb, const char *text);

#endif
