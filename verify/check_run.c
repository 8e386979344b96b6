/*
 * check_run.c - the whole check of one endpoint (mc_check_endpoint) or of
 * one PEM file (mc_check_pem), into a struct mc_check_report.
 *
 * An endpoint: the default probe (SNI, stapling requested, security level
 * 0 so that old servers still show their chain); if it fails, one finding
 * says why (unreachable, starttls-missing) with advice for the daemon.
 * Then an ECDSA-only and an RSA-only probe: a dual endpoint serves each
 * client the certificate its ClientHello allows, so each key type gets
 * its own chain; chains are deduplicated by the leaf's DER (its SHA-256).
 * A restricted probe whose handshake fails means "no such certificate";
 * one that cannot connect is a not-tested finding. Every distinct chain
 * is judged by mc_check_chain(), then the protocol questions
 * (check_proto.c) probe the endpoint. The default probe names the daemon
 * from the greeting: on implicit TLS (smtps, imaps, pop3s) it reads the
 * greeting after the handshake as a client does, waiting as long as for
 * a STARTTLS greeting (half the timeout), so that a late one (a Dovecot
 * login process waiting for its auth process) still names it; a server
 * that completes the handshake and never greets gets an unreachable
 * finding (no client can use it), its chain is still checked. After the
 * default probe, the two key-type probes and the protocol questions
 * share one pool of CHECK_PER_SERVER connections at once, each hearing a
 * greeting only within its goodbye's 100 ms; their answers are kept and
 * the findings written in the order above, as if the probes ran one
 * after the other. Every connection also takes a slot of its server
 * address from opts->limit, the run's bound shared with the endpoints
 * checked at the same time (verify_conn_open).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "mailcert/check.h"
#include "mailcert/pool.h"
#include "verify/check_int.h"

#define PEM_MAX_CHAIN 16

/* run_probe_opts - probe options for opts, restricted to alg. */
static void
run_probe_opts(const struct mc_check_opts *opts, enum mc_key_alg alg,
               struct mc_probe_opts *po)
{
	mc_probe_opts_init(po);
	po->servername = opts->servername;
	if (opts->timeout_ms > 0) {
		po->connect_timeout_ms = opts->timeout_ms;
		po->io_timeout_ms = opts->timeout_ms;
		po->total_timeout_ms = opts->timeout_ms;
	}
	/* half the budget for a greeting: the rest tells a silent port
	 * that speaks implicit TLS (verify_implicit_hint) */
	po->greeting_timeout_ms = po->total_timeout_ms / 2;
	/* the default probe reads an implicit-TLS greeting as a client
	 * does, however late it comes within that: it names the daemon;
	 * the others hear it only in their goodbye's 100 ms */
	po->await_greeting = alg == MC_KEY_ALG_ANY;
	po->security_level = 0;
	po->want_ocsp = true;
	po->key_alg = alg;
	po->cache = opts->cache;
	po->limit = opts->limit;
}

/* run_outcome_finding - unreachable / starttls-missing for a failed probe. */
static int
run_outcome_finding(struct mc_check_report *r, struct mc_err *err)
{
	const struct mc_probe_result *p = &r->probe;
	char advice[300];

	check_advice_tls(r->server, advice, sizeof(advice));
	switch (p->outcome) {
	case MC_PROBE_OK:
		return 0;
	case MC_PROBE_STARTTLS_MISSING:
		return mc_findings_add(&r->findings, "starttls-missing",
		                       MC_SEV_CRITICAL, false, err,
		                       "%s: %s: enable TLS for this service.",
		                       r->ep.url, p->reason);
	case MC_PROBE_STARTTLS_REFUSED:
	case MC_PROBE_TLS_FAILED:
		return mc_findings_add(&r->findings, "unreachable",
		                       MC_SEV_CRITICAL, false, err,
		                       "%s: %s (%s): %s.", r->ep.url, p->reason,
		                       mc_verify_outcome_name(p->outcome),
		                       advice);
	case MC_PROBE_PROTOCOL_ERROR:
		return mc_findings_add(&r->findings, "unreachable",
		                       MC_SEV_CRITICAL, false, err,
		                       "%s: %s (%s): check that the URL's scheme "
		                       "matches the service on that port.",
		                       r->ep.url, p->reason,
		                       mc_verify_outcome_name(p->outcome));
	default:
		return mc_findings_add(&r->findings, "unreachable",
		                       MC_SEV_CRITICAL, false, err,
		                       "%s: %s (%s): %s.", r->ep.url, p->reason,
		                       mc_verify_outcome_name(p->outcome),
		                       p->implicit_tls
		                           ? "use the implicit-TLS URL named there"
		                           : "check that the service runs and "
		                             "is reachable from here");
	}
}

