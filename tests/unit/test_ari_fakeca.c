/*
 * test_ari_fakeca.c - ARI (RFC 9773) over the wire against
 * tests/integration/fakeca.py (Pebble 2.4 has no renewalInfo): GET
 * renewalInfo/<certID> answers of every shape, newOrder's retry without
 * "replaces" when the CA refuses it, and badNonce answers retried (each
 * with the last answer's nonce) until the deadline, then an error that
 * says how many were spent.
 *
 * fakeca.py runs as python3 on 127.0.0.1, on a port the kernel picks
 * (--port 0 --port-file), with a throw-away self-signed certificate made
 * here; it is stopped by its PID. No python3: the test is skipped.
 */
#include "tests/unit/tmpdir.h"
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/pem.h>

#include "acme/acme_int.h"
#include "mailcert/http.h"
#include "mailcert/acme.h"
#include "mailcert/crypto.h"
#include "mailcert/time.h"
#include "tests/unit/certgen.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define T2030 ((time_t)1893456000) /* 2030-01-01T00:00:00Z */
#define DAY 86400

extern char **environ;

struct fake {
	char dir[64];
	char cert[128];
	pid_t pid;
	int port;
	char url[64];
};

/* fake_script - the path of fakeca.py (next to tests/data, or found from
 * this source file's path); 0 if readable. */
static int
fake_script(char *buf, size_t size)
{
	const char *data = getenv("MC_TEST_DATA");
	const char *src = __FILE__;
	const char *slash = strrchr(src, '/');

	if (data != NULL && data[0] != '\0') {
		snprintf(buf, size, "%s/../integration/fakeca.py", data);
		if (access(buf, R_OK) == 0)
			return 0;
	}
	if (slash != NULL)
		snprintf(buf, size, "%.*s/../integration/fakeca.py",
			 (int)(slash - src), src);
	else
		snprintf(buf, size, "tests/integration/fakeca.py");
	return access(buf, R_OK);
}

/* fake_tls - a self-signed certificate for 127.0.0.1 and its key. */
static void
fake_tls(struct fake *f)
{
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL);
	X509 *cert;
	char path[160];
	FILE *fp;

	assert_non_null(key);
	cert = cg_make("fakeca", key, NULL, NULL, "IP:127.0.0.1", -60, DAY, 1);
	assert_non_null(cert);
	snprintf(f->cert, sizeof(f->cert), "%s/cert.pem", f->dir);
	fp = fopen(f->cert, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_X509(fp, cert), 1);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/key.pem", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(
	    PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL), 1);
	fclose(fp);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* fake_wait_port - wait up to 15 s for the port file; -1 if fakeca died. */
