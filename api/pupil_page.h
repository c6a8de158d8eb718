/* pupil_page.h: a pupil's own page at /p/{token} (pupil_page.c). */
#ifndef RECALLD_PUPIL_PAGE_H
#define RECALLD_PUPIL_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "http.h"

/* How long a link to a pupil's page works. */
#define PUPIL_PAGE_TTL_S (14 * 86400)

/* The page's public URL for a pupil until expires_unix into out. */
bool pupil_page_link(const struct app *app, int64_t school_id, int64_t pupil_id,
    int64_t expires_unix, char *out, size_t outlen);

/* GET /p/{token}: no bearer token, the link is the credential. */
void pupil_page_routes(http_server *s);

#endif
