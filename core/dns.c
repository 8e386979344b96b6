/*
 * dns.c - DNSSEC-validated lookups with libunbound (see mailcert/dns.h).
 *
 * Each lookup runs asynchronously in libunbound's own thread and is waited
 * for with poll() up to the timeout, then cancelled: a resolver that does
 * not answer never hangs a run. The signer's original TTL of an RRset is
 * read from its RRSIG in the answer packet (ldns parses it), because a
 * forwarding resolver hands out the TTL left in its cache.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/dns_int.h"
#include "mailcert/config.h"
#include "mailcert/dns.h"
#include "mailcert/fsio.h"
#include "mailcert/time.h"

#define DNS_ANCHOR_MAX (1024 * 1024)
#define DNS_TYPE_TLSA 52
#define DNS_CLASS_IN 1
#define DNS_TTL_MAX (7 * 86400L)

struct mc_dns {
	struct ub_ctx *ctx;
	long timeout;
};

struct dns_wait {
	bool done;
	int status;
	struct ub_result *res;
};

/* dns_anchor_line - 0 for an empty or comment line, 1 for a DS or DNSKEY
 * record (its type is one of the words 2 to 5), -1 for anything else. */
static int
dns_anchor_line(const char *line, size_t len)
{
	char word[16];
	size_t i = 0, n, words;

	while (i < len && isspace((unsigned char)line[i]))
		i++;
	if (i == len || line[i] == ';' || line[i] == '#')
		return 0;
	for (words = 0; words < 5 && i < len; words++) {
		n = 0;
		while (i < len && !isspace((unsigned char)line[i])) {
			if (n + 1 < sizeof(word))
				word[n++] = line[i];
			i++;
		}
		word[n] = '\0';
		if (words > 0 && (strcasecmp(word, "DS") == 0 ||
				  strcasecmp(word, "DNSKEY") == 0))
			return 1;
		while (i < len && isspace((unsigned char)line[i]))
			i++;
	}
	return -1;
}

/* dns_anchor_check - the anchor file exists and holds only DS/DNSKEY lines
 * (at least one). */
static int
dns_anchor_check(const char *path, struct mc_err *err)
{
	char *text = NULL, *p, *end;
	size_t len, lineno = 1, records = 0;
	int rc = -1, kind;

	if (mc_fsio_read(path, DNS_ANCHOR_MAX, &text, &len, err) == -1)
		return mc_err_prefix(err, "dnssec_anchor (install dns-root-data "
					  "or set dnssec_anchor)");
	for (p = text; p < text + len; p = end + 1, lineno++) {
		end = memchr(p, '\n', (size_t)(text + len - p));
		if (end == NULL)
			end = text + len;
		kind = dns_anchor_line(p, (size_t)(end - p));
		if (kind == -1) {
			mc_err_set(err, MC_ERR_CONFIG,
				   "dnssec_anchor %s:%zu: not a DS or DNSKEY "
				   "record; write e.g. \". IN DS 20326 8 2 E06D...\"",
				   path, lineno);
			goto out;
		}
		records += kind == 1;
	}
	if (records == 0) {
		mc_err_set(err, MC_ERR_CONFIG,
			   "dnssec_anchor %s: no DS or DNSKEY record in it", path);
		goto out;
	}
	rc = 0;
out:
	free(text);
	return rc;
}

/* dns_set_forwarder - forward to "ADDR[:PORT]" (libunbound wants ADDR@PORT). */
static int
dns_set_forwarder(struct ub_ctx *ctx, const char *resolver, struct mc_err *err)
{
	char host[64], spec[80];
	int port, rc;

	if (mc_hostport_parse(resolver, host, sizeof(host), &port, err) == -1)
		return mc_err_prefix(err, "resolver");
	snprintf(spec, sizeof(spec), "%s@%d", host, port ? port : 53);
	rc = dns_ub.ub_ctx_set_fwd(ctx, spec);
	if (rc != 0)
		return mc_err_set(err, MC_ERR_CONFIG, "resolver %s: %s",
		                  resolver, dns_ub.ub_strerror(rc));
	return 0;
}

/* dns_configure - upstream, anchor and options of a new context. */
static int
dns_configure(struct ub_ctx *ctx, const struct mc_dns_conf *conf,
	      const char *anchor, struct mc_err *err)
{
	int rc = 0;

	if (conf->resolver == NULL || conf->resolver[0] == '\0')
		rc = dns_ub.ub_ctx_resolvconf(ctx, NULL);
	else if (strcmp(conf->resolver, "recursive") != 0 &&
		 dns_set_forwarder(ctx, conf->resolver, err) == -1)
		return -1;
	if (rc != 0)
		return mc_err_set(err, MC_ERR_SYS,
		                  "resolver: /etc/resolv.conf: %s",
		                  dns_ub.ub_strerror(rc));
	/* A local validating resolver on 127.0.0.1 is the usual forwarder. */
	if (dns_ub.ub_ctx_set_option(ctx, "do-not-query-localhost:",
	                             "no") != 0 ||
	    dns_ub.ub_ctx_set_option(ctx, "val-log-level:", "2") != 0 ||
	    dns_ub.ub_ctx_async(ctx, 1) != 0)
		return mc_err_set(err, MC_ERR_SYS, "libunbound: cannot set options");
	rc = dns_ub.ub_ctx_add_ta_file(ctx, anchor);
	if (rc != 0)
		return mc_err_set(err, MC_ERR_CONFIG, "dnssec_anchor %s: %s",
		                  anchor, dns_ub.ub_strerror(rc));
	return 0;
}

