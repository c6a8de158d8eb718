/* settings.c: a school's settings, read and checked once (see settings.h). */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pgrow.h"
#include "settings.h"
#include "util.h"

/* The columns of SETTINGS_COLUMNS, in order. */
enum {
	C_SCHOOL, C_RETENTION, C_INTERVAL, C_MAX_PER_DAY, C_NEW_PER_DAY, C_DELAY,
	C_SELF_RATING, C_MIN_COVERAGE, C_DEVELOPING, C_SECURE_RECALL, C_SECURE_SHARE,
	C_STABILITY, C_DURABLE_SHARE, C_FLAG_RECALL, C_FALLEN_SHARE, C_HORIZON, C_TODAY,
	C_LOCAL_DATE, C_UNANSWERED_SHARE, C_UNANSWERED_DAYS, C_EVIDENCE_DAYS, C_MIN_PER_DAY,
	C_WEIGHTS, C_COUNT
};

_Static_assert(C_COUNT == SETTINGS_NCOLUMNS, "SETTINGS_COLUMNS and its parse disagree");

struct bound {
	const char *field;
	double v, lo, hi;
};

static bool
refuse(struct settings_error *e, const struct bound *b)
{
	e->field = b->field;
	snprintf(e->detail, sizeof e->detail, "%s is %g, outside [%g, %g]", b->field, b->v, b->lo,
	    b->hi);
	return false;
}

bool
settings_parse(const PGresult *res, int row, int col, struct settings *out,
    struct settings_error *e)
{
	struct settings *s = out;
	char err[128];

	*s = (struct settings){ 0 };
	*e = (struct settings_error){ 0 };
	s->school_id = e->school_id = pgrow_i64(res, row, col + C_SCHOOL);
	s->desired_retention = pgrow_f64(res, row, col + C_RETENTION);
	s->max_interval_days = (int32_t)pgrow_int(res, row, col + C_INTERVAL);
	{
		const char *w = PQgetvalue(res, row, col + C_WEIGHTS);

		s->fsrs_fitted = w[0] != '\0';
		if (!s->fsrs_fitted)
			memcpy(s->fsrs_w, fsrs_default_params(), sizeof(s->fsrs_w));
		else if (!fsrs_params_parse(w, s->fsrs_w, err, sizeof err)) {
			e->field = "fsrs_weights";
			snprintf(e->detail, sizeof e->detail, "fsrs_weights: %s", err);
			return false;
		}
	}
	s->batch = batch_settings_default();
	s->self_rating = pgrow_bool(res, row, col + C_SELF_RATING);
	s->mastery.min_coverage = pgrow_f64(res, row, col + C_MIN_COVERAGE);
	s->mastery.developing_recall = pgrow_f64(res, row, col + C_DEVELOPING);
	s->mastery.secure_recall = pgrow_f64(res, row, col + C_SECURE_RECALL);
	s->mastery.secure_share = pgrow_f64(res, row, col + C_SECURE_SHARE);
	s->mastery.durable_days = pgrow_f64(res, row, col + C_STABILITY);
	s->mastery.durable_share = pgrow_f64(res, row, col + C_DURABLE_SHARE);
	s->flags.recall = pgrow_f64(res, row, col + C_FLAG_RECALL);
	s->flags.fallen_share = pgrow_f64(res, row, col + C_FALLEN_SHARE);
	s->flags.unanswered_share = pgrow_f64(res, row, col + C_UNANSWERED_SHARE);
	s->today = (int32_t)pgrow_int(res, row, col + C_TODAY);
	/* Until settings_parse_windows: today alone. */
	s->unanswered_from = s->evidence_from = s->today;
	util_strlcpy(s->local_date, PQgetvalue(res, row, col + C_LOCAL_DATE), sizeof s->local_date);

