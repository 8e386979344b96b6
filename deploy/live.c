/*
 * live.c - prove that every verify endpoint serves the deployed leaf, for
 * each name by SNI and once without SNI (unless verify_without_sni = no),
 * for each key type of the cert with a probe that offers only that key
 * type's signature algorithms (so the RSA certificate of a dual endpoint
 * is proven too, not only the ECDSA one a default ClientHello gets),
 * retrying until verify_timeout. The rows of a round are probed
 * LIVE_PARALLEL at a time (core's pool), taking one row of each endpoint
 * in turn, with one set of TLS contexts for the whole check (a full
 * handshake every time: a session is never resumed).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailcert/crypto.h"
#include "mailcert/deploy.h"
#include "mailcert/log.h"
#include "mailcert/pool.h"
#include "mailcert/verify.h"
#include "deploy/live_int.h"
#include "mailcert/time.h"

#define LIVE_BACKOFF_MIN_MS 200
#define LIVE_BACKOFF_MAX_MS 2000
#define LIVE_PARALLEL 8 /* rows probed at once */

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

/* What one row probes: the endpoint, the key type allowed, the leaf
 * expected and its facts (read once per key type, not per row). */
struct live_probe {
	struct mc_endpoint ep;
	enum mc_key_alg alg;
	X509 *want;                         /* borrowed from the pairs */
	const struct mc_x509_info *want_info; /* borrowed from live_verify */
};

/* live_alg - the probe restriction of a key type. */
static enum mc_key_alg
live_alg(enum mc_key_type type)
{
	return mc_key_type_is_ec(type) ? MC_KEY_ALG_ECDSA : MC_KEY_ALG_RSA;
}

/* live_row_init - row r for endpoint ep, SNI sni ("": none), pair pair
 * whose leaf's facts are info. */
static void
live_row_init(struct mc_live_row *row, struct live_probe *pr,
	      const struct mc_endpoint *ep, const char *sni,
	      const struct mc_pair *pair, const struct mc_x509_info *info)
{
	pr->ep = *ep;
	pr->alg = live_alg(pair->type);
	pr->want = sk_X509_value(pair->chain, 0);
	pr->want_info = info;
	snprintf(row->url, sizeof(row->url), "%s", ep->url);
	snprintf(row->sni, sizeof(row->sni), "%s", sni);
	snprintf(row->key, sizeof(row->key), "%s", mc_key_type_alg(pair->type));
	memcpy(row->expected_serial, info->serial, sizeof(info->serial));
	row->outcome = MC_LIVE_UNREACHABLE;
}

/* live_infos - the facts of each pair's leaf (new array). */
static struct mc_x509_info *
live_infos(const struct mc_pairs *pairs, struct mc_err *err)
{
	struct mc_x509_info *infos = calloc(pairs->n, sizeof(*infos));
	size_t k;

	if (infos == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	for (k = 0; k < pairs->n; k++) {
		X509 *leaf = sk_X509_value(pairs->p[k].chain, 0);

		if (leaf == NULL || mc_x509_info(leaf, &infos[k], err) == -1) {
			free(infos);
			mc_err_set(err, MC_ERR_INPUT, "no %s leaf to verify",
				   mc_key_type_alg(pairs->p[k].type));
			return NULL;
		}
	}
	return infos;
}

/* live_rows - one row per endpoint, name (plus one without SNI unless
 * verify_without_sni = no) and key type; infos: live_infos(pairs). */
static int
live_rows(const struct mc_cert_conf *cc, const struct mc_pairs *pairs,
	  const struct mc_x509_info *infos, struct mc_live_report *live,
	  struct live_probe **prs, struct mc_err *err)
{
	size_t per = cc->n_names + (cc->timing.verify_without_sni ? 1 : 0);
	size_t total = cc->n_verify * per * pairs->n, i, j, k, r = 0;

	live->rows = calloc(total + 1, sizeof(*live->rows));
	*prs = calloc(total + 1, sizeof(**prs));
	if (live->rows == NULL || *prs == NULL)
		return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < cc->n_verify; i++)
		for (j = 0; j < per; j++)
			for (k = 0; k < pairs->n; k++, r++)
				live_row_init(&live->rows[r], &(*prs)[r],
					      &cc->endpoints[i], /* parsed at load */
					      j < cc->n_names ? cc->names[j] : "",
					      &pairs->p[k], &infos[k]);
	live->n_rows = r;
	return 0;
}