/* mc_dns_new - a validating resolver for conf. */
struct mc_dns *
mc_dns_new(const struct mc_dns_conf *conf, struct mc_err *err)
{
	const char *anchor = conf->anchor ? conf->anchor : MC_DNS_DEFAULT_ANCHOR;
	struct mc_dns *dns;

	if (dns_anchor_check(anchor, err) == -1 || dns_ub_load(err) == -1 ||
	    dns_ld_load(err) == -1)
		return NULL;
	dns = calloc(1, sizeof(*dns));
	if (dns == NULL) {
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	dns->timeout = conf->timeout > 0 ? conf->timeout : MC_DNS_TIMEOUT;
	dns->ctx = dns_ub.ub_ctx_create();
	if (dns->ctx == NULL) {
		mc_err_set(err, MC_ERR_SYS, "libunbound: cannot create a context");
		goto fail;
	}
	if (dns_configure(dns->ctx, conf, anchor, err) == -1)
		goto fail;
	return dns;
fail:
	mc_dns_free(dns);
	return NULL;
}

/* mc_dns_free - free a resolver; NULL is a no-op. */
void
mc_dns_free(struct mc_dns *dns)
{
	if (dns == NULL)
		return;
	if (dns->ctx != NULL)
		dns_ub.ub_ctx_delete(dns->ctx);
	free(dns);
}

/* dns_done - libunbound's callback: keep the result. */
static void
dns_done(void *arg, int status, struct ub_result *res)
{
	struct dns_wait *w = arg;

	w->done = true;
	w->status = status;
	w->res = res;
}

/* dns_resolve - one query, waited for up to the timeout. */
static int
dns_resolve(struct mc_dns *dns, const char *name, int type,
	    struct ub_result **out, struct mc_err *err)
{
	struct dns_wait w = { false, 0, NULL };
	long long deadline = mc_now_ms() + dns->timeout * 1000LL, left;
	struct pollfd pfd;
	int id = 0, rc;

	rc = dns_ub.ub_resolve_async(dns->ctx, name, type, DNS_CLASS_IN, &w,
	                             dns_done, &id);
	if (rc != 0)
		return mc_err_set(err, MC_ERR_NET, "%s: %s", name,
		                  dns_ub.ub_strerror(rc));
	while (!w.done) {
		left = deadline - mc_now_ms();
		if (left <= 0) {
			dns_ub.ub_cancel(dns->ctx, id);
			return mc_err_set(err, MC_ERR_NET,
					  "%s: no answer within %ld s from the "
					  "resolver", name, dns->timeout);
		}
		pfd.fd = dns_ub.ub_fd(dns->ctx);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left + 1) > 0 &&
		    dns_ub.ub_process(dns->ctx) != 0)
			return mc_err_set(err, MC_ERR_NET, "%s: libunbound failed", name);
	}
	if (w.status != 0) {
		dns_ub.ub_resolve_free(w.res);
		return mc_err_set(err, MC_ERR_NET, "%s: %s", name,
		                  dns_ub.ub_strerror(w.status));
	}
	*out = w.res;
	return 0;
}

/* dns_check_result - bogus and failed answers are errors. */
static int
dns_check_result(const char *name, const char *type, const struct ub_result *res,
		 struct mc_err *err)
{
	if (res->bogus)
		return mc_err_set(err, MC_ERR_NET,
				  "%s %s: DNSSEC validation failed (bogus): %s",
				  name, type, res->why_bogus ? res->why_bogus
							     : "no reason given");
	if (res->rcode != LDNS_RCODE_NOERROR && res->rcode != LDNS_RCODE_NXDOMAIN)
		return mc_err_set(err, MC_ERR_NET, "%s %s: the resolver answered %s",
				  name, type,
				  res->rcode == LDNS_RCODE_SERVFAIL ? "SERVFAIL"
				  : res->rcode == LDNS_RCODE_REFUSED ? "REFUSED"
								      : "an error");
	return 0;
}

/* dns_orig_ttl - the largest original TTL of RRSIGs over type in the answer
 * packet, or fallback. */