/* run_find_leaf - index of the served chain with leaf's DER, or -1. */
static int
run_find_leaf(const struct mc_check_report *r, X509 *leaf)
{
	size_t i;

	for (i = 0; i < r->n_served; i++)
		if (mc_verify_leaf_matches(
		        sk_X509_value(r->served[i].probe.chain, 0), leaf))
			return (int)i;
	return -1;
}

/* run_keep - take res as a served chain of alg (or note its leaf seen). */
static void
run_keep(struct mc_check_report *r, struct mc_probe_result *res,
         enum mc_key_alg alg)
{
	int i;

	if (alg != MC_KEY_ALG_ANY &&
	    (res->chain == NULL || sk_X509_num(res->chain) == 0)) {
		mc_probe_result_clear(res);
		return;
	}
	i = res->chain != NULL ? run_find_leaf(r, sk_X509_value(res->chain, 0))
	                       : -1;
	if (i >= 0 || r->n_served == MC_CHECK_SERVED_MAX) {
		if (i >= 0)
			r->served[i].key_algs |= 1u << alg;
		mc_probe_result_clear(res);
		return;
	}
	r->served[r->n_served].probe = *res;
	r->served[r->n_served].key_algs = 1u << alg;
	r->n_served++;
	memset(res, 0, sizeof(*res));
}

/* run_key_result - take the probe restricted to alg (res, cleared); a
 * not-tested finding when it could not be made (a failed handshake: no
 * such certificate). */
static int
run_key_result(struct mc_check_report *r, struct mc_probe_result *res,
               enum mc_key_alg alg, struct mc_err *err)
{
	const char *name = alg == MC_KEY_ALG_RSA ? "RSA" : "ECDSA";
	char label[48];
	int rc;

	if (r->server == MC_SERVER_UNKNOWN)
		r->server = res->server; /* heard at this probe's goodbye */
	if (res->outcome == MC_PROBE_OK) {
		run_keep(r, res, alg);
		return 0;
	}
	if (res->outcome == MC_PROBE_TLS_FAILED && !res->timed_out) {
		mc_probe_result_clear(res);
		return 0;
	}
	snprintf(label, sizeof(label), "%s certificate not tested", name);
	rc = mc_findings_add(&r->findings, "unreachable", MC_SEV_WARNING, true,
	                     err,
	                     "%s: could not ask for an %s certificate (%s): "
	                     "if the server has one, it was not checked; run "
	                     "the check again.",
	                     r->ep.url, name, res->reason);
	if (rc == 0)
		mc_findings_relabel(&r->findings, label);
	mc_probe_result_clear(res);
	return rc;
}

/* run_expected_for - the served chain --expect is compared with: the one
 * whose leaf has the expected key's type (else the first). */
static size_t
run_expected_for(const struct mc_check_report *r, X509 *expected)
{
	int want = EVP_PKEY_get_base_id(X509_get0_pubkey(expected));
	size_t i;

	for (i = 0; i < r->n_served; i++) {
		X509 *leaf = r->served[i].probe.chain != NULL
		                 ? sk_X509_value(r->served[i].probe.chain, 0)
		                 : NULL;

		if (leaf != NULL &&
		    EVP_PKEY_get_base_id(X509_get0_pubkey(leaf)) == want)
			return i;
	}
	return 0;
}

/* run_chains - mc_check_chain on every served chain, findings tagged. */
static int
run_chains(struct mc_check_report *r, const struct mc_check_opts *opts,
           struct mc_err *err)
{
	struct mc_check_opts o = *opts;
	size_t i, j, from, exp_i = 0;