/* live_probe_row - probe one row once and record what was served. */
static int
live_probe_row(const struct live_probe *pr, struct mc_live_row *row,
	       struct mc_probe_cache *cache, long budget_ms,
	       struct mc_err *err)
{
	struct mc_probe_opts opts;
	struct mc_probe_result res;
	X509 *leaf;
	struct mc_x509_info info;
	bool same;

	mc_probe_opts_init(&opts);
	opts.servername = row->sni[0] ? row->sni : NULL;
	opts.key_alg = pr->alg;
	opts.cache = cache;
	if (budget_ms < opts.total_timeout_ms)
		opts.total_timeout_ms = budget_ms < 500 ? 500 : (int)budget_ms;
	memset(&res, 0, sizeof(res));
	if (mc_verify_probe(&pr->ep, &opts, &res, err) == -1)
		return -1;
	row->outcome = live_outcome(res.outcome);
	row->ms = res.total_ms;
	snprintf(row->detail, sizeof(row->detail), "%.500s", res.reason);
	leaf = res.chain ? sk_X509_value(res.chain, 0) : NULL;
	same = leaf != NULL && mc_verify_leaf_matches(leaf, pr->want);
	row->served_serial[0] = row->served_sha256[0] = '\0';
	if (same) /* the same DER: the same facts, already read */
		info = *pr->want_info;
	if (leaf != NULL && (same || mc_x509_info(leaf, &info, NULL) == 0)) {
		memcpy(row->served_serial, info.serial, sizeof(info.serial));
		memcpy(row->served_sha256, info.sha256, sizeof(info.sha256));
	}
	if (row->outcome == MC_LIVE_MATCH && !same) {
		row->outcome = MC_LIVE_INACTIVE;
		snprintf(row->detail, sizeof(row->detail),
			 "serves %s serial %s, not the deployed certificate",
			 row->key,
			 row->served_serial[0] ? row->served_serial : "(none)");
	}
	mc_probe_result_clear(&res);
	return 0;
}

/* live_skip - mark the rows of endpoints that belong to a left-out
 * daemon (owner_int.h) skipped, with the reason. */
static void
live_skip(const struct live_probe *prs, struct mc_live_report *live,
	  const struct owner_daemon *d, size_t n)
{
	const struct owner_daemon *o = NULL;
	size_t i;

	for (i = 0; i < live->n_rows && n > 0; i++) {
		if (i == 0 || strcmp(prs[i].ep.url, prs[i - 1].ep.url) != 0)
			o = owner_skip(&prs[i].ep, d, n);
		if (o == NULL)
			continue;
		live->rows[i].outcome = MC_LIVE_SKIPPED;
		snprintf(live->rows[i].detail, sizeof(live->rows[i].detail),
			 "target %.100s: %.380s", o->target, o->why);
	}
}

/* The rows of one round, probed LIVE_PARALLEL at a time (mailcert/pool.h);
 * every row keeps its place in live->rows, so the report is in the same
 * order as ever. A worker writes only its own row. */
struct live_round {
	const struct live_probe *prs;
	struct mc_live_report *live;
	struct mc_probe_cache *cache; /* shared, thread-safe */
	long long deadline;
	size_t n_eps; /* endpoints: the rows of each are consecutive */
};

/* live_row_of - the row taken in the t-th place: the rows of each endpoint
 * are consecutive, and they are taken one endpoint after the other (the
 * first row of each endpoint, then the second of each...), so the rows
 * under way at once are spread over the daemons rather than all queued
 * at one. */
static size_t
live_row_of(const struct live_round *rd, size_t t)
{
	size_t per = rd->live->n_rows / rd->n_eps;

	return (t % rd->n_eps) * per + t / rd->n_eps;
}

/* live_todo - whether row i is still to be probed this round. */
static bool
live_todo(const struct mc_live_row *row)
{
	return row->outcome != MC_LIVE_MATCH && row->outcome != MC_LIVE_SKIPPED;
}

/* live_item - probe the row taken in place `taken` (live_row_of), unless it
 * already matches (pool item). */
