/*
 * cmd_check.c - `mailcert check URL... [options]`: diagnose any mail TLS
 * endpoint, no configuration needed.
 *
 *   check URL... [--servername NAME] [--expect FILE] [--trust-bundle FILE]
 *         [--warn DAYS] [--crit DAYS] [--json] [--nagios] [--from FILE]
 *         [--parallel N] [--timeout S] [--no-fetch]
 *
 * For each URL: one TLS probe (SNI = --servername, else the URL host; no
 * SNI for an IP host), the chain checks (mc_check_chain) and the protocol
 * and cipher checks (mc_check_protocols). --from FILE adds one URL per
 * line (blank lines and # comments skipped); endpoints are checked
 * concurrently, --parallel N at a time (default 16). --timeout S bounds
 * each probe and each fetch (default 10). --trust-bundle FILE replaces
 * the system trust store. --expect FILE (PEM; its first certificate is
 * the expected leaf) adds the `inactive` check. --no-fetch forbids the
 * AIA/CRL/OCSP fetches (revocation then reports not-tested).
 *
 * Exit: 3 when any finding is critical, 1 for a local failure, 2 for
 * usage errors, else 0. With --nagios: 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN (a local failure).
 *
 * JSON (--json, or the global --json), stable schema:
 *
 *   {"endpoints": [{
 *       "url": "smtp://mx.example.com:25",   canonical URL
 *       "servername": "mx.example.com",     the name checked ("" none)
 *       "sni": true,                        whether SNI was sent
 *       "reachable": true,                  handshake completed
 *       "outcome": "ok",                    probe outcome (verify.h names)
 *       "reason": "",                       why not reachable ("" if ok)
 *       "protocol": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384",
 *       "chain": [{                         as served, leaf first
 *           "subject": "/CN=mx.example.com", "issuer": "/C=US/O=.../CN=R3",
 *           "sans": ["DNS:mx.example.com"], "key": "EC P-256",
 *           "signature": "ecdsa-with-SHA256", "serial": "hex",
 *           "sha256": "hex of the DER",
 *           "not_before": "2026-01-01T00:00:00Z",
 *           "not_after": "2026-04-01T00:00:00Z", "days_left": 42}],
 *       "findings": [{"code": "expires-soon", "severity": "warning",
 *                     "not_tested": false, "text": "..."}],
 *       "worst": "ok" | "warning" | "critical",
 *       "error": "..."                      only after a local failure
 *   }]}
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_int.h"
#include "cli.h"
#include "mailcert/check_dane.h"
#include "mailcert/crypto.h"
#include "mailcert/fsio.h"

#define CHECK_MAX_URLS 100000
#define CHECK_FROM_MAX ((size_t)16 * 1024 * 1024)
#define CHECK_EXPECT_MAX ((size_t)1024 * 1024)

struct check_args {
	const char **urls;
	size_t n_urls;
	char *from_text; /* owns the strings of --from lines */
	const char *servername;
	const char *expect;
	const char *trust;
	const char *from;
	long warn, crit, parallel, timeout;
	bool json, nagios, no_fetch, dane;
};