	if (opts->expected != NULL)
		exp_i = run_expected_for(r, opts->expected);
	for (i = 0; i < r->n_served; i++) {
		o.expected = i == exp_i ? opts->expected : NULL;
		from = r->findings.n;
		if (mc_check_chain(&r->served[i].probe, &o, &r->findings,
		                   err) == -1)
			return -1;
		for (j = from; j < r->findings.n; j++)
			r->findings.v[j].chain = (int)i;
	}
	return 0;
}

/* The probes after the default one: ECDSA-only, RSA-only, then the
 * protocol questions; a pool item writes only its own answer. */
struct run_rest {
	const struct mc_endpoint *ep;
	const struct mc_check_opts *opts;
	struct check_proto *proto;
	struct mc_probe_result key[2]; /* ECDSA, RSA */
};

/* run_item - probe i of the rest (pool item). */
static int
run_item(void *arg, size_t i, struct mc_err *err)
{
	struct run_rest *rr = arg;
	struct mc_probe_opts po;

	if (i >= 2)
		return check_proto_job(rr->proto, i - 2, err);
	run_probe_opts(rr->opts, i == 0 ? MC_KEY_ALG_ECDSA : MC_KEY_ALG_RSA,
	               &po);
	return mc_verify_probe(rr->ep, &po, &rr->key[i], err);
}

/* run_rest - the rest of the probes in parallel, then their findings,
 * the chains' and the protocols', in order. */
static int
run_rest(struct mc_check_report *out, struct mc_check_opts *o,
         struct mc_err *err)
{
	struct run_rest rr = {.ep = &out->ep, .opts = o};
	int rc = -1;

	rr.proto = check_proto_new(&out->ep, o, err);
	if (rr.proto == NULL)
		return -1;
	if (mc_pool_run(2 + CHECK_PROTO_JOBS, CHECK_PER_SERVER, run_item, &rr,
	                err) == -1) {
		mc_err_prefix(err, "check %s", out->ep.url);
		goto out;
	}
	if (run_key_result(out, &rr.key[0], MC_KEY_ALG_ECDSA, err) == -1 ||
	    run_key_result(out, &rr.key[1], MC_KEY_ALG_RSA, err) == -1)
		goto out;
	o->server = out->server;
	if (run_chains(out, o, err) == -1 ||
	    check_proto_report(rr.proto, o, &out->findings, err) == -1)
		goto out;
	rc = 0;
out:
	mc_probe_result_clear(&rr.key[0]);
	mc_probe_result_clear(&rr.key[1]);
	check_proto_free(rr.proto);
	return rc;
}

/* mc_check_endpoint - the whole check of ep under opts into out. */
int
mc_check_endpoint(const struct mc_endpoint *ep,
                  const struct mc_check_opts *opts,
                  struct mc_check_report *out, struct mc_err *err)
{
	struct mc_endpoint e = *ep; /* ep may point into out */
	struct mc_check_opts o = *opts;
	struct mc_probe_opts po;
	struct mc_probe_result res;

	memset(out, 0, sizeof(*out));
	out->ep = e;
	out->profile = opts->profile;
	run_probe_opts(opts, MC_KEY_ALG_ANY, &po);
	if (mc_verify_probe(&e, &po, &res, err) == -1)
		return -1;
	out->server = res.server;
	out->probe = res;
	out->probe.chain = NULL;
	out->probe.ocsp_der = NULL;
	out->probe.ocsp_len = 0;
	if (res.outcome != MC_PROBE_OK) {
		mc_probe_result_clear(&res);
		return run_outcome_finding(out, err);
	}
	if (res.no_greeting[0] != '\0' &&
	    mc_findings_add(&out->findings, "unreachable", MC_SEV_CRITICAL,
	                    false, err,
	                    "%s: %s: a mail client cannot go on without it "
	                    "(it gives up); check the service behind TLS on "
	                    "this port and its log (a TLS proxy whose "
	                    "backend is down, a login process waiting for "
	                    "its auth process). The certificate served was "
	                    "checked all the same.",
	                    e.url, res.no_greeting) == -1) {
		mc_probe_result_clear(&res);
		return -1;
	}
	run_keep(out, &res, MC_KEY_ALG_ANY);
	return run_rest(out, &o, err);
}

