/*
 * check_out.c - the three outputs of `mailcert check`: human text (colour
 * only on a TTY), JSON (schema in cmd_check.c) and the Nagios plugin
 * format (status line with days_left perfdata, then details). Findings
 * are shown by their label, so a check that could not be made reads
 * "revocation not tested", never "revoked"; with several served chains
 * (an RSA + ECDSA endpoint) each chain's findings name the chain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_int.h"
#include "cli.h"
#include "mailcert/config.h"
#include "mailcert/crypto.h"

#define DAY 86400L

/* out_iso - "YYYY-MM-DDTHH:MM:SSZ" of t. */
static void
out_iso(time_t t, char *buf, size_t size)
{
	mc_time_format(t, MC_TIME_ISO, buf, size);
}

/* out_days_left - whole days from now to t (negative when past). */
static long
out_days_left(time_t t, time_t now)
{
	long d = (long)(t - now);

	return d >= 0 ? d / DAY : -((-d + DAY - 1) / DAY);
}

/* out_sans_json - the comma separated SAN text as a JSON array. */
static json_t *
out_sans_json(const char *sans)
{
	json_t *a = json_array();
	const char *p = sans, *comma;

	while (a != NULL && *p != '\0') {
		comma = strstr(p, ", ");
		json_array_append_new(
		    a,
		    json_stringn(p, comma ? (size_t)(comma - p) : strlen(p)));
		if (comma == NULL)
			break;
		p = comma + 2;
	}
	return a;
}

/* out_cert_json - one served certificate. */
static json_t *
out_cert_json(X509 *cert, time_t now)
{
	struct mc_cert_desc d;
	char nb[32], na[32];

	if (mc_check_cert_describe(cert, &d, NULL) == -1)
		return json_pack("{s:s}", "error", "cannot describe");
	out_iso(d.not_before, nb, sizeof(nb));
	out_iso(d.not_after, na, sizeof(na));
	return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
	                 "subject", d.subject, "issuer", d.issuer, "sans",
	                 out_sans_json(d.sans), "key", d.key, "signature",
	                 d.sig, "serial", d.serial, "sha256", d.sha256,
	                 "not_before", nb, "not_after", na, "days_left",
	                 (json_int_t)out_days_left(d.not_after, now));
}

/* out_chain_key - "EC P-256" of served chain i (its leaf), or "none". */
static void
out_chain_key(const struct mc_check_report *r, size_t i, char *buf,
              size_t size)
{
	STACK_OF(X509) *c = r->served[i].probe.chain;
	struct mc_cert_desc d;

	if (c == NULL || sk_X509_num(c) == 0 ||
	    mc_check_cert_describe(sk_X509_value(c, 0), &d, NULL) == -1)
		snprintf(buf, size, "none");
	else
		snprintf(buf, size, "%s", d.key);
}

/* out_chain_worst - the worst severity among the findings of chain i. */
static enum mc_severity
out_chain_worst(const struct mc_check_report *r, size_t i)
{
	enum mc_severity w = MC_SEV_OK;
	size_t j;

	for (j = 0; j < r->findings.n; j++)
		if (r->findings.v[j].chain == (int)i &&
		    r->findings.v[j].severity > w)
			w = r->findings.v[j].severity;
	return w;
}

/* out_findings_json - the findings array. */
static json_t *
out_findings_json(const struct mc_findings *f)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < f->n; i++)
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:s, s:b, s:o, s:s}", "code",
		                 f->v[i].code, "label", f->v[i].label,
		                 "severity", mc_severity_name(f->v[i].severity),
		                 "not_tested", f->v[i].not_tested, "chain",
		                 f->v[i].chain >= 0
		                     ? json_integer(f->v[i].chain)
		                     : json_null(),
		                 "text", f->v[i].text));
	return a;
}

/* out_certs_json - the certificates of one chain, leaf first. */
static json_t *
out_certs_json(STACK_OF(X509) * chain, time_t now)
{
	json_t *a = json_array();
	int i;

	for (i = 0; a != NULL && chain != NULL && i < sk_X509_num(chain); i++)
		json_array_append_new(a,
		                      out_cert_json(sk_X509_value(chain, i), now));
	return a;
}