static long
dns_orig_ttl(const struct ub_result *res, int type, long fallback)
{
	ldns_pkt *pkt = NULL;
	ldns_rr_list *an;
	ldns_rr *rr;
	long ttl = fallback, t;
	size_t i;

	if (res->answer_packet == NULL ||
	    dns_ld.ldns_wire2pkt(&pkt, res->answer_packet,
	                         (size_t)res->answer_len) != LDNS_STATUS_OK)
		return fallback;
	an = dns_ld.ldns_pkt_answer(pkt);
	for (i = 0; an != NULL && i < dns_ld.ldns_rr_list_rr_count(an); i++) {
		rr = dns_ld.ldns_rr_list_rr(an, i);
		if (dns_ld.ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG ||
		    dns_ld.ldns_rr_rrsig_typecovered(rr) == NULL ||
		    (int)dns_ld.ldns_rdf2rr_type(
		        dns_ld.ldns_rr_rrsig_typecovered(rr)) != type ||
		    dns_ld.ldns_rr_rrsig_origttl(rr) == NULL)
			continue;
		t = (long)dns_ld.ldns_rdf2native_int32(
		    dns_ld.ldns_rr_rrsig_origttl(rr));
		if (t > ttl)
			ttl = t;
	}
	dns_ld.ldns_pkt_free(pkt);
	return ttl > DNS_TTL_MAX ? DNS_TTL_MAX : ttl;
}

/* dns_tlsa_parse - the records of a TLSA answer into set. */
static int
dns_tlsa_parse(const struct ub_result *res, struct mc_tlsa_rrset *set,
	       struct mc_err *err)
{
	size_t n = 0, i;

	while (res->havedata && res->data[n] != NULL)
		n++;
	set->recs = calloc(n + 1, sizeof(*set->recs));
	if (set->recs == NULL)
		return mc_err_set(err, MC_ERR_SYS, "out of memory");
	for (i = 0; i < n; i++) {
		struct mc_tlsa_rec *r = &set->recs[set->n];
		const unsigned char *d = (const unsigned char *)res->data[i];

		if (res->len[i] < 4)
			return mc_err_set(err, MC_ERR_INPUT,
					  "%s TLSA: a record of %d bytes is too short",
					  set->name, res->len[i]);
		r->usage = d[0];
		r->selector = d[1];
		r->mtype = d[2];
		r->len = (size_t)res->len[i] - 3;
		r->data = malloc(r->len);
		if (r->data == NULL)
			return mc_err_set(err, MC_ERR_SYS, "out of memory");
		memcpy(r->data, d + 3, r->len);
		set->n++;
	}
	return 0;
}

/* mc_dns_tlsa - look up and validate the TLSA RRset at name. */
int
mc_dns_tlsa(struct mc_dns *dns, const char *name, struct mc_tlsa_rrset *out,
	    struct mc_err *err)
{
	struct mc_tlsa_rrset set = { 0 };
	struct ub_result *res = NULL;
	int rc = -1;

	if (dns_resolve(dns, name, DNS_TYPE_TLSA, &res, err) == -1 ||
	    dns_check_result(name, "TLSA", res, err) == -1)
		goto out;
	set.name = strdup(name);
	if (set.name == NULL) {
		mc_err_set(err, MC_ERR_SYS, "out of memory");
		goto out;
	}
	set.secure = res->secure != 0;
	set.ttl = dns_orig_ttl(res, DNS_TYPE_TLSA, res->ttl);
	if (dns_tlsa_parse(res, &set, err) == -1)
		goto out;
	*out = set;
	memset(&set, 0, sizeof(set));
	rc = 0;
out:
	mc_tlsa_rrset_clear(&set);
	dns_ub.ub_resolve_free(res);
	return rc;
}

/* mc_tlsa_rrset_clear - free the members of set. */
void
mc_tlsa_rrset_clear(struct mc_tlsa_rrset *set)
{
	size_t i;

	if (set->recs != NULL)
		for (i = 0; i < set->n; i++)
			free(set->recs[i].data);
	free(set->recs);
	free(set->name);
	memset(set, 0, sizeof(*set));
}

/* mc_tlsa_rec_text - "U S M HEX" into buf. */
char *
mc_tlsa_rec_text(const struct mc_tlsa_rec *rec, char *buf, size_t size)
{
	size_t off, i;
	int n;

	n = snprintf(buf, size, "%u %u %u ", rec->usage, rec->selector, rec->mtype);
	off = n < 0 ? 0 : (size_t)n;
	for (i = 0; i < rec->len && off + 3 < size; i++, off += 2)
		snprintf(buf + off, size - off, "%02x", rec->data[i]);
	if (i < rec->len && size > 4)
		memcpy(buf + size - 4, "...", 4);
	return buf;
}

/* mc_tlsa_rrset_has - whether set holds that record. */
bool
mc_tlsa_rrset_has(const struct mc_tlsa_rrset *set, unsigned usage,
		  unsigned selector, unsigned mtype, const unsigned char *data,
		  size_t len)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		const struct mc_tlsa_rec *r = &set->recs[i];

		if (r->usage == usage && r->selector == selector &&
		    r->mtype == mtype && r->len == len &&
		    memcmp(r->data, data, len) == 0)
			return true;
	}
	return false;
}