/* check_num - parse a decimal in [min, max]; false when it is not one. */
static bool
check_num(const char *s, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* check_add_url - append one URL to the list. */
static int
check_add_url(struct check_args *a, const char *url)
{
	const char **v;

	if (a->n_urls >= CHECK_MAX_URLS)
		return -1;
	v = realloc(a->urls, (a->n_urls + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	v[a->n_urls++] = url;
	a->urls = v;
	return 0;
}

/* check_opt_value - the value of a valued option, or NULL (usage error). */
static const char *
check_opt_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

/* check_parse_opt - one option at argv[*i]; 0, or 2 for a usage error. */
static int
check_parse_opt(struct check_args *a, int argc, char **argv, int *i)
{
	const char *o = argv[*i], *v = NULL;

	if (strcmp(o, "--dane") == 0) {
		a->dane = true;
		return 0;
	}
	if (strcmp(o, "--json") == 0 || strcmp(o, "--nagios") == 0 ||
	    strcmp(o, "--no-fetch") == 0) {
		a->json |= strcmp(o, "--json") == 0;
		a->nagios |= strcmp(o, "--nagios") == 0;
		a->no_fetch |= strcmp(o, "--no-fetch") == 0;
		return 0;
	}
	v = check_opt_value(argc, argv, i);
	if (v == NULL)
		return cli_usage_error("check",
		                       "%s needs a value (or is unknown)", o);
	if (strcmp(o, "--servername") == 0)
		a->servername = v;
	else if (strcmp(o, "--expect") == 0)
		a->expect = v;
	else if (strcmp(o, "--trust-bundle") == 0)
		a->trust = v;
	else if (strcmp(o, "--from") == 0)
		a->from = v;
	else if (strcmp(o, "--warn") == 0   ? !check_num(v, 0, 100000, &a->warn)
	         : strcmp(o, "--crit") == 0 ? !check_num(v, 0, 100000, &a->crit)
	         : strcmp(o, "--parallel") == 0
	             ? !check_num(v, 1, 1024, &a->parallel)
	         : strcmp(o, "--timeout") == 0
	             ? !check_num(v, 1, 3600, &a->timeout)
	             : true)
		return cli_usage_error("check", "bad option or value: %s %s", o,
		                       v);
	return 0;
}

/* check_parse_args - options and URLs; 0, or the exit code (2). */
static int
check_parse_args(struct check_args *a, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			if (check_parse_opt(a, argc, argv, &i) != 0)
				return 2;
		} else if (check_add_url(a, argv[i]) == -1)
			return cli_usage_error("check", "too many URLs");
	}
	if (a->json && a->nagios)
		return cli_usage_error("check", "--json and --nagios exclude "
		                                "each other");
	return 0;
}

/* check_read_from - append the URLs of the --from file (# comments). */
static int
check_read_from(struct check_args *a, struct mc_err *err)
{
	char msg[MC_ERR_MSG_MAX], *line, *next, *end;
	size_t len = 0;

	if (a->from == NULL)
		return 0;
	if (mc_fsio_read(a->from, CHECK_FROM_MAX, &a->from_text, &len, err) ==
	    -1) {
		snprintf(msg, sizeof(msg), "%s", err->msg);
		return mc_err_set(err, MC_ERR_USAGE, "--from: %s", msg);
	}
	for (line = a->from_text; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		end = strchr(line, '#');
		if (end != NULL)
			*end = '\0';
		line += strspn(line, " \t\r");
		end = line + strcspn(line, " \t\r");
		*end = '\0';
		if (*line != '\0' && check_add_url(a, line) == -1)
			return mc_err_set(err, MC_ERR_USAGE,
			                  "--from %s: too "
			                  "many URLs",
			                  a->from);
	}
	return 0;
}

/* check_load_expect - the first certificate of --expect FILE (new). */
static X509 *
check_load_expect(const char *path, struct mc_err *err)
{
	STACK_OF(X509) *chain = NULL;
	char msg[MC_ERR_MSG_MAX];
	X509 *leaf = NULL;
	char *pem = NULL;
	size_t len = 0;

	if (mc_fsio_read(path, CHECK_EXPECT_MAX, &pem, &len, err) == -1 ||
	    (chain = mc_x509_chain_parse(pem, len, err)) == NULL) {
		snprintf(msg, sizeof(msg), "%s", err->msg);
		mc_err_set(err, MC_ERR_USAGE, "--expect %s: %s", path, msg);
	} else {
		leaf = sk_X509_value(chain, 0);
		X509_up_ref(leaf);
	}
	sk_X509_pop_free(chain, X509_free);
	free(pem);
	return leaf;
}

/* check_outcome_finding - unreachable / starttls-missing from the probe. */
static int
check_outcome_finding(struct check_ep *e)
{
	const struct mc_probe_result *p = &e->probe;

	switch (p->outcome) {
	case MC_PROBE_OK:
		return 0;
	case MC_PROBE_STARTTLS_MISSING:
		return mc_findings_add(&e->findings, "starttls-missing",
		                       MC_SEV_CRITICAL, false, &e->err,
		                       "%s: the server does not offer "
		                       "STARTTLS (%s): enable TLS for this "
		                       "service.",
		                       e->ep.url, p->reason);
	case MC_PROBE_STARTTLS_REFUSED:
		return mc_findings_add(
		    &e->findings, "unreachable", MC_SEV_CRITICAL, false,
		    &e->err,
		    "%s: STARTTLS was refused: %s%s%s%s: check "
		    "the server's TLS certificate and key "
		    "settings and its log.",
		    e->ep.url, p->reason, p->server_text[0] ? " (\"" : "",
		    p->server_text, p->server_text[0] ? "\")" : "");
	case MC_PROBE_TLS_FAILED:
	case MC_PROBE_PROTOCOL_ERROR:
		return mc_findings_add(&e->findings, "unreachable",
		                       MC_SEV_CRITICAL, false, &e->err,
		                       "%s: %s (%s): check the server's TLS "
		                       "settings (certificate, key, protocols, "
		                       "ciphers) and its log.",
		                       e->ep.url, p->reason,
		                       mc_verify_outcome_name(p->outcome));
	default:
		return mc_findings_add(&e->findings, "unreachable",
		                       MC_SEV_CRITICAL, false, &e->err,
		                       "%s: %s (%s): check that the service "
		                       "runs and is reachable from here.",
		                       e->ep.url, p->reason,
		                       mc_verify_outcome_name(p->outcome));
	}
}

/* check_dane - the DANE findings (TLSA at _PORT._tcp.SERVERNAME) when
 * asked for: smtp:// always, any URL with --dane; not for an IP address. */
static int
check_dane(struct check_ep *e)
{
	unsigned char bin[16];
	bool ip = inet_pton(AF_INET, e->servername, bin) == 1 ||
		  inet_pton(AF_INET6, e->servername, bin) == 1;

	if (e->dane == NULL)
		return 0;
	if (ip || e->servername[0] == '\0')
		return e->dane_asked
			   ? mc_findings_add(&e->findings, "dane-mismatch", MC_SEV_OK,
					     true, &e->err, "DANE not tested: %s is "
					     "an IP address; give --servername "
					     "with the MX name", e->ep.host)
			   : 0;
	return mc_check_dane(e->servername, e->ep.port, e->probe.chain, e->dane,
			     &e->findings, &e->err);
}

/* check_one - probe one endpoint and judge it. */
static void
check_one(struct check_ep *e, const struct mc_check_opts *base)
{
	struct mc_check_opts opts = *base;
	struct mc_probe_opts po;

	mc_probe_opts_init(&po);
	po.servername = e->sni ? e->servername : NULL;
	po.connect_timeout_ms = base->timeout_ms;
	po.io_timeout_ms = base->timeout_ms;
	po.total_timeout_ms = base->timeout_ms;
	po.security_level = 0;
	po.want_ocsp = true;
	opts.servername = e->servername;
	if (mc_verify_probe(&e->ep, &po, &e->probe, &e->err) == -1 ||
	    check_outcome_finding(e) == -1) {
		e->failed = true;
		return;
	}
	if (e->probe.outcome != MC_PROBE_OK)
		return;
	if (mc_check_chain(&e->probe, &opts, &e->findings, &e->err) == -1 ||
	    mc_check_protocols(&e->ep, &opts, &e->findings, &e->err) == -1 ||
	    check_dane(e) == -1)
		e->failed = true;
}

struct check_pool {
	struct check_run *run;
	pthread_mutex_t lock;
	size_t next, done;
};

/* check_worker - take endpoints until none is left. */
static void *
check_worker(void *arg)
{
	struct check_pool *pool = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&pool->lock);
		i = pool->next++;
		pthread_mutex_unlock(&pool->lock);
		if (i >= pool->run->n)
			return NULL;
		check_one(&pool->run->eps[i], &pool->run->copts);
		pthread_mutex_lock(&pool->lock);
		pool->done++;
		if (pool->run->progress)
			fprintf(stderr, "\rmailcert check: %zu/%zu endpoints",
			        pool->done, pool->run->n);
		pthread_mutex_unlock(&pool->lock);
	}
}