/* out_probes_json - the names of the ClientHellos that got a chain. */
static json_t *
out_probes_json(unsigned key_algs)
{
	json_t *a = json_array();
	int alg;

	for (alg = MC_KEY_ALG_ANY; a != NULL && alg <= MC_KEY_ALG_RSA; alg++)
		if (key_algs & (1u << alg))
			json_array_append_new(
			    a, json_string(mc_verify_key_alg_name(
			           (enum mc_key_alg)alg)));
	return a;
}

/* out_chains_json - one object per served chain. */
static json_t *
out_chains_json(const struct mc_check_report *r, time_t now)
{
	json_t *a = json_array();
	char key[48];
	size_t i;

	for (i = 0; a != NULL && i < r->n_served; i++) {
		const struct mc_probe_result *p = &r->served[i].probe;

		out_chain_key(r, i, key, sizeof(key));
		json_array_append_new(
		    a, json_pack("{s:s, s:o, s:s, s:s, s:o, s:s}", "key", key,
		                 "probes", out_probes_json(r->served[i].key_algs),
		                 "protocol", p->protocol, "cipher", p->cipher,
		                 "certificates", out_certs_json(p->chain, now),
		                 "worst",
		                 mc_severity_name(out_chain_worst(r, i))));
	}
	return a;
}

/* out_ep_json - one endpoint (or the file). */
static json_t *
out_ep_json(const struct check_ep *e, time_t now)
{
	const struct mc_check_report *r = &e->rep;
	const struct mc_probe_result *p = &r->probe;
	char *u = strstr(e->servername, "xn--") != NULL
	              ? mc_name_to_ulabel(e->servername, NULL)
	              : NULL;
	json_t *o;

	o = json_pack(
	    "{s:s, s:s, s:b, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:o, "
	    "s:o, s:o, s:s}",
	    "url", r->ep.url, "servername", e->servername, "sni", e->sni,
	    "profile", mc_check_profile_name(r->profile), "server",
	    mc_verify_server_name(r->server), "greeting", p->greeting,
	    "reachable", p->outcome == MC_PROBE_OK && !e->failed, "outcome",
	    mc_verify_outcome_name(p->outcome), "reason", p->reason,
	    "protocol", p->protocol, "cipher", p->cipher, "chains",
	    out_chains_json(r, now), "chain",
	    out_certs_json(r->n_served > 0 ? r->served[0].probe.chain : NULL,
	                   now),
	    "findings", out_findings_json(&r->findings), "worst",
	    mc_severity_name(mc_findings_worst(&r->findings)));
	if (o != NULL && e->file != NULL)
		json_object_set_new(o, "file", json_string(e->file));
	if (o != NULL && u != NULL)
		json_object_set_new(o, "servername_unicode", json_string(u));
	if (o != NULL && e->failed)
		json_object_set_new(o, "error", json_string(e->err.msg));
	free(u);
	return o;
}

/* check_out_json - the JSON document of all endpoints (new reference). */
json_t *
check_out_json(const struct check_run *run)
{
	json_t *eps = json_array();
	size_t i;

	for (i = 0; eps != NULL && i < run->n; i++)
		json_array_append_new(
		    eps, out_ep_json(&run->eps[i], run->copts.now));
	return json_pack("{s:o}", "endpoints", eps);
}

/* out_colour - the ANSI colour of a severity ("" when not a TTY). */
static const char *
out_colour(enum mc_severity s, bool tty)
{
	if (!tty)
		return "";
	return s == MC_SEV_CRITICAL  ? "\033[1;31m"
	       : s == MC_SEV_WARNING ? "\033[1;33m"
	                             : "\033[1;32m";
}

/* out_cert_text - one served certificate, indented. */
static void
out_cert_text(X509 *cert, int depth, time_t now)
{
	struct mc_cert_desc d;
	char na[32];
	long left;

	if (mc_check_cert_describe(cert, &d, NULL) == -1) {
		printf("  [%d] (cannot describe this certificate)\n", depth);
		return;
	}
	out_iso(d.not_after, na, sizeof(na));
	printf("  [%d] subject:   %s\n", depth, d.subject);
	if (d.sans[0] != '\0')
		printf("      SANs:      %s\n", d.sans);
	printf("      issuer:    %s\n", d.issuer);
	printf("      key:       %s, signature %s\n", d.key, d.sig);
	left = out_days_left(d.not_after, now);
	printf("      not after: %s (%ld day%s left)\n", na, left,
	       left == 1 || left == -1 ? "" : "s");
	printf("      sha256:    %s\n", d.sha256);
}

