/* lease.c: one daemon's side of the job leases (see lease.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "lease.h"
#include "log.h"
#include "util.h"

#define LEASE_JOBS 16		/* jobs a daemon runs: a handful */

struct hold {
	char job[33];
	char school[24];	/* "" while the job holds none */
	uint64_t renewed_ms;	/* monotonic */
};

struct lease_keeper {
	char holder[128];
	char timeout[24];
	int64_t timeout_ms;
	struct hold holds[LEASE_JOBS];
};

lease_keeper *
lease_keeper_new(int64_t timeout_ms)
{
	lease_keeper *k = xcalloc(1, sizeof *k);
	char host[64] = "";
	unsigned char nonce[6];
	char hex[13];

	/* The nonce tells a restarted daemon (same pid, new life) from its predecessor. */
	if (RAND_bytes(nonce, sizeof nonce) != 1)
		memset(nonce, 0, sizeof nonce);
	for (size_t i = 0; i < sizeof nonce; i++)
		snprintf(hex + 2 * i, 3, "%02x", nonce[i]);
	if (gethostname(host, sizeof host - 1) != 0)
		util_strlcpy(host, "unknown", sizeof host);
	host[sizeof host - 1] = '\0';
	snprintf(k->holder, sizeof k->holder, "%s:%ld:%s", host, (long)getpid(), hex);
	k->timeout_ms = timeout_ms;
	snprintf(k->timeout, sizeof k->timeout, "%" PRId64, timeout_ms);
	return k;
}

void
lease_keeper_free(lease_keeper *k)
{
	free(k);
}

const char *
lease_holder(const lease_keeper *k)
{
	return k->holder;
}

const char *
lease_timeout_param(const lease_keeper *k)
{
	return k->timeout;
}

static struct hold *
find(lease_keeper *k, const char *job, bool add)
{
	struct hold *free_slot = NULL;

	for (int i = 0; i < LEASE_JOBS; i++) {
		struct hold *h = &k->holds[i];

		if (strcmp(h->job, job) == 0)
			return h;
		if (h->job[0] == '\0' && free_slot == NULL)
			free_slot = h;
	}
	if (!add)
		return NULL;
	if (free_slot == NULL)
		fatalx("lease", "too many jobs", "job=%s", job);
	util_strlcpy(free_slot->job, job, sizeof free_slot->job);
	return free_slot;
}

void
lease_held(lease_keeper *k, const char *job, const char *school)
{
	struct hold *h = find(k, job, true);

	util_strlcpy(h->school, school, sizeof h->school);
	h->renewed_ms = util_mono_ms();
}

bool
lease_renew_due(const lease_keeper *k, const char *job)
{
	const struct hold *h = find((lease_keeper *)k, job, false);

	return h != NULL && h->school[0] != '\0' &&
	    util_mono_ms() - h->renewed_ms >= (uint64_t)(k->timeout_ms / 3);
}

/* Add sql with (school, job, holder, timeout) of the lease job holds; what: for the crash. */
static struct hold *
add_held(db_req *req, lease_keeper *k, const char *job, const char *sql, int nparams,
    const char *what)
{
	struct hold *h = find(k, job, false);
	const char *p[4];

	if (h == NULL || h->school[0] == '\0')
		fatalx("lease", what, "job=%s", job);
	p[0] = h->school;
	p[1] = job;
	p[2] = k->holder;
	p[3] = k->timeout;
	db_req_add(req, sql, nparams, p);
	return h;
}

void
lease_add_renew(db_req *req, lease_keeper *k, const char *job)
{
	struct hold *h = add_held(req, k, job,
	    "SELECT recalld_lease_renew($1::bigint, $2, $3, $4::bigint)", 4,
	    "renewing a lease not held");

	h->renewed_ms = util_mono_ms();
}

void
lease_add_release(db_req *req, lease_keeper *k, const char *job)
{
	struct hold *h = add_held(req, k, job,
	    "DELETE FROM job_lease WHERE school_id = $1::bigint AND job = $2 AND holder = $3", 3,
	    "releasing a lease not held");

	h->school[0] = '\0';
}

void
lease_forget(lease_keeper *k, const char *job)
{
	struct hold *h = find(k, job, false);

	if (h != NULL)
		h->school[0] = '\0';
}

void
lease_let_go(lease_keeper *k, const char *job, db_pool *db)
{
	struct hold *h = find(k, job, false);
	db_req *req;

	if (h == NULL || h->school[0] == '\0')
		return;
	req = db_req_new(NULL, NULL);
	lease_add_release(req, k, job);
	db_submit(db, req);
}

void
lease_add_next_lapse(db_req *req, lease_keeper *k, const char *job)
{
	const char *p[2] = { job, k->holder };

	/* NULL when there is none (greatest() would make that 0) */
	db_req_add(req, "SELECT ceil(extract(epoch FROM min(until) - clock_timestamp()) * 1000)::bigint"
	    " FROM job_lease WHERE job = $1 AND holder <> $2", 2, p);
}

int64_t
lease_next_lapse_ms(const PGresult *res)
{
	long long ms;

	if (res == NULL || PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		return -1;
	ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	return ms > 0 ? ms : 0;
}

void
lease_each(const lease_keeper *k, lease_each_fn fn, void *arg)
{
	for (int i = 0; i < LEASE_JOBS; i++)
		if (k->holds[i].job[0] != '\0' && k->holds[i].school[0] != '\0')
			fn(k->holds[i].job, k->holds[i].school, arg);
}
