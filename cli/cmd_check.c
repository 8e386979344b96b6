/*
 * cmd_check.c - `mailcert check`: diagnose any mail TLS endpoint, or a
 * certificate file, no configuration needed.
 *
 *   check URL... [--servername NAME] [--profile mx|submission|strict]
 *         [--expect FILE] [--trust-bundle FILE] [--warn DAYS] [--crit DAYS]
 *         [--json] [--nagios] [--from FILE] [--parallel N] [--timeout S]
 *         [--no-fetch] [--dane]
 *   check --file PEM [--servername NAME] [--expect FILE] [--no-fetch] ...
 *
 * For each URL mc_check_endpoint() (verify/check_run.c) does the work;
 * this file parses the arguments, reads the configuration when one is
 * given (-c, MAILCERT_CONFIG) or present at the default path (it supplies
 * trust_bundle; --trust-bundle wins), converts the names to A-labels,
 * runs the endpoints --parallel N at a time (default 16), with at most
 * MC_CHECK_PER_SERVER (4) probe connections at once to one server
 * address across the whole run (mailcert/check.h), with one set of TLS
 * contexts and one trust store for all of them, and picks the exit
 * code; check_out.c prints. --servername NAME (default: the URL's
 * host; an IP host sends no SNI) is converted to its A-label form for SNI
 * and matching; an invalid name is a usage error. --profile overrides
 * the default (mx for smtp:// on port 25, else submission). --timeout S
 * bounds each probe and each fetch (default 10). --file PEM checks the
 * certificates of a file (leaf first; a private key starts the next
 * chain, so a Postfix chain file with an RSA and an ECDSA key gives two
 * chains) with the chain checks only. DANE (verify/check_dane.c): the
 * TLSA records at _PORT._tcp.SERVERNAME, looked up once per endpoint with
 * the config's resolver and dnssec_anchor, are matched against every
 * served chain (smtp:// always, other URLs with --dane).
 *
 * Exit: 3 when any finding is critical, 1 for a local failure, 2 for
 * usage errors, else 0. With --nagios: 0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN (a local failure).
 *
 * JSON (--json, or the global --json), stable schema:
 *
 *   {"endpoints": [{
 *       "url": "smtp://mx.example.com:25",   canonical URL ("" for a file)
 *       "file": "/etc/postfix/tls/mail.pem", only for --file
 *       "servername": "mx.example.com",     the name checked, A-label ("" none)
 *       "servername_unicode": "...",        only when it has xn-- labels
 *       "sni": true,                        whether SNI was sent
 *       "profile": "mx",                    mx | submission | strict
 *       "server": "postfix",                postfix | exim | dovecot | ""
 *       "greeting": "220 mx ESMTP Postfix", first greeting line ("" none)
 *       "reachable": true,                  handshake completed
 *       "outcome": "ok",                    probe outcome (verify.h names)
 *       "reason": "",                       why not reachable ("" if ok)
 *       "protocol": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384",
 *       "chains": [{                        one per distinct served chain
 *           "key": "EC P-256",              the leaf's key
 *           "probes": ["any", "ecdsa"],     ClientHellos that got it
 *           "protocol": "TLSv1.3", "cipher": "...",
 *           "certificates": [{              as served, leaf first
 *               "subject": "/CN=mx.example.com", "issuer": "/CN=R3",
 *               "sans": ["DNS:mx.example.com"], "key": "EC P-256",
 *               "signature": "ecdsa-with-SHA256", "serial": "hex",
 *               "sha256": "hex of the DER",
 *               "not_before": "2026-01-01T00:00:00Z",
 *               "not_after": "2026-04-01T00:00:00Z", "days_left": 42}],
 *           "worst": "ok"}],
 *       "chain": [...],                     certificates of chains[0]
 *       "findings": [{"code": "revoked",    stable code (INTERFACE.md)
 *                     "label": "revocation not tested",
 *                     "severity": "warning",
 *                     "not_tested": true,   the check could not be made
 *                     "chain": 0,           index into chains, or null
 *                     "text": "..."}],
 *       "worst": "ok" | "warning" | "critical",
 *       "error": "..."                      only after a local failure
 *   }]}
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "check_int.h"
#include "cli.h"
#include "mailcert/check_dane.h"
#include "mailcert/config.h"
#include "mailcert/crypto.h"
#include "mailcert/fsio.h"
#include "mailcert/pool.h"

#define CHECK_MAX_URLS 100000
#define CHECK_FROM_MAX ((size_t)16 * 1024 * 1024)
#define CHECK_EXPECT_MAX ((size_t)1024 * 1024)
#define CHECK_FILE_MAX ((size_t)1024 * 1024)

struct check_args {
	const char **urls;
	size_t n_urls;
	char *from_text; /* owns the strings of --from lines */
	const char *servername;
	const char *expect;
	const char *trust;
	const char *from;
	const char *file;
	const char *profile;
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

