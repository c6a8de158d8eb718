/* clock.c: the daemon's clock: system time, or manual time for tests. */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

/* The process's own clock state: one clock per process by design. */
static struct {
	bool manual;
	int64_t now_us;
	struct {
		clock_changed_cb cb;
		void *arg;
	} subs[8];
	int nsubs;
} clk;

int64_t
clock_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clock_now_us(void)
{
	return clk.manual ? clk.now_us : clock_wall_us();
}

void
clock_format_iso(int64_t us, char *buf, size_t len)
{
	time_t secs = (time_t)(us / 1000000);
	int64_t frac = us % 1000000;
	struct tm tm;

	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
}

void
clock_now_iso(char *buf, size_t len)
{
	clock_format_iso(clock_now_us(), buf, len);
}

static bool
digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool
clock_parse_iso(const char *s, int64_t *us)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0;
	int64_t frac = 0, scale = 100000;
	struct tm tm = { 0 };
	const char *p;
	time_t t;

	if (*s != '\0' && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 12) {
		*us = strtoll(s, NULL, 10) * 1000000;
		return true;
	}
	if (strlen(s) < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
	    s[16] != ':' || !digits(s + 17, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return false;
	p = s + 19;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' && p[1] == '\0') {
		/* UTC */
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && digits(p + 1, 2, &oh) &&
	    p[3] == ':' && digits(p + 4, 2, &om)) {
		if (*p == '+') {
			oh = -oh;
			om = -om;
		}
	} else {
		return false;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises 31 February into March: refuse that. */
	{
		struct tm back;
		gmtime_r(&t, &back);
		if (back.tm_mday != d || back.tm_mon != mo - 1)
			return false;
	}
	*us = ((int64_t)t + oh * 3600 + om * 60) * 1000000 + frac;
	return true;
}

void
clock_set_manual(int64_t start_us)
{
	clk.manual = true;
	clk.now_us = start_us;
}

bool
clock_is_manual(void)
{
	return clk.manual;
}

bool
clock_set(int64_t us)
{
	if (!clk.manual || us < clk.now_us)
		return false;
	clk.now_us = us;
	for (int i = 0; i < clk.nsubs; i++)
		clk.subs[i].cb(clk.subs[i].arg);
	return true;
}

void
clock_subscribe(clock_changed_cb cb, void *arg)
{
	if (clk.nsubs < (int)(sizeof clk.subs / sizeof clk.subs[0])) {
		clk.subs[clk.nsubs].cb = cb;
		clk.subs[clk.nsubs].arg = arg;
		clk.nsubs++;
	}
}

void
clock_unsubscribe(clock_changed_cb cb, void *arg)
{
	for (int i = 0; i < clk.nsubs; i++) {
		if (clk.subs[i].cb == cb && clk.subs[i].arg == arg) {
			clk.subs[i] = clk.subs[--clk.nsubs];
			return;
		}
	}
}

void
clock_unsubscribe_all(void)
{
	clk.nsubs = 0;
}
