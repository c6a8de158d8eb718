/*
 * endpoints.h: /v1/endpoints (a school's webhook targets) and
 * /v1/deliveries (the outbox and its attempt log). Admin tokens only.
 *
 *   GET    /v1/endpoints                    list (cursor), disabled ones too
 *   POST   /v1/endpoints                    create; the answer holds the secret, once
 *   GET    /v1/endpoints/{id}
 *   PATCH  /v1/endpoints/{id}               url, format, event_types, class_id, enabled
 *   DELETE /v1/endpoints/{id}               disable
 *   POST   /v1/endpoints/{id}/rotate-secret new secret, once; the old one signs for 24 h
 *   POST   /v1/endpoints/{id}/test          queue a "ping" event to it now
 *   GET    /v1/deliveries?status=&endpoint_id=   newest first (cursor)
 *   GET    /v1/deliveries/{id}              with payload and attempts
 *   POST   /v1/deliveries/{id}/retry        dead or pending: try again now
 */
#ifndef RECALLD_ENDPOINTS_H
#define RECALLD_ENDPOINTS_H

#include "http.h"

void endpoints_routes(http_server *s);

#endif