/* check_opt_string - a string-valued option into its field; false if o
 * is none of them. */
static bool
check_opt_string(struct check_args *a, const char *o, const char *v)
{
	static const struct {
		const char *name;
		size_t off;
	} opts[] = {
	    {"--servername", offsetof(struct check_args, servername)},
	    {"--expect", offsetof(struct check_args, expect)},
	    {"--trust-bundle", offsetof(struct check_args, trust)},
	    {"--from", offsetof(struct check_args, from)},
	    {"--file", offsetof(struct check_args, file)},
	    {"--profile", offsetof(struct check_args, profile)},
	};
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strcmp(o, opts[i].name) == 0) {
			*(const char **)((char *)a + opts[i].off) = v;
			return true;
		}
	return false;
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
	if (check_opt_string(a, o, v))
		return 0;
	if (strcmp(o, "--warn") == 0   ? !check_num(v, 0, 100000, &a->warn)
	    : strcmp(o, "--crit") == 0 ? !check_num(v, 0, 100000, &a->crit)
	    : strcmp(o, "--parallel") == 0
	        ? !check_num(v, 1, 1024, &a->parallel)
	    : strcmp(o, "--timeout") == 0 ? !check_num(v, 1, 3600, &a->timeout)
	                                  : true)
		return cli_usage_error("check", "bad option or value: %s %s", o,
		                       v);
	return 0;
}

/* check_parse_args - options and URLs; 0, or 2 (main.c answers --help). */
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
	if (a->file != NULL && (a->n_urls > 0 || a->from != NULL))
		return cli_usage_error("check", "--file checks a file: give "
		                                "no URL and no --from with it");
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
	if (pem != NULL)
		OPENSSL_clear_free(pem, len);
	return leaf;
}

/* check_dane_chains - one TLSA lookup, then the DANE findings of every
 * served chain (a dual endpoint: each chain must match; findings tagged). */
static int
check_dane_chains(struct check_ep *e, const char *name)
{
	struct mc_check_report *r = &e->rep;
	struct mc_tlsa_rrset set = {0};
	struct mc_dns *dns;
	struct mc_err lookup;
	size_t i, j, from;
	int rc = 0;

	mc_err_clear(&lookup);
	dns = mc_dns_new(e->dane, &lookup);
	if (dns == NULL || mc_dns_tlsa(dns, name, &set, &lookup) == -1)
		rc = mc_check_dane_findings(NULL, &set, &lookup, &r->findings,
		                            &e->err);
	for (i = 0; dns != NULL && lookup.cat == MC_ERR_NONE &&
	            i < r->n_served && rc == 0;
	     i++) {
		from = r->findings.n;
		rc = mc_check_dane_findings(r->served[i].probe.chain, &set, NULL,
		                            &r->findings, &e->err);
		for (j = from; j < r->findings.n; j++)
			r->findings.v[j].chain = (int)i;
	}
	mc_tlsa_rrset_clear(&set);
	mc_dns_free(dns);
	return rc;
}

