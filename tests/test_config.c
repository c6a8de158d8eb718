/* test_config.c: the configuration table, INI errors and env overrides. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "config.h"
#include "util.h"

static char *
conf_file(const char *text)
{
	char tmpl[] = "/tmp/recalld-conf.XXXXXX";
	int fd = mkstemp(tmpl);
	FILE *fp;

	ck_assert(fd >= 0);
	fp = fdopen(fd, "w");
	fputs(text, fp);
	fclose(fp);
	return xstrdup(tmpl);
}

/* Load text; returns true on success, the error in err. */
static bool
load(const char *text, struct config **out, char *err, size_t errlen)
{
	char *path = conf_file(text);
	struct config *c = config_new();
	bool ok = config_load(c, path, true, err, errlen);

	unlink(path);
	free(path);
	if (out != NULL && ok)
		*out = c;
	else
		config_free(c);
	return ok;
}

START_TEST(test_defaults)
{
	struct config *c = config_new();

	ck_assert_str_eq(c->http_listen, "127.0.0.1:8080");
	ck_assert_int_eq(c->http_max_body, 1024 * 1024);
	ck_assert_int_eq(c->database_pool_size, 4);
	ck_assert_int_eq(c->serve_shutdown_timeout_ms, 10000);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_INFO);
	config_free(c);
}
END_TEST

START_TEST(test_file_values)
{
	struct config *c = NULL;
	char err[256];

	ck_assert_msg(load("; a comment\n[log]\nlevel = debug\n\n[http]\nlisten = [::1]:9090\n"
	    "max_body = 64K\ntimeout = 1500ms\n[database]\npool_size=8\n"
	    "[serve]\nshutdown_timeout = 1m\n", &c, err, sizeof err), "%s", err);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_DEBUG);
	ck_assert_str_eq(c->http_listen, "[::1]:9090");
	ck_assert_int_eq(c->http_max_body, 65536);
	ck_assert_int_eq(c->http_timeout_ms, 1500);
	ck_assert_int_eq(c->database_pool_size, 8);
	ck_assert_int_eq(c->serve_shutdown_timeout_ms, 60000);
	config_free(c);
}
END_TEST

START_TEST(test_unknown_key_names_line)
{
	char err[256];

	ck_assert(!load("[database]\nurl = dbname=x\npool_sz = 3\n", NULL, err, sizeof err));
	ck_assert_msg(strstr(err, ":3:") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "pool_sz") != NULL, "%s", err);
}
END_TEST

START_TEST(test_unknown_section)
{
	char err[256];

	ck_assert(!load("[log]\nlevel=info\n[databse]\nurl = x\n", NULL, err, sizeof err));
	ck_assert_msg(strstr(err, ":4:") != NULL && strstr(err, "databse") != NULL, "%s", err);
}
END_TEST

START_TEST(test_bad_values)
{
	char err[256];

	ck_assert(!load("[database]\npool_size = many\n", NULL, err, sizeof err));
	ck_assert_msg(strstr(err, ":2:") && strstr(err, "pool_size"), "%s", err);
	ck_assert(!load("[database]\npool_size = 0\n", NULL, err, sizeof err));
	ck_assert_msg(strstr(err, "out of range"), "%s", err);
	ck_assert(!load("[log]\nlevel = loud\n", NULL, err, sizeof err));
	ck_assert_msg(strstr(err, "level"), "%s", err);
	ck_assert(!load("[http]\nmax_body = 1 parsec\n", NULL, err, sizeof err));
	ck_assert(!load("[serve]\nshutdown_timeout = soon\n", NULL, err, sizeof err));
}
END_TEST

START_TEST(test_syntax_error)
{
	char err[256];

	ck_assert(!load("[log]\nlevel = info\nthis line has no equals sign\n", NULL, err,
	    sizeof err));
	ck_assert_msg(strstr(err, ":3:") && strstr(err, "syntax"), "%s", err);
	ck_assert(!load("[log\nlevel = info\n", NULL, err, sizeof err));
	ck_assert_msg(strstr(err, ":1:"), "%s", err);
}
END_TEST

START_TEST(test_missing_file)
{
	struct config *c = config_new();
	char err[256];

	ck_assert(config_load(c, "/nonexistent/recalld.conf", false, err, sizeof err));
	ck_assert(!config_load(c, "/nonexistent/recalld.conf", true, err, sizeof err));
	ck_assert_msg(strstr(err, "/nonexistent/recalld.conf"), "%s", err);
	config_free(c);
}
END_TEST