/* out_probes_text - "all clients" / "ECDSA-only clients" ... */
static void
out_probes_text(unsigned key_algs, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s",
	         key_algs & (1u << MC_KEY_ALG_ANY) ? "default ClientHello" : "",
	         key_algs & (1u << MC_KEY_ALG_ECDSA)
	             ? (key_algs & 1u ? ", ECDSA-only" : "ECDSA-only")
	             : "",
	         key_algs & (1u << MC_KEY_ALG_RSA)
	             ? (key_algs & 3u ? ", RSA-only" : "RSA-only")
	             : "");
}

/* out_header_text - the endpoint's first line. */
static void
out_header_text(const struct check_ep *e)
{
	const struct mc_check_report *r = &e->rep;
	const char *server = mc_verify_server_name(r->server);
	char *u = strstr(e->servername, "xn--") != NULL
	              ? mc_name_to_ulabel(e->servername, NULL)
	              : NULL;

	if (e->file != NULL)
		printf("%s (name %s", e->file,
		       e->servername[0] ? e->servername : "-");
	else
		printf("%s (name %s", r->ep.url,
		       e->servername[0] ? e->servername : "-");
	if (u != NULL && strcmp(u, e->servername) != 0)
		printf(" = %s", u);
	free(u);
	if (e->file == NULL)
		printf("%s, profile %s%s%s)", e->sni ? ", SNI" : ", no SNI",
		       mc_check_profile_name(r->profile), server[0] ? ", " : "",
		       server);
	else
		printf(")");
	if (r->probe.outcome == MC_PROBE_OK && e->file == NULL)
		printf(" %s %s", r->probe.protocol, r->probe.cipher);
	printf("\n");
}

/* out_where - "[RSA 2048 chain] " for a finding of one of several served
 * chains, else "", into buf. */
static void
out_where(const struct check_ep *e, const struct mc_finding *f, char *buf,
          size_t size)
{
	char key[48];

	buf[0] = '\0';
	if (e->rep.n_served > 1 && f->chain >= 0) {
		out_chain_key(&e->rep, (size_t)f->chain, key, sizeof(key));
		snprintf(buf, size, "[%s chain] ", key);
	}
}

/* out_finding_text - one finding line. */
static void
out_finding_text(const struct check_ep *e, const struct mc_finding *f,
                 bool tty)
{
	char where[64];

	out_where(e, f, where, sizeof(where));
	printf("  %s%-8s%s %s: %s%s\n", out_colour(f->severity, tty),
	       mc_severity_name(f->severity), tty ? "\033[0m" : "", f->label,
	       where, f->text);
}

/* out_ep_text - one endpoint: chains, then findings by severity. */
static void
out_ep_text(const struct check_ep *e, time_t now, bool tty)
{
	const struct mc_check_report *r = &e->rep;
	char key[48], probes[80];
	size_t i, c;
	int s, k;

	out_header_text(e);
	for (c = 0; c < r->n_served; c++) {
		STACK_OF(X509) *chain = r->served[c].probe.chain;

		if (r->n_served > 1) {
			out_chain_key(r, c, key, sizeof(key));
			out_probes_text(r->served[c].key_algs, probes,
			                sizeof(probes));
			printf(" chain %zu of %zu: %s%s%s\n", c + 1, r->n_served,
			       key, probes[0] ? ", served to " : "", probes);
		}
		for (k = 0; chain != NULL && k < sk_X509_num(chain); k++)
			out_cert_text(sk_X509_value(chain, k), k, now);
	}
	for (s = MC_SEV_CRITICAL; s >= MC_SEV_OK; s--)
		for (i = 0; i < r->findings.n; i++)
			if ((int)r->findings.v[i].severity == s)
				out_finding_text(e, &r->findings.v[i], tty);
	if (e->failed)
		printf("  error: %s\n", e->err.msg);
	else if (r->findings.n == 0)
		printf("  %sok%s       no findings\n",
		       out_colour(MC_SEV_OK, tty), tty ? "\033[0m" : "");
}

