/*
 * check_out.c - the three outputs of `mailcert check`: human text (colour
 * only on a TTY), JSON (schema in cmd_check.c) and the Nagios plugin
 * format (status line with days_left perfdata, then details).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_int.h"
#include "cli.h"
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

/* out_findings_json - the findings array. */
static json_t *
out_findings_json(const struct mc_findings *f)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < f->n; i++)
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:b, s:s}", "code", f->v[i].code,
		                 "severity", mc_severity_name(f->v[i].severity),
		                 "not_tested", f->v[i].not_tested, "text",
		                 f->v[i].text));
	return a;
}

/* out_ep_json - one endpoint. */
static json_t *
out_ep_json(const struct check_ep *e, time_t now)
{
	const struct mc_probe_result *p = &e->probe;
	json_t *chain = json_array(), *o;
	int i;

	for (i = 0; p->chain != NULL && i < sk_X509_num(p->chain); i++)
		json_array_append_new(
		    chain, out_cert_json(sk_X509_value(p->chain, i), now));
	o = json_pack(
	    "{s:s, s:s, s:b, s:b, s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "url",
	    e->ep.url, "servername", e->servername, "sni", e->sni, "reachable",
	    p->outcome == MC_PROBE_OK && !e->failed, "outcome",
	    mc_verify_outcome_name(p->outcome), "reason", p->reason, "protocol",
	    p->protocol, "cipher", p->cipher, "chain", chain, "findings",
	    out_findings_json(&e->findings), "worst",
	    mc_severity_name(mc_findings_worst(&e->findings)));
	if (o != NULL && e->failed)
		json_object_set_new(o, "error", json_string(e->err.msg));
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
	printf("      not after: %s (%ld days left)\n", na,
	       out_days_left(d.not_after, now));
	printf("      sha256:    %s\n", d.sha256);
}

/* out_ep_text - one endpoint: chain, then findings by severity. */
static void
out_ep_text(const struct check_ep *e, time_t now, bool tty)
{
	const struct mc_probe_result *p = &e->probe;
	const char *reset = tty ? "\033[0m" : "";
	enum mc_severity worst = mc_findings_worst(&e->findings);
	size_t i;
	int s, k;

	printf("%s (name %s%s)", e->ep.url,
	       e->servername[0] ? e->servername : "-",
	       e->sni ? ", SNI" : ", no SNI");
	if (p->outcome == MC_PROBE_OK)
		printf(" %s %s", p->protocol, p->cipher);
	printf("\n");
	for (k = 0; p->chain != NULL && k < sk_X509_num(p->chain); k++)
		out_cert_text(sk_X509_value(p->chain, k), k, now);
	for (s = MC_SEV_CRITICAL; s >= MC_SEV_OK; s--)
		for (i = 0; i < e->findings.n; i++)
			if ((int)e->findings.v[i].severity == s)
				printf("  %s%-8s%s %s%s: %s\n",
				       out_colour(s, tty), mc_severity_name(s),
				       reset, e->findings.v[i].code,
				       e->findings.v[i].not_tested
				           ? " (not tested)"
				           : "",
				       e->findings.v[i].text);
	if (e->failed)
		printf("  error: %s\n", e->err.msg);
	else if (e->findings.n == 0)
		printf("  %sok%s       no findings\n", out_colour(worst, tty),
		       reset);
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
		w = mc_findings_worst(&run->eps[i].findings);
		if (w > worst)
			worst = w;
	}
	return worst == MC_SEV_CRITICAL ? 2 : worst == MC_SEV_WARNING ? 1 : 0;
}

/* out_nagios_perf - " | days_left=N;WARN;CRIT" of the leaf that expires
 * first, into buf ("" when no endpoint served a certificate). */
static void
out_nagios_perf(const struct check_run *run, char *buf, size_t size)
{
	X509 *first = NULL, *leaf;
	time_t na, first_na = 0;
	long warn_s, crit_s;
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < run->n; i++) {
		STACK_OF(X509) *c = run->eps[i].probe.chain;

		if (c == NULL || sk_X509_num(c) == 0)
			continue;
		leaf = sk_X509_value(c, 0);
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

/* out_nagios_summary - "N endpoints: code (url), ..." into buf. */
static void
out_nagios_summary(const struct check_run *run, char *buf, size_t size)
{
	size_t i, j, len, shown = 0;

	snprintf(buf, size, "%zu endpoint%s", run->n, run->n == 1 ? "" : "s");
	for (i = 0; i < run->n; i++) {
		const struct mc_findings *f = &run->eps[i].findings;

		for (j = 0; j < f->n && shown < 5; j++, shown++) {
			len = strlen(buf);
			snprintf(buf + len, size - len, "%s%s %s",
			         shown ? ", " : ": ", f->v[j].code,
			         run->eps[i].ep.url);
		}
		if (run->eps[i].failed && shown++ < 5) {
			len = strlen(buf);
			snprintf(buf + len, size - len, "%serror %s",
			         shown > 1 ? ", " : ": ", run->eps[i].ep.url);
		}
	}
	if (shown == 0) {
		len = strlen(buf);
		snprintf(buf + len, size - len, ": no findings");
	}
}

/* check_out_nagios - the Nagios status line and details; the exit code. */
int
check_out_nagios(const struct check_run *run)
{
	static const char *const names[] = {"OK", "WARNING", "CRITICAL",
	                                    "UNKNOWN"};
	char summary[1024], perf[128];
	int state = out_nagios_state(run);
	size_t i, j;

	out_nagios_summary(run, summary, sizeof(summary));
	out_nagios_perf(run, perf, sizeof(perf));
	printf("MAILCERT %s - %s%s\n", names[state], summary, perf);
	for (i = 0; i < run->n; i++) {
		const struct check_ep *e = &run->eps[i];

		for (j = 0; j < e->findings.n; j++)
			printf("%s: %s %s%s: %s\n", e->ep.url,
			       mc_severity_name(e->findings.v[j].severity),
			       e->findings.v[j].code,
			       e->findings.v[j].not_tested ? " (not tested)"
			                                   : "",
			       e->findings.v[j].text);
		if (e->failed)
			printf("%s: error: %s\n", e->ep.url, e->err.msg);
	}
	return state;
}