/* check_run_all - check every endpoint, run->parallel at a time. */
static int
check_run_all(struct check_run *run, struct mc_err *err)
{
	struct check_pool pool = {run, PTHREAD_MUTEX_INITIALIZER, 0, 0};
	size_t n =
	    run->n < (size_t)run->parallel ? run->n : (size_t)run->parallel;
	pthread_t *tids;
	size_t i, started = 0;

	tids = n > 1 ? calloc(n, sizeof(*tids)) : NULL;
	if (n > 1 && tids == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "check: threads");
	for (i = 0; n > 1 && i < n; i++) {
		if (pthread_create(&tids[i], NULL, check_worker, &pool) != 0)
			break;
		started++;
	}
	if (started == 0)
		check_worker(&pool);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	if (run->progress)
		fprintf(stderr, "\r\033[K"); /* clear the progress line */
	return 0;
}

/* check_prepare - parse every URL and pick the name to check. */
static int
check_prepare(struct check_run *run, const struct check_args *a,
              struct mc_err *err)
{
	size_t i;

	run->eps = calloc(a->n_urls, sizeof(*run->eps));
	if (run->eps == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "check");
	run->n = a->n_urls;
	for (i = 0; i < a->n_urls; i++) {
		struct check_ep *e = &run->eps[i];

		e->url = a->urls[i];
		mc_err_clear(&e->err);
		if (mc_verify_url_parse(e->url, &e->ep, err) == -1)
			return -1;
		snprintf(e->servername, sizeof(e->servername), "%s",
		         a->servername ? a->servername : e->ep.host);
		e->sni = a->servername != NULL || !e->ep.host_is_ip;
		e->dane_asked = a->dane;
		if (a->dane || e->ep.scheme == MC_SCHEME_SMTP)
			e->dane = &run->dns;
	}
	return 0;
}