/* check_out_text - the human report on stdout (colour on a TTY). */
void
check_out_text(const struct check_run *run)
{
	bool tty = isatty(STDOUT_FILENO);
	size_t i;

	for (i = 0; i < run->n; i++) {
		if (i > 0)
			printf("\n");
		out_ep_text(&run->eps[i], run->copts.now, tty);
	}
}

/* out_nagios_state - 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
static int
out_nagios_state(const struct check_run *run)
{
	enum mc_severity worst = MC_SEV_OK, w;
	size_t i;

	for (i = 0; i < run->n; i++) {
		if (run->eps[i].failed)
			return 3;
		w = mc_findings_worst(&run->eps[i].rep.findings);
		if (w > worst)
			worst = w;
	}
	return worst == MC_SEV_CRITICAL ? 2 : worst == MC_SEV_WARNING ? 1 : 0;
}

/* out_nagios_perf - " | days_left=N;WARN;CRIT" of the leaf that expires
 * first (every served chain), into buf ("" when none was served). */
static void
out_nagios_perf(const struct check_run *run, char *buf, size_t size)
{
	X509 *first = NULL, *leaf;
	time_t na, first_na = 0;
	long warn_s, crit_s;
	size_t i, c;

	buf[0] = '\0';
	for (i = 0; i < run->n; i++)
		for (c = 0; c < run->eps[i].rep.n_served; c++) {
			STACK_OF(X509) *ch = run->eps[i].rep.served[c].probe.chain;

			if (ch == NULL || sk_X509_num(ch) == 0)
				continue;
			leaf = sk_X509_value(ch, 0);
			if (mc_time_asn1(X509_get0_notAfter(leaf), &na) == 0 &&
			    (first == NULL || na < first_na)) {
				first = leaf;
				first_na = na;
			}
		}
	if (first == NULL)
		return;
	mc_check_thresholds(first, &run->copts, &warn_s, &crit_s);
	snprintf(buf, size, " | days_left=%ld;%ld;%ld",
	         out_days_left(first_na, run->copts.now), warn_s / DAY,
	         crit_s / DAY);
}

/* out_nagios_summary - "N endpoints: label (url), ..." of the warnings
 * and criticals (worst first) into buf; ok remarks stay in the details. */
static void
out_nagios_summary(const struct check_run *run, char *buf, size_t size)
{
	size_t i, j, len, shown = 0;
	int s;

	snprintf(buf, size, "%zu endpoint%s", run->n, run->n == 1 ? "" : "s");
	for (s = MC_SEV_CRITICAL; s > MC_SEV_OK; s--)
		for (i = 0; i < run->n; i++) {
			const struct mc_findings *f = &run->eps[i].rep.findings;

			for (j = 0; j < f->n && shown < 5; j++) {
				if ((int)f->v[j].severity != s)
					continue;
				len = strlen(buf);
				snprintf(buf + len, size - len, "%s%s %s",
				         shown++ ? ", " : ": ", f->v[j].label,
				         run->eps[i].url);
			}
		}
	for (i = 0; i < run->n; i++)
		if (run->eps[i].failed && shown++ < 5) {
			len = strlen(buf);
			snprintf(buf + len, size - len, "%serror %s",
			         shown > 1 ? ", " : ": ", run->eps[i].url);
		}
	if (shown == 0) {
		len = strlen(buf);
		snprintf(buf + len, size - len, ": no problems");
	}
}

/* check_out_nagios - the Nagios status line and details; the exit code. */
int
check_out_nagios(const struct check_run *run)
{
	static const char *const names[] = {"OK", "WARNING", "CRITICAL",
	                                    "UNKNOWN"};
	char summary[1024], perf[128], where[64];
	int state = out_nagios_state(run);
	size_t i, j;

	out_nagios_summary(run, summary, sizeof(summary));
	out_nagios_perf(run, perf, sizeof(perf));
	printf("MAILCERT %s - %s%s\n", names[state], summary, perf);
	for (i = 0; i < run->n; i++) {
		const struct check_ep *e = &run->eps[i];
		const struct mc_findings *f = &e->rep.findings;

		for (j = 0; j < f->n; j++) {
			out_where(e, &f->v[j], where, sizeof(where));
			printf("%s: %s %s: %s%s\n", e->url,
			       mc_severity_name(f->v[j].severity),
			       f->v[j].label, where, f->v[j].text);
		}
		if (e->failed)
			printf("%s: error: %s\n", e->url, e->err.msg);
	}
	return state;
}