/* check_dane - the DANE findings (TLSA at _PORT._tcp.SERVERNAME) when
 * asked for: smtp:// always, any URL with --dane; not for an IP address. */
static int
check_dane(struct check_ep *e)
{
	char name[MC_VERIFY_HOST_MAX + 16];
	bool ip = mc_name_is_ip(e->servername);

	if (e->dane == NULL || e->rep.probe.outcome != MC_PROBE_OK)
		return 0;
	if (ip || e->servername[0] == '\0')
		return e->dane_asked
		           ? mc_findings_add(&e->rep.findings, "dane-mismatch",
		                             MC_SEV_OK, true, &e->err,
		                             "DANE not tested: %s is an IP "
		                             "address; give --servername with "
		                             "the MX name",
		                             e->rep.ep.host)
		           : 0;
	snprintf(name, sizeof(name), "_%u._tcp.%s", (unsigned)e->rep.ep.port,
	         e->servername);
	return check_dane_chains(e, name);
}

/* check_one - check one endpoint (or the file) into e->rep. */
static void
check_one(struct check_ep *e, const struct mc_check_opts *base)
{
	struct mc_check_opts opts = *base;
	int rc;

	opts.servername = e->servername[0] ? e->servername : NULL;
	if (!e->profile_given)
		opts.profile = mc_check_profile_default(&e->rep.ep);
	rc = mc_check_endpoint(&e->rep.ep, &opts, &e->rep, &e->err);
	if (rc == 0)
		rc = check_dane(e);
	e->failed = rc == -1;
}

/* The endpoints of a run, run->parallel at a time (mailcert/pool.h);
 * each worker writes only its own endpoint, and `lock` guards the
 * progress count. */
struct check_all {
	struct check_run *run;
	pthread_mutex_t lock;
	size_t done;
};

/* check_item - check endpoint i, then count it (pool item). */
static int
check_item(void *arg, size_t i, struct mc_err *err)
{
	struct check_all *all = arg;

	(void)err; /* a failure stays with its endpoint (e->err) */
	check_one(&all->run->eps[i], &all->run->copts);
	pthread_mutex_lock(&all->lock);
	all->done++;
	if (all->run->progress)
		fprintf(stderr, "\rmailcert check: %zu/%zu endpoints",
		        all->done, all->run->n);
	pthread_mutex_unlock(&all->lock);
	return 0;
}

/* check_run_all - check every endpoint, run->parallel at a time, with
 * the TLS contexts shared by all their probes and at most
 * MC_CHECK_PER_SERVER of their connections at once to one address. */
static int
check_run_all(struct check_run *run, struct mc_err *err)
{
	struct check_all all = {run, PTHREAD_MUTEX_INITIALIZER, 0};
	int rc = -1;

	run->copts.cache = mc_probe_cache_new(err);
	run->copts.limit = run->copts.cache != NULL
	                       ? mc_limit_new(MC_CHECK_PER_SERVER, err)
	                       : NULL;
	if (run->copts.limit == NULL)
		goto out;
	/* a store that does not load is left to each chain check, which
	 * reports it for its endpoint */
	run->copts.store = mc_check_store_new(&run->copts, NULL);
	rc = mc_pool_run(run->n, (size_t)run->parallel, check_item, &all, err);
out:
	X509_STORE_free(run->copts.store);
	run->copts.store = NULL;
	mc_limit_free(run->copts.limit);
	run->copts.limit = NULL;
	mc_probe_cache_free(run->copts.cache);
	run->copts.cache = NULL;
	if (run->progress)
		fprintf(stderr, "\r\033[K"); /* clear the progress line */
	return rc;
}

/* check_name - name as the A-label form checked and sent (an IP literal
 * as it is; one trailing dot dropped) into out; MC_ERR_USAGE naming the
 * option for a bad name. */