/* pem_next_chain - room for one more chain in out (MC_ERR_INPUT if none). */
static int
pem_next_chain(struct mc_check_report *out, struct mc_err *err)
{
	struct mc_probe_result *p;

	if (out->n_served > 0 &&
	    sk_X509_num(out->served[out->n_served - 1].probe.chain) == 0)
		return 0; /* the current one is still empty */
	if (out->n_served == MC_CHECK_SERVED_MAX)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "more than %d certificate chains in one file",
		                  MC_CHECK_SERVED_MAX);
	p = &out->served[out->n_served].probe;
	p->chain = sk_X509_new_null();
	if (p->chain == NULL)
		return mc_err_openssl(err, "certificate stack");
	p->outcome = MC_PROBE_OK;
	out->n_served++;
	return 0;
}

/* pem_add_cert - DER of a CERTIFICATE block onto the current chain. */
static int
pem_add_cert(struct mc_check_report *out, const unsigned char *der,
             long len, struct mc_err *err)
{
	STACK_OF(X509) *chain;
	const unsigned char *p = der;
	X509 *cert;

	if (out->n_served == 0 && pem_next_chain(out, err) == -1)
		return -1;
	chain = out->served[out->n_served - 1].probe.chain;
	if (sk_X509_num(chain) >= PEM_MAX_CHAIN)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "more than %d certificates in one chain",
		                  PEM_MAX_CHAIN);
	cert = d2i_X509(NULL, &p, len);
	if (cert == NULL)
		return mc_err_openssl(err, "a CERTIFICATE block does not parse");
	if (!sk_X509_push(chain, cert)) {
		X509_free(cert);
		return mc_err_openssl(err, "certificate stack");
	}
	return 0;
}

/* pem_split - the certificates of pem into out->served (a private key
 * block starts a new chain); key blocks are cleansed. */
static int
pem_split(const char *pem, size_t len, struct mc_check_report *out,
          struct mc_err *err)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long dlen = 0;
	int rc = 0;

	if (bio == NULL || len > 0x7fffffff)
		rc = mc_err_openssl(err, "cannot read the PEM text");
	while (rc == 0 && PEM_read_bio(bio, &name, &header, &data, &dlen) == 1) {
		if (strstr(name, "PRIVATE KEY") != NULL)
			rc = pem_next_chain(out, err);
		else if (strcmp(name, "CERTIFICATE") == 0 ||
		         strcmp(name, "X509 CERTIFICATE") == 0)
			rc = pem_add_cert(out, data, dlen, err);
		OPENSSL_clear_free(data, (size_t)dlen);
		OPENSSL_free(name);
		OPENSSL_free(header);
		data = NULL;
		name = header = NULL;
	}
	ERR_clear_error(); /* the read that ended the loop */
	BIO_free(bio);
	if (rc == 0 && out->n_served > 0 &&
	    sk_X509_num(out->served[out->n_served - 1].probe.chain) == 0) {
		mc_probe_result_clear(&out->served[out->n_served - 1].probe);
		out->n_served--; /* a key after the last chain */
	}
	if (rc == 0 && out->n_served == 0)
		rc = mc_err_set(err, MC_ERR_INPUT, "no PEM certificate found");
	return rc;
}

/* mc_check_pem - the chain checks of a PEM text into out. */
int
mc_check_pem(const char *pem, size_t len, const struct mc_check_opts *opts,
             struct mc_check_report *out, struct mc_err *err)
{
	memset(out, 0, sizeof(*out));
	out->profile = opts->profile;
	if (pem_split(pem, len, out, err) == -1)
		return -1;
	return run_chains(out, opts, err);
}

/* mc_check_report_clear - free what out owns and zero it. */
void
mc_check_report_clear(struct mc_check_report *out)
{
	size_t i;

	if (out == NULL)
		return;
	mc_probe_result_clear(&out->probe);
	for (i = 0; i < out->n_served; i++)
		mc_probe_result_clear(&out->served[i].probe);
	mc_findings_clear(&out->findings);
	memset(out, 0, sizeof(*out));
}
