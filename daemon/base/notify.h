/*
 * notify.h: systemd readiness and watchdog via sd_notify. Without
 * libsystemd (or outside systemd) every call is a no-op.
 */
#ifndef RECALLD_NOTIFY_H
#define RECALLD_NOTIFY_H

#include <stdint.h>

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);
void notify_status(const char *status);
/* The watchdog interval systemd asked for, in microseconds; 0 if none. */
uint64_t notify_watchdog_usec(void);

#endif
