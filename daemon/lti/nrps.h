/*
 * nrps.h: a linked course's membership from the LMS (LTI Names and Role
 * Provisioning Services 2.0), as a roster source beside OneRoster.
 *
 * The job visits each school under its lease (lease.h), hourly, when the
 * manual clock moves and when a launch brings a course's membership URL
 * it has not synced; each linked course (lti_context with a membership
 * URL) is synced when it never was or a day after its last sync. A sync
 * reads every page (Link rel="next"), or only the changes since the last
 * one when the platform offered rel="differences", and applies them in
 * one transaction with the import plan of the OneRoster import (plan.h),
 * whose report it keeps with the course (lti_context.nrps_report):
 *
 *  - a learner who joined: the pupil (made from their roster sourcedId,
 *    no name, when the roster lacks them) is enrolled in the class, and
 *    their LMS user id remembered;
 *  - a learner who left (Inactive or Deleted, or absent from a full
 *    membership): their enrolment in the class is made inactive. Pupils
 *    and their answers are never deleted, and a pupil the roster made
 *    inactive is not brought back;
 *  - instructors and other roles: noted, not imported.
 */
#ifndef RECALLD_NRPS_H
#define RECALLD_NRPS_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "ags.h"
#include "db.h"
#include "hfetch.h"
#include "lease.h"
#include "plan.h"

typedef struct nrps nrps;

struct nrps_spec {
	struct event_base *base;
	db_pool *db;
	lease_keeper *leases;
	hfetch *fetch;
	ags *tokens;		/* the platform's access token */
	bool allow_private;	/* lti.allow_private */
	int64_t interval_ms;	/* between runs */
};

nrps *nrps_new(const struct nrps_spec *spec);
/* Look now (a launch brought a course to sync). */
void nrps_kick(nrps *n);
void nrps_stop(nrps *n);
bool nrps_idle(const nrps *n);
/* A run is going: shutdown waits for it. */
bool nrps_busy(const nrps *n);
void nrps_free(nrps *n);

/* ---- pure, for the job and its tests ---- */

/* The target of the Link header's rel (e.g. "next"), malloc'd, or NULL. */
char *nrps_link(const char *link, const char *rel);

/*
 * Add to p the statements for one page of members (a membership
 * container): school, platform and class as text, now as ISO text; keep
 * (a text[] literal being built, see sbuf.h) collects the sourcedIds of
 * active learners for nrps_plan_finish. line counts members across pages.
 */
struct sbuf;
void nrps_plan_page(plan *p, const json_t *container, const char *school, const char *platform,
    const char *klass, const char *now, struct sbuf *keep, unsigned long *line);
/* A full membership: enrolments in the class of learners not kept become inactive. */
void nrps_plan_finish(plan *p, bool full, const char *school, const char *klass,
    const char *now, struct sbuf *keep);

#define NRPS_FILE "memberships"
#define NRPS_MAX_PAGES 200

#endif