START_TEST(test_env_overrides_file)
{
	struct config *c = NULL;
	char err[256];

	setenv("RECALLD_DATABASE_POOL_SIZE", "12", 1);
	setenv("RECALLD_HTTP_LISTEN", "127.0.0.1:9999", 1);
	ck_assert_msg(load("[database]\npool_size = 3\n", &c, err, sizeof err), "%s", err);
	ck_assert_int_eq(c->database_pool_size, 12);
	ck_assert_str_eq(c->http_listen, "127.0.0.1:9999");
	config_free(c);
	setenv("RECALLD_DATABASE_POOL_SIZE", "lots", 1);
	ck_assert(!load("", NULL, err, sizeof err));
	ck_assert_msg(strstr(err, "RECALLD_DATABASE_POOL_SIZE"), "%s", err);
	unsetenv("RECALLD_DATABASE_POOL_SIZE");
	setenv("RECALLD_DATABASE_POOLSIZE", "3", 1);
	ck_assert(!load("", NULL, err, sizeof err));
	ck_assert_msg(strstr(err, "RECALLD_DATABASE_POOLSIZE"), "%s", err);
	unsetenv("RECALLD_DATABASE_POOLSIZE");
	unsetenv("RECALLD_HTTP_LISTEN");
}
END_TEST

START_TEST(test_print_masks_secrets)
{
	struct config *c = NULL;
	char err[256], *buf = NULL;
	size_t len = 0;
	FILE *fp;

	ck_assert(load("[database]\nurl = host=db user=r password=hunter2 dbname=recalld\n",
	    &c, err, sizeof err));
	fp = open_memstream(&buf, &len);
	config_print(c, fp);
	fclose(fp);
	ck_assert(strstr(buf, "hunter2") == NULL);
	ck_assert(strstr(buf, "password=****") != NULL);
	ck_assert(strstr(buf, "pool_size = 4") != NULL);
	free(buf);
	config_free(c);
}
END_TEST

START_TEST(test_mask_url)
{
	char *m;

	m = config_mask_url("postgresql://recalld:s3cret@db.example/recalld?sslmode=require");
	ck_assert_str_eq(m, "postgresql://recalld:****@db.example/recalld?sslmode=require");
	free(m);
	m = config_mask_url("postgresql://db/recalld?password=abc&sslmode=require");
	ck_assert_str_eq(m, "postgresql://db/recalld?password=****&sslmode=require");
	free(m);
	m = config_mask_url("host=x password = 'a b\\'c' dbname=y");
	ck_assert_str_eq(m, "host=x password = **** dbname=y");
	free(m);
	m = config_mask_url("dbname=recalld");
	ck_assert_str_eq(m, "dbname=recalld");
	free(m);
	m = config_mask_url("postgresql://a:x@h1,h2/db?password=y");
	ck_assert_str_eq(m, "postgresql://a:****@h1,h2/db?password=****");
	free(m);
}
END_TEST

/* Whatever a log line quotes (libpq's errors do), no password gets through. */
START_TEST(test_mask_log_line)
{
	char out[512];

	util_mask_passwords("level=warn mod=serve msg=\"database not reachable yet\" err=\"invalid"
	    " URI: \"postgresql://app:S3cretPW@[::1:5432/recalld\"\"", out, sizeof out);
	ck_assert_ptr_null(strstr(out, "S3cretPW"));
	ck_assert_ptr_nonnull(strstr(out, "postgresql://app:****@[::1:5432/recalld"));
	util_mask_passwords("a password=one b password='t w\\'o' c https://u:v@x/ d", out,
	    sizeof out);
	ck_assert_str_eq(out, "a password=**** b password=**** c https://u:****@x/ d");
	/* no userinfo, or no password in it: left alone */
	util_mask_passwords("see https://example.com/a@b and ssh://git@host", out, sizeof out);
	ck_assert_str_eq(out, "see https://example.com/a@b and ssh://git@host");
	/* cut short, still terminated */
	util_mask_passwords("password=abcdef", out, 8);
	ck_assert_str_eq(out, "passwor");
}
END_TEST