static int
check_name(const char *name, const char *what, char *out, size_t size,
           struct mc_err *err)
{
	char buf[MC_VERIFY_HOST_MAX * 4], *a;
	size_t len;

	if (mc_name_is_ip(name)) {
		snprintf(out, size, "%s", name);
		return 0;
	}
	if (name[0] == '*')
		return mc_err_set(err, MC_ERR_USAGE,
		                  "%s \"%.200s\": a wildcard is not a name a "
		                  "client asks for; give a host name",
		                  what, name);
	snprintf(buf, sizeof(buf), "%s", name);
	len = strlen(buf);
	if (len > 1 && buf[len - 1] == '.')
		buf[len - 1] = '\0'; /* the root: SNI never has it */
	a = mc_name_to_alabel(buf, err);
	if (a == NULL || mc_name_check_host(a, err) == -1) {
		free(a);
		err->cat = MC_ERR_USAGE;
		return mc_err_prefix(err, "%s", what);
	}
	snprintf(out, size, "%s", a);
	free(a);
	return 0;
}

/* check_prepare - parse every URL and pick the name to check. */
static int
check_prepare(struct check_run *run, const struct check_args *a,
              struct mc_err *err)
{
	char sn[MC_VERIFY_HOST_MAX] = "";
	size_t i;

	if (a->servername != NULL &&
	    check_name(a->servername, "--servername", sn, sizeof(sn), err) ==
	        -1)
		return -1;
	run->eps = calloc(a->n_urls, sizeof(*run->eps));
	if (run->eps == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "check");
	run->n = a->n_urls;
	for (i = 0; i < a->n_urls; i++) {
		struct check_ep *e = &run->eps[i];

		e->url = a->urls[i];
		e->profile_given = a->profile != NULL;
		mc_err_clear(&e->err);
		if (mc_addr_endpoint_parse(e->url, &e->rep.ep, err) == -1)
			return -1;
		if (sn[0] != '\0')
			snprintf(e->servername, sizeof(e->servername), "%s",
			         sn);
		else if (check_name(e->rep.ep.host, e->rep.ep.url,
		                    e->servername, sizeof(e->servername),
		                    err) == -1)
			return -1;
		e->sni = a->servername != NULL || !e->rep.ep.host_is_ip;
		e->dane_asked = a->dane;
		if (a->dane || e->rep.ep.scheme == MC_SCHEME_SMTP)
			e->dane = &run->dns;
	}
	return 0;
}

/* check_prepare_file - the one "endpoint" of --file: its text is read
 * here (a missing file is a usage error), its chains judged at once. */
static int
check_prepare_file(struct check_run *run, const struct check_args *a,
                   struct mc_err *err)
{
	char msg[MC_ERR_MSG_MAX];
	struct mc_check_opts o;
	struct check_ep *e;

	run->eps = calloc(1, sizeof(*run->eps));
	if (run->eps == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "check");
	run->n = 1;
	e = &run->eps[0];
	e->file = a->file;
	e->url = a->file;
	mc_err_clear(&e->err);
	if (a->servername != NULL &&
	    check_name(a->servername, "--servername", e->servername,
	               sizeof(e->servername), err) == -1)
		return -1;
	if (mc_fsio_read(a->file, CHECK_FILE_MAX, &run->pem, &run->pem_len,
	                 err) == -1) {
		snprintf(msg, sizeof(msg), "%s", err->msg);
		return mc_err_set(err, MC_ERR_USAGE, "--file: %s", msg);
	}
	o = run->copts;
	o.servername = e->servername[0] ? e->servername : NULL;
	if (mc_check_pem(run->pem, run->pem_len, &o, &e->rep, &e->err) ==
	    -1) {
		e->failed = true;
		mc_err_prefix(&e->err, "%s", a->file);
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
		if (mc_findings_worst(&run->eps[i].rep.findings) ==
		    MC_SEV_CRITICAL)
			critical = true;
	}
	return critical ? 3 : failed ? 1 : 0;
}