static int
fake_wait_port(struct fake *f, const char *port_file)
{
	struct timespec ts = {0, 100 * 1000 * 1000};
	FILE *fp;
	int i, status;

	for (i = 0; i < 150; i++) {
		fp = fopen(port_file, "r");
		if (fp != NULL) {
			if (fscanf(fp, "%d", &f->port) != 1)
				f->port = 0;
			fclose(fp);
			if (f->port > 0)
				return 0;
		}
		if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
			f->pid = -1;
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* system_has_python - 1 if python3 is an executable on PATH. */
static int
system_has_python(void)
{
	const char *path = getenv("PATH");
	char buf[512];
	size_t n;

	while (path != NULL && *path != '\0') {
		n = strcspn(path, ":");
		snprintf(buf, sizeof(buf), "%.*s/python3", (int)n, path);
		if (n > 0 && access(buf, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

/* fake_start - run fakeca.py in mode; the test is skipped without python3. */
static void
fake_start(struct fake *f, const char *mode)
{
	char script[512], key[160], work[160], pfile[160], log[160];
	char *argv[16];
	posix_spawn_file_actions_t fa;
	int n = 0;

	if (fake_script(script, sizeof(script)) != 0 ||
	    system_has_python() == 0) {
		if (getenv("CI") != NULL)
			fail_msg("python3 or %s is missing (CI is set: a "
				 "missing peer is a failure)",
				 script);
		skip();
	}
	snprintf(key, sizeof(key), "%s/key.pem", f->dir);
	snprintf(work, sizeof(work), "%s/work-%s", f->dir, mode);
	snprintf(pfile, sizeof(pfile), "%s/port-%s", f->dir, mode);
	snprintf(log, sizeof(log), "%s/fakeca-%s.log", f->dir, mode);
	unlink(pfile);
	argv[n++] = "python3";
	argv[n++] = script;
	argv[n++] = "--mode";
	argv[n++] = (char *)mode;
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--port-file";
	argv[n++] = pfile;
	argv[n++] = "--cert";
	argv[n++] = f->cert;
	argv[n++] = "--key";
	argv[n++] = key;
	argv[n++] = "--workdir";
	argv[n++] = work;
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	assert_int_equal(posix_spawnp(&f->pid, "python3", &fa, NULL, argv,
				      environ),
			 0);
	posix_spawn_file_actions_destroy(&fa);
	if (fake_wait_port(f, pfile) == -1)
		fail_msg("fakeca.py (%s) did not start; see %s", mode, log);
	snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%d/dir", f->port);
}

/* fake_stop - stop fakeca by its PID (TERM, then KILL after 3 s). */
static void
fake_stop(struct fake *f)
{
	struct timespec ts = {0, 100 * 1000 * 1000};
	int i, status;

	if (f->pid <= 0)
		return;
	kill(f->pid, SIGTERM);
	for (i = 0; i < 30; i++) {
		if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
			f->pid = -1;
			return;
		}
		nanosleep(&ts, NULL);
	}
	kill(f->pid, SIGKILL);
	waitpid(f->pid, &status, 0);
	f->pid = -1;
}

/* setup - a private temp dir with the TLS material. */
static int
setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/mc-test-ari.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	f->pid = -1;
	fake_tls(f);
	*state = f;
	return 0;
}

/* teardown - stop fakeca, remove the temp dir. */
static int
teardown(void **state)
{
	struct fake *f = *state;

	fake_stop(f);
	td_remove(f->dir);
	free(f);
	return 0;
}

/* fake_client - a client for the running fakeca. */
static struct mc_acme *
fake_client(struct fake *f)
{
	struct mc_acme_opts opts = {f->url, f->cert, 5, 10, 0};
	struct mc_err err;
	struct mc_acme *acme;

	mc_err_clear(&err);
	acme = mc_acme_new(&opts, &err);
	if (acme == NULL)
		fail_msg("mc_acme_new(%s): %s", f->url, err.msg);
	return acme;
}

static const struct {
	const char *label;
	const char *cert_id;
	int rc;
	enum mc_err_cat cat;
	const char *frag; /* error fragment, or the explanationURL */
	time_t start, end;
	long retry;
} ari_cases[] = {
    {"window and Retry-After", "good.AQ", 0, MC_ERR_NONE, NULL, T2030,
     T2030 + 2 * DAY, 3600},
    {"no Retry-After: 6 h", "noretry.AQ", 0, MC_ERR_NONE, NULL, T2030,
     T2030 + 2 * DAY, 6 * 3600},
    {"Retry-After 5 s: 1 min", "short.AQ", 0, MC_ERR_NONE, NULL, T2030,
     T2030 + 2 * DAY, 60},
    {"Retry-After 2.3 days: 1 day", "long.AQ", 0, MC_ERR_NONE, NULL, T2030,
     T2030 + 2 * DAY, DAY},
    /* http.c treats a Retry-After beyond 7 days as unusable */
    {"Retry-After 11 days: as absent, 6 h", "huge.AQ", 0, MC_ERR_NONE, NULL,
     T2030, T2030 + 2 * DAY, 6 * 3600},
    {"explanationURL", "expl.AQ", 0, MC_ERR_NONE,
     "https://ca.example/incident/42", T2030, T2030 + 2 * DAY, 3600},
    /* 02:00:00.250+02:00 and 2030-01-02T19:00:00-05:00 */
    {"offsets and fractions", "offset.AQ", 0, MC_ERR_NONE, NULL, T2030,
     T2030 + 2 * DAY, 3600},
    {"end before start", "inverted.AQ", -1, MC_ERR_INPUT,
     "before or when it starts", 0, 0, 0},
    {"empty window", "empty.AQ", -1, MC_ERR_INPUT,
     "before or when it starts", 0, 0, 0},
    {"not RFC 3339", "badtime.AQ", -1, MC_ERR_INPUT,
     "suggestedWindow.start \"2030-01-01 00:00\" is not an RFC 3339", 0, 0,
     0},
    {"no suggestedWindow", "nowindow.AQ", -1, MC_ERR_INPUT,
     "\"suggestedWindow\" is missing", 0, 0, 0},
    {"truncated JSON", "badjson.AQ", -1, MC_ERR_INPUT, "malformed JSON", 0,
     0, 0},
    {"unknown certID: 404 problem", "unknown.AQ", -1, MC_ERR_CA,
     "HTTP 404: urn:ietf:params:acme:error:malformed", 0, 0, 0},
    {"certID without a dot", "goodAQ", -1, MC_ERR_INPUT, "is not a certID",
     0, 0, 0},
    {"certID with a slash", "../dir.AQ", -1, MC_ERR_INPUT,
     "is not a certID", 0, 0, 0},
    {"empty certID", "", -1, MC_ERR_INPUT, "is not a certID", 0, 0, 0},
};

/* test_renewal_info - every row of ari_cases against fakeca --mode ari. */
static void
test_renewal_info(void **state)
{
	struct fake *f = *state;
	struct mc_acme *acme;
	struct mc_acme_ari ari;
	struct mc_err err;
	size_t i;
	int rc;

	fake_start(f, "ari");
	acme = fake_client(f);
	assert_true(mc_acme_has_renewal_info(acme));
	for (i = 0; i < N_OF(ari_cases); i++) {
		memset(&ari, 0, sizeof(ari));
		ari.retry_after = -99;
		mc_err_clear(&err);
		rc = mc_acme_renewal_info(acme, ari_cases[i].cert_id, &ari,
					  &err);
		if (rc != ari_cases[i].rc || err.cat != ari_cases[i].cat)
			fail_msg("%s: rc %d cat %d: %s", ari_cases[i].label, rc,
				 err.cat, err.msg);
		if (rc == -1) {
			if (strstr(err.msg, ari_cases[i].frag) == NULL)
				fail_msg("%s: \"%s\" lacks \"%s\"",
					 ari_cases[i].label, err.msg,
					 ari_cases[i].frag);
			if (ari.retry_after != -99)
				fail_msg("%s: *out written on failure",
					 ari_cases[i].label);
			continue;
		}
		if (ari.start != ari_cases[i].start ||
		    ari.end != ari_cases[i].end ||
		    ari.retry_after != ari_cases[i].retry)
			fail_msg("%s: window %lld..%lld retry %ld",
				 ari_cases[i].label, (long long)ari.start,
				 (long long)ari.end, ari.retry_after);
		if ((ari_cases[i].frag == NULL) != (ari.explanation_url == NULL) ||
		    (ari.explanation_url != NULL &&
		     strcmp(ari.explanation_url, ari_cases[i].frag) != 0))
			fail_msg("%s: explanationURL %s", ari_cases[i].label,
				 ari.explanation_url ? ari.explanation_url
						     : "(none)");
		mc_acme_ari_clear(&ari);
	}
	mc_acme_free(acme);
	fake_stop(f);
}

/* test_no_renewal_info - a directory without renewalInfo: a clear CA error. */
static void
test_no_renewal_info(void **state)
{
	struct fake *f = *state;
	struct mc_acme *acme;
	struct mc_acme_ari ari = {0};
	struct mc_err err;

	fake_start(f, "replaces");
	acme = fake_client(f);
	assert_false(mc_acme_has_renewal_info(acme));
	mc_err_clear(&err);
	assert_int_equal(mc_acme_renewal_info(acme, "good.AQ", &ari, &err), -1);
	assert_int_equal(err.cat, MC_ERR_CA);
	assert_non_null(strstr(err.msg, "offers no renewalInfo"));
	mc_acme_free(acme);
	fake_stop(f);
}

static const struct {
	const char *label;
	const char *name;     /* the first identifier picks fakeca's answer */
	const char *replaces; /* NULL: none sent */
	int rc;
	const char *frag; /* error fragment */
	const char *log;  /* fakeca's /order-log afterwards */
} replaces_cases[] = {
    {"accepted", "fine.test", "aYhba4dZ.AQ", 0, NULL,
     "{\"replaces\": [\"aYhba4dZ.AQ\"]}"},
    {"alreadyReplaced once: retried without", "replaced.test",
     "aYhba4dZ.AQ", 0, NULL, "{\"replaces\": [\"aYhba4dZ.AQ\", null]}"},
    {"malformed about replaces: retried without", "malformed.test",
     "aYhba4dZ.AQ", 0, NULL, "{\"replaces\": [\"aYhba4dZ.AQ\", null]}"},
    {"refused again: only one retry", "always.test", "aYhba4dZ.AQ", -1,
     "urn:ietf:params:acme:error:alreadyReplaced",
     "{\"replaces\": [\"aYhba4dZ.AQ\", null]}"},
    {"malformed about something else: no retry", "other.test",
     "aYhba4dZ.AQ", -1, "identifiers are not acceptable",
     "{\"replaces\": [\"aYhba4dZ.AQ\"]}"},
    {"no replaces: refusal is final", "always.test", NULL, -1,
     "alreadyReplaced", "{\"replaces\": [null]}"},
};

/* order_log - fakeca's /order-log body (new string). */
static char *
order_log(const struct fake *f)
{
	struct mc_http_req req = {0};
	struct mc_http_resp r = {0};
	struct mc_http *http;
	struct mc_err err;
	char url[80];
	char *body;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d/order-log", f->port);
	req.method = "GET";
	req.url = url;
	req.max_body = 65536;
	mc_err_clear(&err);
	http = mc_http_new(f->cert, &err);
	if (http == NULL || mc_http_request(http, &req, &r, &err) == -1)
		fail_msg("GET %s: %s", url, err.msg);
	mc_http_free(http);
	assert_int_equal(r.status, 200);
	body = r.body;
	r.body = NULL;
	mc_http_resp_clear(&r);
	return body;
}

/* replaces_row - one order against a fresh fakeca --mode replaces. */
static void
replaces_row(struct fake *f, size_t i, EVP_PKEY *acct_key, EVP_PKEY *cert_key)
{
	struct mc_acme_challenge_conf ch = {MC_CHALLENGE_HTTP01, "127.0.0.1:1",
					    NULL, NULL, NULL, 0, 5, NULL, NULL};
	struct mc_acme_new_account na = {NULL, NULL, NULL, false};
	struct mc_acme_order_req req = {0};
	struct mc_acme_account acct = {0};
	struct mc_acme_cert cert = {0};
	const char *names[1] = {replaces_cases[i].name};
	struct mc_acme *acme;
	struct mc_err err;
	char *log;
	int rc;

	fake_start(f, "replaces");
	acme = fake_client(f);
	mc_acme_set_key(acme, acct_key);
	mc_err_clear(&err);
	if (mc_acme_account_new(acme, &na, &acct, &err) == -1)
		fail_msg("%s: newAccount: %s", replaces_cases[i].label,
			 err.msg);
	req.names = names;
	req.n_names = 1;
	req.cert_key = cert_key;
	req.challenge = &ch;
	req.replaces = replaces_cases[i].replaces;
	req.deadline = 30;
	rc = mc_acme_order(acme, &req, &cert, &err);
	if (rc != replaces_cases[i].rc ||
	    (rc == -1 && (err.cat != MC_ERR_CA ||
			  strstr(err.msg, replaces_cases[i].frag) == NULL)))
		fail_msg("%s: rc %d cat %d: %s", replaces_cases[i].label, rc,
			 err.cat, err.msg);
	if (rc == 0 && cert.chain_pem == NULL)
		fail_msg("%s: no chain", replaces_cases[i].label);
	log = order_log(f);
	if (strcmp(log, replaces_cases[i].log) != 0)
		fail_msg("%s: order log %s, want %s", replaces_cases[i].label,
			 log, replaces_cases[i].log);
	free(log);
	mc_acme_cert_clear(&cert);
	mc_acme_account_clear(&acct);
	mc_acme_free(acme);
	fake_stop(f);
}

/* test_replaces_retry - every row of replaces_cases. */
static void
test_replaces_retry(void **state)
{
	EVP_PKEY *acct_key = mc_key_generate(MC_KEY_EC_P256, NULL);
	EVP_PKEY *cert_key = mc_key_generate(MC_KEY_EC_P256, NULL);
	size_t i;

	assert_non_null(acct_key);
	assert_non_null(cert_key);
	for (i = 0; i < N_OF(replaces_cases); i++)
		replaces_row(*state, i, acct_key, cert_key);
	EVP_PKEY_free(acct_key);
	EVP_PKEY_free(cert_key);
}

/* test_bad_nonce_deadline - a CA that answers badNonce forever: sent again
 * with each fresh nonce (fakeca answers "malformed" to a reused one) until
 * the request's deadline, then MC_ERR_CA naming the count. */
static void
test_bad_nonce_deadline(void **state)
{
	struct fake *f = *state;
	EVP_PKEY *key = mc_key_generate(MC_KEY_EC_P256, NULL);
	struct mc_acme_new_account req = {NULL, NULL, NULL, false};
	struct mc_acme_account acct;
	struct mc_acme *acme;
	struct mc_err err;
	const char *p;
	long n;

	fake_start(f, "badnonce");
	acme = fake_client(f);
	mc_acme_set_key(acme, key);
	acme->deadline = mc_now_ms() + 1500;
	memset(&acct, 0, sizeof(acct));
	mc_err_clear(&err);
	assert_int_equal(mc_acme_account_new(acme, &req, &acct, &err), -1);
	print_message("badNonce: %s\n", err.msg);
	assert_int_equal(err.cat, MC_ERR_CA);
	assert_non_null(strstr(err.msg, "badNonce"));
	assert_null(strstr(err.msg, "nonce reused"));
	p = strstr(err.msg, "gave up after ");
	assert_non_null(p);
	n = strtol(p + strlen("gave up after "), NULL, 10);
	assert_true(n > 8); /* more than the old fixed 5, and past the quick ones */
	mc_acme_free(acme);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_renewal_info, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_no_renewal_info, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_replaces_retry, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_nonce_deadline, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
