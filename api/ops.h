/* ops.h: the operations routes: /healthz, /readyz and /metrics. */
#ifndef RECALLD_OPS_H
#define RECALLD_OPS_H

#include "http.h"

void ops_routes(http_server *s);

#endif
