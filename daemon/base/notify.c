/* notify.c: sd_notify wrappers (no-ops without libsystemd). */
#include "autoconf.h"

#include <time.h>

#include "notify.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

void
notify_ready(void)
{
	sd_notify(0, "READY=1\nSTATUS=serving");
}

void
notify_reloading(void)
{
	struct timespec ts;

	/* Type=notify-reload wants MONOTONIC_USEC beside RELOADING=1. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void
notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

void
notify_status(const char *status)
{
	sd_notifyf(0, "STATUS=%s", status);
}

uint64_t
notify_watchdog_usec(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}

#else

void notify_ready(void) {}
void notify_reloading(void) {}
void notify_stopping(void) {}
void notify_watchdog(void) {}
void notify_status(const char *status) { (void)status; }
uint64_t notify_watchdog_usec(void) { return 0; }

#endif