static int
live_item(void *arg, size_t taken, struct mc_err *err)
{
	struct live_round *rd = arg;
	size_t i = live_row_of(rd, taken);

	if (!live_todo(&rd->live->rows[i]))
		return 0;
	return live_probe_row(&rd->prs[i], &rd->live->rows[i], rd->cache,
			      (long)(rd->deadline - mc_now_ms()), err);
}

/* live_round - probe every row that does not match yet, LIVE_PARALLEL at
 * a time; count mismatches. */
static int
live_round(struct live_round *rd, size_t *bad, struct mc_err *err)
{
	struct mc_live_report *live = rd->live;
	size_t i, todo = 0, k;

	for (i = 0; i < live->n_rows; i++)
		todo += live_todo(&live->rows[i]);
	k = todo < LIVE_PARALLEL ? todo : LIVE_PARALLEL;
	if (mc_pool_run(live->n_rows, k, live_item, rd, err) == -1)
		return -1;
	*bad = 0;
	for (i = 0; i < live->n_rows; i++)
		*bad += live_todo(&live->rows[i]);
	return 0;
}

/* live_fail - the MC_ERR_VERIFY message naming the first bad row. */
static int
live_fail(const struct mc_live_report *live, size_t bad, struct mc_err *err)
{
	const struct mc_live_row *r = live->rows;

	while (r->outcome == MC_LIVE_MATCH || r->outcome == MC_LIVE_SKIPPED)
		r++;
	return mc_err_set(err, MC_ERR_VERIFY,
			  "%zu of %zu live checks failed; first: %s (%s%s, %s "
			  "key): %s: %.300s (expected serial %s)",
			  bad, live->n_rows, r->url, r->sni[0] ? "SNI " : "no SNI",
			  r->sni, r->key, mc_live_outcome_name(r->outcome),
			  r->detail, r->expected_serial);
}

/* mc_deploy_verify_live - check every endpoint x name x key type until
 * all match. */
int
mc_deploy_verify_live(const struct mc_cert_conf *cc,
		      const struct mc_pairs *pairs,
		      struct mc_live_report *live, struct mc_err *err)
{
	return live_verify(cc, pairs, NULL, 0, live, err);
}

/* live_verify - the same, leaving out the endpoints of the daemons d
 * marks skip. */
int
live_verify(const struct mc_cert_conf *cc, const struct mc_pairs *pairs,
	    const struct owner_daemon *d, size_t n,
	    struct mc_live_report *live, struct mc_err *err)
{
	struct live_probe *prs = NULL;
	struct live_round rd = {
	    .live = live,
	    .deadline = mc_now_ms() + cc->timing.verify_timeout * 1000,
	};
	struct mc_x509_info *infos;
	long backoff = LIVE_BACKOFF_MIN_MS;
	size_t bad = 0;
	int rc = -1;

	if (pairs->n == 0)
		return mc_err_set(err, MC_ERR_INPUT, "no certificate to verify");
	infos = live_infos(pairs, err);
	if (infos == NULL)
		return -1;
	memcpy(live->expected_serial, infos[0].serial, sizeof(infos[0].serial));
	memcpy(live->expected_sha256, infos[0].sha256, sizeof(infos[0].sha256));
	live->n_keys = pairs->n;
	if (live_rows(cc, pairs, infos, live, &prs, err) == -1)
		goto out;
	live_skip(prs, live, d, n);
	rd.prs = prs;
	rd.n_eps = cc->n_verify;
	rd.cache = mc_probe_cache_new(err);
	if (rd.cache == NULL)
		goto out;
	for (;;) {
		if (live_round(&rd, &bad, err) == -1)
			goto out;
		if (bad == 0 || mc_now_ms() + backoff >= rd.deadline)
			break;
		mc_log_debug("%s: %zu live check(s) not yet matching; retrying "
			     "in %ld ms",
			     cc->name, bad, backoff);
		mc_sleep_ms_full(backoff); /* a deploy is checked to the end */
		backoff = backoff * 2 > LIVE_BACKOFF_MAX_MS ? LIVE_BACKOFF_MAX_MS
							    : backoff * 2;
	}
	rc = bad == 0 ? 0 : live_fail(live, bad, err);
out:
	mc_probe_cache_free(rd.cache);
	free(prs);
	free(infos);
	return rc;
}