/* check_exit - the exit code without --nagios (after printing failures). */
static int
check_exit(const struct check_run *run)
{
	bool failed = false, critical = false;
	size_t i;

	for (i = 0; i < run->n; i++) {
		if (run->eps[i].failed) {
			fprintf(stderr, "mailcert: check %s: %s\n",
			        run->eps[i].url, run->eps[i].err.msg);
			failed = true;
		}
		if (mc_findings_worst(&run->eps[i].findings) == MC_SEV_CRITICAL)
			critical = true;
	}
	return critical ? 3 : failed ? 1 : 0;
}

/* check_run_free - release every endpoint. */
static void
check_run_free(struct check_run *run)
{
	size_t i;

	for (i = 0; run->eps != NULL && i < run->n; i++) {
		mc_probe_result_clear(&run->eps[i].probe);
		mc_findings_clear(&run->eps[i].findings);
	}
	free(run->eps);
	X509_free(run->copts.expected);
	mc_config_free(run->cfg);
}

/* check_config - the config, when given (-c, MAILCERT_CONFIG) or present
 * at the default path, supplies resolver and dnssec_anchor for DANE. */
static int
check_config(struct cli *cli, struct check_run *run, struct mc_err *err)
{
	const char *env = getenv("MAILCERT_CONFIG");

	if (cli->config_path == NULL && (env == NULL || env[0] == '\0') &&
	    !mc_fsio_exists(MC_CONFIG_DEFAULT_PATH))
		return 0;
	if (cli_load_config(cli, &run->cfg, err) == -1)
		return -1;
	run->dns.resolver = run->cfg->resolver;
	run->dns.anchor = run->cfg->dnssec_anchor;
	return 0;
}

/* check_setup - the run from the parsed arguments. */
static int
check_setup(struct check_run *run, struct check_args *a, struct mc_err *err)
{
	if (check_read_from(a, err) == -1)
		return -1;
	if (a->n_urls == 0)
		return mc_err_set(
		    err, MC_ERR_USAGE,
		    "check: no URL given (URL... or --from FILE)");
	run->copts.servername = a->servername;
	run->copts.trust_bundle = a->trust;
	run->copts.warn_days = a->warn;
	run->copts.crit_days = a->crit;
	run->copts.now = time(NULL);
	run->copts.timeout_ms = (int)(a->timeout * 1000);
	run->copts.fetch = !a->no_fetch;
	run->dns.timeout = a->timeout;
	run->parallel = (int)a->parallel;
	run->progress = isatty(STDERR_FILENO) && !a->nagios;
	if (a->expect != NULL &&
	    (run->copts.expected = check_load_expect(a->expect, err)) == NULL)
		return -1;
	return check_prepare(run, a, err);
}

/* cli_cmd_check - `check URL... [options]`. */
int
cli_cmd_check(struct cli *cli, int argc, char **argv)
{
	struct check_args a = {0};
	struct check_run run = {0};
	struct mc_err err;
	int rc;

	mc_err_clear(&err);
	a.warn = a.crit = -1;
	a.parallel = 16;
	a.timeout = 10;
	a.json = cli->json;
	rc = check_parse_args(&a, argc, argv);
	if (rc != 0)
		goto out;
	if (check_config(cli, &run, &err) == -1 || check_setup(&run, &a, &err) == -1 ||
	    check_run_all(&run, &err) == -1) {
		rc = cli_fail(&err);
		goto out;
	}
	if (a.nagios)
		rc = check_out_nagios(&run);
	else {
		if (a.json)
			cli_print_json(check_out_json(&run));
		else if (cli->verbosity >= 0)
			check_out_text(&run);
		rc = check_exit(&run);
	}
out:
	check_run_free(&run);
	free(a.urls);
	free(a.from_text);
	return rc;
}