	/* Integers are checked as read, before they are narrowed to their fields. */
	{
		const struct bound b[] = {
			{ "desired_retention", s->desired_retention, SETTINGS_RETENTION_MIN,
			    SETTINGS_RETENTION_MAX },
			{ "max_interval_days", pgrow_f64(res, row, col + C_INTERVAL),
			    SETTINGS_INTERVAL_MIN, SETTINGS_INTERVAL_MAX },
			{ "max_per_day", pgrow_f64(res, row, col + C_MAX_PER_DAY),
			    SETTINGS_PER_DAY_MIN, SETTINGS_PER_DAY_MAX },
			{ "new_per_day", pgrow_f64(res, row, col + C_NEW_PER_DAY),
			    SETTINGS_PER_DAY_MIN, SETTINGS_PER_DAY_MAX },
			{ "first_retrieval_delay_days", pgrow_f64(res, row, col + C_DELAY),
			    SETTINGS_DELAY_MIN, SETTINGS_DELAY_MAX },
			{ "mastery_min_coverage", s->mastery.min_coverage, SETTINGS_SHARE_MIN,
			    SETTINGS_SHARE_MAX },
			{ "mastery_developing_recall", s->mastery.developing_recall,
			    SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX },
			{ "mastery_secure_recall", s->mastery.secure_recall, SETTINGS_SHARE_MIN,
			    SETTINGS_SHARE_MAX },
			{ "mastery_secure_share", s->mastery.secure_share, SETTINGS_SHARE_MIN,
			    SETTINGS_SHARE_MAX },
			{ "mastery_stability_days", s->mastery.durable_days, SETTINGS_STABILITY_MIN,
			    SETTINGS_STABILITY_MAX },
			{ "mastery_durable_share", s->mastery.durable_share, SETTINGS_SHARE_MIN,
			    SETTINGS_SHARE_MAX },
			{ "flag_recall", s->flags.recall, SETTINGS_SHARE_MIN, SETTINGS_SHARE_MAX },
			{ "flag_fallen_share", s->flags.fallen_share, SETTINGS_SHARE_MIN,
			    SETTINGS_SHARE_MAX },
			{ "flag_horizon_days", pgrow_f64(res, row, col + C_HORIZON),
			    SETTINGS_HORIZON_MIN, SETTINGS_HORIZON_MAX },
			{ "flag_unanswered_share", s->flags.unanswered_share, SETTINGS_SHARE_MIN,
			    SETTINGS_SHARE_MAX },
			{ "flag_unanswered_days", pgrow_f64(res, row, col + C_UNANSWERED_DAYS),
			    SETTINGS_HORIZON_MIN, SETTINGS_HORIZON_MAX },
			{ "mastery_evidence_days", pgrow_f64(res, row, col + C_EVIDENCE_DAYS),
			    SETTINGS_EVIDENCE_MIN, SETTINGS_EVIDENCE_MAX },
			{ "min_per_day", pgrow_f64(res, row, col + C_MIN_PER_DAY),
			    SETTINGS_PER_DAY_MIN, SETTINGS_PER_DAY_MAX },
		};

		for (size_t i = 0; i < nitems(b); i++) {
			/* NaN fails both comparisons: refused too. */
			if (!(b[i].v >= b[i].lo && b[i].v <= b[i].hi))
				return refuse(e, &b[i]);
		}
	}
	s->batch.max_per_day = (uint32_t)pgrow_int(res, row, col + C_MAX_PER_DAY);
	s->batch.new_per_day = (uint32_t)pgrow_int(res, row, col + C_NEW_PER_DAY);
	s->batch.first_retrieval_delay_days = (int32_t)pgrow_int(res, row, col + C_DELAY);
	s->flags.horizon_days = (int32_t)pgrow_int(res, row, col + C_HORIZON);
	s->flags.unanswered_days = (int32_t)pgrow_int(res, row, col + C_UNANSWERED_DAYS);
	s->evidence_days = (int32_t)pgrow_int(res, row, col + C_EVIDENCE_DAYS);
	s->batch.min_per_day = (uint32_t)pgrow_int(res, row, col + C_MIN_PER_DAY);

	/* Within the bounds sched takes them all; a refusal here means the bounds drifted. */
	if (!batch_settings_valid(&s->batch, err, sizeof err) ||
	    !mastery_thresholds_valid(&s->mastery, err, sizeof err) ||
	    !flags_thresholds_valid(&s->flags, err, sizeof err)) {
		e->field = "thresholds";
		snprintf(e->detail, sizeof e->detail, "thresholds refused by sched: %s", err);
		return false;
	}
	return true;
}

void
settings_parse_windows(const PGresult *res, int row, int col, struct settings *s)
{
	s->unanswered_from = (int32_t)pgrow_int(res, row, col);
	s->evidence_from = (int32_t)pgrow_int(res, row, col + 1);
}

fsrs_model *
settings_model_new(const struct settings *s)
{
	char err[256];
	fsrs_model *m = fsrs_model_new(s->fsrs_w, s->desired_retention, s->max_interval_days, err,
	    sizeof err);

	/* The bounds sit inside what FSRS takes: this is a broken invariant. */
	if (m == NULL)
		fatalx("settings", "parsed settings refused by the model", "school=%" PRId64
		    " err=\"%s\"", s->school_id, err);
	return m;
}

void
settings_warn(const char *who, const struct settings_error *e)
{
	log_warnx(who, "school setting refused", "school=%" PRId64 " field=%s err=\"%s\"",
	    e->school_id, e->field != NULL ? e->field : "?", e->detail);
}

int
settings_error_text(const struct settings_error *e, char *buf, size_t len)
{
	return snprintf(buf, len, "the school's setting %s is refused (%s); it has been logged",
	    e->field != NULL ? e->field : "?", e->detail);
}
