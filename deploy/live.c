/*
 * live.c - prove that every verify endpoint serves the deployed leaf, for
 * each name by SNI and once without SNI, retrying until verify_timeout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailcert/crypto.h"
#include "mailcert/deploy.h"
#include "mailcert/log.h"
#include "mailcert/verify.h"
#include "mailcert/time.h"

#define LIVE_BACKOFF_MIN_MS 200
#define LIVE_BACKOFF_MAX_MS 2000

/* live_outcome - map a probe outcome to a live outcome. */
static enum mc_live_outcome
live_outcome(enum mc_probe_outcome o)
{
	switch (o) {
	case MC_PROBE_OK:
		return MC_LIVE_MATCH;
	case MC_PROBE_STARTTLS_MISSING:
		return MC_LIVE_STARTTLS_MISSING;
	case MC_PROBE_STARTTLS_REFUSED:
		return MC_LIVE_STARTTLS_REFUSED;
	case MC_PROBE_TLS_FAILED:
		return MC_LIVE_TLS_FAILED;
	case MC_PROBE_PROTOCOL_ERROR:
		return MC_LIVE_PROTOCOL;
	case MC_PROBE_UNREACHABLE:
	default:
		return MC_LIVE_UNREACHABLE;
	}
}

/* live_rows - one row per endpoint and name (plus one without SNI). */
static int
live_rows(const struct mc_cert_conf *cc, struct mc_live_report *live,
	  struct mc_endpoint **eps, struct mc_err *err)
{
	size_t per = cc->n_names + 1, i, j, r = 0;

	live->rows = calloc(cc->n_verify * per + 1, sizeof(*live->rows));
	*eps = calloc(cc->n_verify * per + 1, sizeof(**eps));
	if (live->rows == NULL || *eps == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < cc->n_verify; i++) {
		if (mc_verify_url_parse(cc->verify[i], &(*eps)[r], err) == -1)
			return mc_err_prefix(err, "cert %s: verify", cc->name);
		for (j = 0; j < per; j++, r++) {
			(*eps)[r] = (*eps)[r - j];
			snprintf(live->rows[r].url, sizeof(live->rows[r].url),
				 "%s", (*eps)[r].url);
			snprintf(live->rows[r].sni, sizeof(live->rows[r].sni),
				 "%s", j < cc->n_names ? cc->names[j] : "");
			live->rows[r].outcome = MC_LIVE_UNREACHABLE;
		}
	}
	live->n_rows = r;
	return 0;
}

/* live_probe_row - probe one row once and record what was served. */
static int
live_probe_row(const struct mc_endpoint *ep, struct mc_live_row *row,
	       X509 *expected, long budget_ms, struct mc_err *err)
{
	struct mc_probe_opts opts;
	struct mc_probe_result res;
	X509 *leaf;
	struct mc_x509_info info;

	mc_probe_opts_init(&opts);
	opts.servername = row->sni[0] ? row->sni : NULL;
	if (budget_ms < opts.total_timeout_ms)
		opts.total_timeout_ms = budget_ms < 500 ? 500 : (int)budget_ms;
	memset(&res, 0, sizeof(res));
	if (mc_verify_probe(ep, &opts, &res, err) == -1)
		return -1;
	row->outcome = live_outcome(res.outcome);
	row->ms = res.total_ms;
	snprintf(row->detail, sizeof(row->detail), "%.500s", res.reason);
	leaf = res.chain ? sk_X509_value(res.chain, 0) : NULL;
	row->served_serial[0] = row->served_sha256[0] = '\0';
	if (leaf != NULL && mc_x509_info(leaf, &info, NULL) == 0) {
		memcpy(row->served_serial, info.serial, sizeof(info.serial));
		memcpy(row->served_sha256, info.sha256, sizeof(info.sha256));
	}
	if (row->outcome == MC_LIVE_MATCH &&
	    (leaf == NULL || !mc_verify_leaf_matches(leaf, expected))) {
		row->outcome = MC_LIVE_INACTIVE;
		snprintf(row->detail, sizeof(row->detail),
			 "serves serial %s, not the deployed certificate",
			 row->served_serial[0] ? row->served_serial : "(none)");
	}
	mc_probe_result_clear(&res);
	return 0;
}

/* live_round - probe every row that does not match yet; count mismatches. */
static int
live_round(struct mc_endpoint *eps, struct mc_live_report *live,
	   X509 *expected, long long deadline, size_t *bad, struct mc_err *err)
{
	size_t i;

	*bad = 0;
	for (i = 0; i < live->n_rows; i++) {
		if (live->rows[i].outcome == MC_LIVE_MATCH)
			continue;
		if (live_probe_row(&eps[i], &live->rows[i], expected,
				   (long)(deadline - mc_now_ms()), err) == -1)
			return -1;
		if (live->rows[i].outcome != MC_LIVE_MATCH)
			(*bad)++;
	}
	return 0;
}

/* live_fail - the MC_ERR_VERIFY message naming the first bad row. */
static int
live_fail(const struct mc_live_report *live, size_t bad, struct mc_err *err)
{
	const struct mc_live_row *r = live->rows;

	while (r->outcome == MC_LIVE_MATCH)
		r++;
	return mc_err_set(err, MC_ERR_VERIFY,
			  "%zu of %zu live checks failed; first: %s (%s%s): "
			  "%s: %.300s (expected serial %s)",
			  bad, live->n_rows, r->url, r->sni[0] ? "SNI " : "no SNI",
			  r->sni, mc_live_outcome_name(r->outcome), r->detail,
			  live->expected_serial);
}

/* mc_deploy_verify_live - check every endpoint × name until all match. */
int
mc_deploy_verify_live(const struct mc_cert_conf *cc, X509 *expected,
		      struct mc_live_report *live, struct mc_err *err)
{
	struct mc_endpoint *eps = NULL;
	struct mc_x509_info info;
	long long deadline = mc_now_ms() + cc->timing.verify_timeout * 1000;
	long backoff = LIVE_BACKOFF_MIN_MS;
	size_t bad = 0;
	int rc = -1;

	if (mc_x509_info(expected, &info, err) == -1)
		return -1;
	memcpy(live->expected_serial, info.serial, sizeof(info.serial));
	memcpy(live->expected_sha256, info.sha256, sizeof(info.sha256));
	if (live_rows(cc, live, &eps, err) == -1)
		goto out;
	for (;;) {
		if (live_round(eps, live, expected, deadline, &bad, err) == -1)
			goto out;
		if (bad == 0 || mc_now_ms() + backoff >= deadline)
			break;
		mc_log_debug("%s: %zu live check(s) not yet matching; retrying "
			     "in %ld ms",
			     cc->name, bad, backoff);
		mc_sleep_ms(backoff);
		backoff = backoff * 2 > LIVE_BACKOFF_MAX_MS ? LIVE_BACKOFF_MAX_MS
							    : backoff * 2;
	}
	rc = bad == 0 ? 0 : live_fail(live, bad, err);
out:
	free(eps);
	return rc;
}