/* check_run_free - release every endpoint. */
static void
check_run_free(struct check_run *run)
{
	size_t i;

	for (i = 0; run->eps != NULL && i < run->n; i++)
		mc_check_report_clear(&run->eps[i].rep);
	free(run->eps);
	if (run->pem != NULL)
		OPENSSL_clear_free(run->pem, run->pem_len);
	X509_free(run->copts.expected);
	mc_config_free(run->cfg);
}

/* check_config_path - the configuration to read: -c or MAILCERT_CONFIG
 * (must load), else the default path when it exists (*optional). */
static const char *
check_config_path(const struct cli *cli, bool *optional)
{
	const char *path = cli->config_path;

	*optional = false;
	if (path == NULL)
		path = getenv("MAILCERT_CONFIG");
	if (path != NULL && path[0] != '\0')
		return path;
	*optional = true;
	return access(MC_CONFIG_DEFAULT_PATH, F_OK) == 0
	           ? MC_CONFIG_DEFAULT_PATH
	           : NULL;
}

/* check_config - the configuration, when one is given or present (kept in
 * run->cfg for its trust_bundle, resolver and dnssec_anchor);
 * a default config this user may not read is skipped with a note. Then
 * the trust bundle: --trust-bundle, else the config's, else the system's. */
static int
check_config(struct cli *cli, const struct check_args *a,
             struct check_run *run, struct mc_err *err)
{
	const char *trust = a->trust;
	bool optional;
	const char *path = check_config_path(cli, &optional);

	if (path != NULL && optional && access(path, R_OK) != 0)
		fprintf(stderr, "mailcert: check: cannot read %s (%s); "
		                "using no configuration\n",
		        path, strerror(errno));
	else if (path != NULL && mc_config_load(path, &run->cfg, err) == -1)
		return -1;
	if (run->cfg != NULL) {
		run->dns.resolver = run->cfg->resolver;
		run->dns.anchor = run->cfg->dnssec_anchor;
	}
	if (trust == NULL && run->cfg != NULL)
		trust = run->cfg->trust_bundle;
	if (trust != NULL && trust[0] != '\0')
		run->copts.trust_bundle = trust;
	return 0;
}

/* check_setup - the run from the parsed arguments. */
static int
check_setup(struct cli *cli, struct check_run *run, struct check_args *a,
            struct mc_err *err)
{
	if (check_read_from(a, err) == -1)
		return -1;
	if (a->n_urls == 0 && a->file == NULL)
		return mc_err_set(err, MC_ERR_USAGE,
		                  "check: no URL given (URL..., --from FILE or "
		                  "--file PEM; see mailcert check --help)");
	if (a->profile != NULL &&
	    mc_check_profile_parse(a->profile, &run->copts.profile) == -1)
		return mc_err_set(err, MC_ERR_USAGE,
		                  "check: --profile \"%.100s\": use mx, "
		                  "submission or strict",
		                  a->profile);
	if (check_config(cli, a, run, err) == -1)
		return -1;
	run->copts.warn_days = a->warn;
	run->copts.crit_days = a->crit;
	run->copts.now = time(NULL);
	run->copts.timeout_ms = (int)(a->timeout * 1000);
	run->copts.fetch = !a->no_fetch;
	run->dns.timeout = a->timeout;
	run->parallel = (int)a->parallel;
	run->progress = isatty(STDERR_FILENO) && !a->nagios && a->n_urls > 1;
	if (a->expect != NULL &&
	    (run->copts.expected = check_load_expect(a->expect, err)) == NULL)
		return -1;
	if (a->file != NULL)
		return check_prepare_file(run, a, err);
	return check_prepare(run, a, err);
}

/* cli_cmd_check - `check URL... [options]` or `check --file PEM`. */
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
	if (check_setup(cli, &run, &a, &err) == -1 ||
	    (a.file == NULL && check_run_all(&run, &err) == -1)) {
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