START_TEST(test_reload_only_reloadable)
{
	struct config *cur = config_new(), *next = config_new();
	char err[256];

	setenv("RECALLD_LOG_LEVEL", "debug", 1);
	setenv("RECALLD_HTTP_LISTEN", "127.0.0.1:1", 1);
	ck_assert(config_load(next, NULL, false, err, sizeof err));
	unsetenv("RECALLD_LOG_LEVEL");
	unsetenv("RECALLD_HTTP_LISTEN");
	ck_assert(config_set(next, "webhooks", "retry_schedule", "1s,2d", err, sizeof err));
	config_reload(cur, next);
	ck_assert_int_eq(cur->log_level, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(cur->webhooks_retry_schedule.n, 2);
	ck_assert_int_eq(cur->webhooks_retry_schedule.ms[1], 2 * 86400000);
	ck_assert_str_eq(cur->webhooks_retry_schedule.text, "1s,2d");
	ck_assert_str_eq(cur->http_listen, "127.0.0.1:8080");	/* needs a restart */
	config_free(cur);
	config_free(next);
}
END_TEST

/* Days are a unit of the schedule like any other duration: 5s,1d is two retries. */
START_TEST(test_retry_schedule_days)
{
	struct config *c = NULL;
	char err[256];

	ck_assert_msg(load("[webhooks]\nretry_schedule = 5s, 1d\n", &c, err, sizeof err), "%s", err);
	ck_assert_int_eq(c->webhooks_retry_schedule.n, 2);
	ck_assert_int_eq(c->webhooks_retry_schedule.ms[0], 5000);
	ck_assert_int_eq(c->webhooks_retry_schedule.ms[1], 86400000);
	config_free(c);
	setenv("RECALLD_WEBHOOKS_RETRY_SCHEDULE", "5s,1d", 1);
	ck_assert_msg(load("", &c, err, sizeof err), "%s", err);
	unsetenv("RECALLD_WEBHOOKS_RETRY_SCHEDULE");
	ck_assert_int_eq(c->webhooks_retry_schedule.n, 2);
	ck_assert_int_eq(c->webhooks_retry_schedule.ms[1], 86400000);
	ck_assert_str_eq(c->webhooks_retry_schedule.text, "5s,1d");
	config_free(c);
	/* The default, from the table. */
	c = config_new();
	ck_assert_int_eq(c->webhooks_retry_schedule.n, 9);
	ck_assert_int_eq(c->webhooks_retry_schedule.ms[0], 5000);
	ck_assert_int_eq(c->webhooks_retry_schedule.ms[8], 86400000);
	config_free(c);
	ck_assert(!load("[webhooks]\nretry_schedule = 5s,,1m\n", NULL, err, sizeof err));
	ck_assert(!load("[webhooks]\nretry_schedule = 8d\n", NULL, err, sizeof err));
	ck_assert(!load("[webhooks]\nretry_schedule = 5x\n", NULL, err, sizeof err));
	ck_assert_msg(strstr(err, "retry_schedule") != NULL, "%s", err);
}
END_TEST

/* The checks serve makes are made at load, naming the key. */
START_TEST(test_validate)
{
	static const struct {
		const char *text, *key;
	} bad[] = {
		{ "[responses]\nlink_key = not base64!\n", "responses.link_key" },
		{ "[responses]\nlink_key = c2hvcnQ=\n", "responses.link_key" },
		{ "[responses]\nlink_key_previous = c2hvcnQ=\n", "responses.link_key_previous" },
		{ "[clock]\nmode = manual\nstart = yesterday\n", "clock.start" },
		{ "[clock]\nstart = yesterday\n", "clock.start" },
		{ "[http]\nlisten = 127.0.0.1\n", "http.listen" },
		{ "[http]\nlisten = 999.1.1.1:99999\n", "http.listen" },
		{ "[http]\nlisten = 999.1.1.1:80\n", "http.listen" },
		{ "[http]\nlisten = 127.0.0.1:-1\n", "http.listen" },
		{ "[http]\nlisten = [::g]:80\n", "http.listen" },
		{ "[http]\nlisten = ::1:80\n", "http.listen" },
		{ "[database]\nurl = host=db dbname\n", "database.url" },
		{ "[database]\nurl = postgresql://db/x?nosuchoption=1\n", "database.url" },
	};
	static const char *const good[] = {
		"[responses]\nlink_key = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"[clock]\nmode = manual\nstart = 2026-09-07T06:00:00Z\n",
		"[http]\nlisten = [::1]:0\n",
		"[http]\nlisten = localhost:8080\n",
		"[http]\nlisten = :8080\n",
		"[database]\nurl = postgresql://r:pw@db.example:5433/recalld?sslmode=require\n",
	};
	char err[256];

	for (size_t i = 0; i < nitems(bad); i++) {
		ck_assert_msg(!load(bad[i].text, NULL, err, sizeof err), "accepted: %s", bad[i].text);
		ck_assert_msg(strstr(err, bad[i].key) != NULL, "%s: %s", bad[i].text, err);
	}
	for (size_t i = 0; i < nitems(good); i++)
		ck_assert_msg(load(good[i], NULL, err, sizeof err), "%s: %s", good[i], err);
}
END_TEST

START_TEST(test_duplicate_key)
{
	char err[256];

	ck_assert(!load("[http]\nlisten = 127.0.0.1:1\n[log]\nlevel = info\n[http]\n"
	    "listen = 127.0.0.1:2\n", NULL, err, sizeof err));
	ck_assert_msg(strstr(err, ":6:") != NULL && strstr(err, "listen") != NULL &&
	    strstr(err, "duplicate") != NULL, "%s", err);
	ck_assert(!load("[log]\nlevel = info\nLevel = debug\n", NULL, err, sizeof err));
	ck_assert_msg(strstr(err, ":3:") != NULL, "%s", err);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	SRunner *sr;
	int failed;

	log_set_level(LOG_LEVEL_ERROR);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_file_values);
	tcase_add_test(tc, test_unknown_key_names_line);
	tcase_add_test(tc, test_unknown_section);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_syntax_error);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_env_overrides_file);
	tcase_add_test(tc, test_print_masks_secrets);
	tcase_add_test(tc, test_mask_url);
	tcase_add_test(tc, test_mask_log_line);
	tcase_add_test(tc, test_reload_only_reloadable);
	tcase_add_test(tc, test_retry_schedule_days);
	tcase_add_test(tc, test_validate);
	tcase_add_test(tc, test_duplicate_key);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
