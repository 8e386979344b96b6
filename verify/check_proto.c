/*
 * check_proto.c - probe an endpoint for old protocols and weak suites.
 *
 * One connection per question, strictly one after the other:
 *   TLS 1.3, TLS 1.2, TLS 1.1, TLS 1.0 - OpenSSL handshakes with
 *     min = max = version at security level 0 (Debian's OpenSSL offers
 *     1.0/1.1 only there); if OpenSSL cannot offer a version at all, a
 *     hand-built ClientHello for it;
 *   SSLv3 - a hand-built SSLv3 ClientHello (OpenSSL 3 has no SSLv3);
 *   weak suites - hand-built TLS 1.2 ClientHellos offering ONLY weak
 *     suites (RC4, 3DES, DES, EXPORT, NULL, anonymous). A ServerHello
 *     picking one names its class; that class is dropped and the rest
 *     offered again, until the server refuses. A TLS 1.0 ClientHello
 *     follows only when the server seems intolerant of the 1.2 one.
 * A clean server thus costs six connections.
 *
 * Politeness: a refused STARTTLS (421, 454) or a failed connect after the
 * first success is retried twice with a growing pause; a missing
 * STARTTLS, a foreign protocol or a dead endpoint stops the probing. What
 * could not be probed ends in one not-tested warning per code, never in
 * silence. opts->timeout_ms (<= 0: 10 s) bounds each connection.
 *
 * Severity and advice come from check_advice.c: they depend on the
 * profile (mx, submission, strict) and on the daemon (opts->server).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "mailcert/check.h"
#include "verify/check_int.h"
#include "verify/hello.h"
#include "mailcert/time.h"

#define DEFAULT_TIMEOUT_MS 10000
#define RETRIES 2
#define BACKOFF_MS 250 /* then 4 times as long */
#define ALERT_HANDSHAKE_FAILURE 40
#define ALERT_INSUFFICIENT_SECURITY 71

enum verdict { V_ACCEPTED, V_REJECTED, V_UNTESTED, V_CANNOT_OFFER };

enum { UT_PROTO = 0, UT_CIPHER = 1 };

struct run {
	const struct mc_endpoint *ep;
	const struct mc_check_opts *opts;
	struct mc_probe_opts popts; /* base options of every probe */
	int timeout_ms;
	int connected;       /* connections that got through */
	bool gave_up;        /* further probes would fail the same way */
	char why[400];       /* why the first untested probe failed */
	char untested[2][160];
};

struct suite {
	uint16_t id;
	const char *name;
};

struct suite_class {
	const char *name;
	const struct suite *v;
	size_t n;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct suite rc4_suites[] = {
    {0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
    {0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"},
    {0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
    {0x0004, "TLS_RSA_WITH_RC4_128_MD5"},
    {0xc00c, "TLS_ECDH_RSA_WITH_RC4_128_SHA"},
    {0xc002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA"},
    {0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"},
};

static const struct suite des3_suites[] = {
    {0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"},
    {0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc00d, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x000d, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA"},
    {0x001b, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"},
};

static const struct suite des_suites[] = {
    {0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"},
    {0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"},
    {0x0009, "TLS_RSA_WITH_DES_CBC_SHA"},
    {0x000f, "TLS_DH_RSA_WITH_DES_CBC_SHA"},
    {0x000c, "TLS_DH_DSS_WITH_DES_CBC_SHA"},
    {0x001a, "TLS_DH_anon_WITH_DES_CBC_SHA"},
};

static const struct suite export_suites[] = {
    {0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"},
    {0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"},
    {0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x000b, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA"},
    {0x000e, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"},
    {0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5"},
    {0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA"},
};

static const struct suite null_suites[] = {
    {0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA"},
    {0xc006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"},
    {0x003b, "TLS_RSA_WITH_NULL_SHA256"},
    {0x0002, "TLS_RSA_WITH_NULL_SHA"},
    {0x0001, "TLS_RSA_WITH_NULL_MD5"},
    {0xc00b, "TLS_ECDH_RSA_WITH_NULL_SHA"},
    {0xc001, "TLS_ECDH_ECDSA_WITH_NULL_SHA"},
    {0xc015, "TLS_ECDH_anon_WITH_NULL_SHA"},
};

static const struct suite anon_suites[] = {
    {0xc018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"},
    {0xc019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA"},
    {0xc017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA"},
    {0x00a6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256"},
    {0x00a7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384"},
    {0x006c, "TLS_DH_anon_WITH_AES_128_CBC_SHA256"},
    {0x006d, "TLS_DH_anon_WITH_AES_256_CBC_SHA256"},
    {0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"},
    {0x003a, "TLS_DH_anon_WITH_AES_256_CBC_SHA"},
    {0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA"},
    {0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA"},
    {0x009b, "TLS_DH_anon_WITH_SEED_CBC_SHA"},
};

/* Suites an SSLv3 (or TLS 1.0/1.1) server may pick, weak ones follow. */
static const uint16_t old_suites[] = {
    0xc014, 0xc013, 0xc00a, 0xc009, 0x0039, 0x0033, 0x0035, 0x002f,
    0x0088, 0x0045, 0x0084, 0x0041, 0x0038, 0x0032, 0x0096, 0x0007,
};

static const struct suite_class classes[] = {
    {"RC4", rc4_suites, N(rc4_suites)},
    {"3DES", des3_suites, N(des3_suites)},
    {"DES", des_suites, N(des_suites)},
    {"EXPORT", export_suites, N(export_suites)},
    {"NULL", null_suites, N(null_suites)},
    {"anonymous", anon_suites, N(anon_suites)},
};

#define ALL_CLASSES ((1u << N(classes)) - 1)

/* proto_untested - note item as not tested (first reason kept). */
static void
proto_untested(struct run *r, int which, const char *item, const char *why)
{
	char *list = r->untested[which];
	size_t len = strlen(list);

	if (strstr(list, item) == NULL)
		snprintf(list + len, sizeof(r->untested[which]) - len, "%s%s",
		         len > 0 ? ", " : "", item);
	if (r->why[0] == '\0' && why != r->why)
		snprintf(r->why, sizeof(r->why), "%s", why);
}

/* proto_retry - whether to try a failed connection again (after a pause);
 * gives up on outcomes that waiting will not change. */
static bool
proto_retry(struct run *r, const struct mc_probe_result *res, int attempt)
{
	bool transient = res->outcome == MC_PROBE_STARTTLS_REFUSED ||
	                 res->outcome == MC_PROBE_UNREACHABLE;

	if (!transient || r->connected == 0 || attempt >= RETRIES) {
		r->gave_up = true;
		return false;
	}
	mc_sleep_ms(attempt == 0 ? BACKOFF_MS : 4L * BACKOFF_MS);
	return true;
}

/* proto_local_refusal - whether a TLS failure happened before sending
 * (OpenSSL cannot offer this version with these settings). */
static bool
proto_local_refusal(const char *reason)
{
	return strstr(reason, "no protocols available") != NULL ||
	       strstr(reason, "no ciphers available") != NULL;
}

/* proto_classify - verdict of one finished OpenSSL probe. */
static enum verdict
proto_classify(const struct mc_probe_result *res)
{
	if (res->outcome == MC_PROBE_OK)
		return V_ACCEPTED;
	if (res->outcome != MC_PROBE_TLS_FAILED)
		return V_UNTESTED;
	if (proto_local_refusal(res->reason))
		return V_CANNOT_OFFER;
	if (res->timed_out)
		return V_UNTESTED;
	return V_REJECTED;
}

/* proto_openssl - one OpenSSL handshake limited to version; *why set. */
static int
proto_openssl(struct run *r, int version, enum verdict *v, char *why,
              size_t size, struct mc_err *err)
{
	struct mc_probe_opts o = r->popts;
	struct mc_probe_result res;
	struct mc_err perr;
	int attempt;

	o.min_version = version;
	o.max_version = version;
	o.cipher_list = "ALL:@SECLEVEL=0";
	o.security_level = 0;
	for (attempt = 0;; attempt++) {
		mc_err_clear(&perr);
		if (mc_verify_probe(r->ep, &o, &res, &perr) == -1) {
			if (perr.cat != MC_ERR_USAGE) {
				if (err != NULL)
					*err = perr;
				return -1;
			}
			snprintf(why, size, "OpenSSL cannot offer it: %.300s",
			         perr.msg);
			*v = V_CANNOT_OFFER;
			return 0;
		}
		if (res.outcome == MC_PROBE_OK || res.outcome ==
		    MC_PROBE_TLS_FAILED || !proto_retry(r, &res, attempt))
			break;
		mc_probe_result_clear(&res);
	}
	*v = proto_classify(&res);
	if (res.outcome == MC_PROBE_OK || res.outcome == MC_PROBE_TLS_FAILED)
		r->connected++;
	snprintf(why, size, "%.380s",
	         res.outcome == MC_PROBE_OK ? res.protocol : res.reason);
	mc_probe_result_clear(&res);
	return 0;
}

/* proto_raw - send one hand-built ClientHello; reply in *rep; verdict
 * V_ACCEPTED means "a ServerHello came", the caller judges it. */
static enum verdict
proto_raw(struct run *r, const struct verify_hello *h,
          struct verify_hello_reply *rep, char *why, size_t size)
{
	unsigned char msg[VERIFY_HELLO_MAX];
	struct mc_probe_result res;
	size_t len;
	int fd = -1, attempt;

	if (verify_hello_build(h, msg, sizeof(msg), &len) == -1) {
		snprintf(why, size, "cannot build the ClientHello");
		return V_UNTESTED;
	}
	for (attempt = 0;; attempt++) {
		memset(&res, 0, sizeof(res));
		if (verify_rawconn_open(r->ep, &r->popts, &res, &fd) == 0)
			break;
		if (!proto_retry(r, &res, attempt)) {
			snprintf(why, size, "%.380s", res.reason);
			return V_UNTESTED;
		}
	}
	r->connected++;
	verify_hello_exchange(fd, msg, len, r->timeout_ms, rep);
	close(fd);
	if (rep->kind == VERIFY_REPLY_SERVER_HELLO)
		return V_ACCEPTED;
	if (rep->kind == VERIFY_REPLY_ALERT)
		snprintf(why, size, "alert %u", rep->alert_desc);
	else
		snprintf(why, size, "%s", rep->why);
	if (rep->kind == VERIFY_REPLY_TIMEOUT || rep->kind == VERIFY_REPLY_IOERR)
		return V_UNTESTED;
	return V_REJECTED;
}

/* proto_raw_version - whether a server accepts version (hand-built). */
static enum verdict
proto_raw_version(struct run *r, unsigned version, char *why, size_t size)
{
	uint16_t suites[N(old_suites) + 64];
	struct verify_hello h = {.record_version = version,
	                         .client_version = version,
	                         .suites = suites,
	                         .sni = r->popts.servername,
	                         .extensions = version != VERIFY_SSL3};
	struct verify_hello_reply rep;
	enum verdict v;
	size_t i, n = 0;

	for (i = 0; i < N(old_suites); i++)
		suites[n++] = old_suites[i];
	for (i = 0; i < N(des3_suites) && n < N(suites); i++)
		suites[n++] = des3_suites[i].id;
	for (i = 0; i < N(rc4_suites) && n < N(suites); i++)
		suites[n++] = rc4_suites[i].id;
	h.nsuites = n;
	v = proto_raw(r, &h, &rep, why, size);
	if (v != V_ACCEPTED)
		return v;
	snprintf(why, size, "ServerHello version 0x%04x", rep.version);
	return rep.version == version ? V_ACCEPTED : V_REJECTED;
}

struct version_probe {
	const char *name;
	int openssl; /* 0: hand-built only */
	unsigned wire;
};

static const struct version_probe versions[] = {
    {"TLS 1.3", TLS1_3_VERSION, 0x0304},
    {"TLS 1.2", TLS1_2_VERSION, VERIFY_TLS12},
    {"TLS 1.1", TLS1_1_VERSION, VERIFY_TLS11},
    {"TLS 1.0", TLS1_VERSION, VERIFY_TLS10},
    {"SSLv3", 0, VERIFY_SSL3},
};

/* proto_version - verdict on one protocol version (one connection, two
 * when OpenSSL cannot offer an old version). */
static int
proto_version(struct run *r, const struct version_probe *p, enum verdict *v,
              struct mc_err *err)
{
	char why[400];

	*v = V_CANNOT_OFFER;
	if (r->gave_up) {
		*v = V_UNTESTED;
		proto_untested(r, UT_PROTO, p->name, r->why);
		return 0;
	}
	if (p->openssl != 0 &&
	    proto_openssl(r, p->openssl, v, why, sizeof(why), err) == -1)
		return -1;
	if (*v == V_CANNOT_OFFER && p->wire <= VERIFY_TLS11 && !r->gave_up)
		*v = proto_raw_version(r, p->wire, why, sizeof(why));
	if (*v == V_CANNOT_OFFER)
		*v = V_UNTESTED;
	if (*v == V_UNTESTED)
		proto_untested(r, UT_PROTO, p->name, why);
	return 0;
}

/* proto_versions - weak-protocol: old versions, and no TLS 1.2/1.3. */
static int
proto_versions(struct run *r, struct mc_findings *out, struct mc_err *err)
{
	enum verdict v[N(versions)];
	size_t i;

	char advice[600];

	check_advice_protocol(r->opts, advice, sizeof(advice));
	for (i = 0; i < N(versions); i++) {
		if (proto_version(r, &versions[i], &v[i], err) == -1)
			return -1;
		if (i >= 2 && v[i] == V_ACCEPTED &&
		    mc_findings_add(out, "weak-protocol",
		                    check_sev_protocol(r->opts->profile,
		                                       versions[i].openssl == 0),
		                    false, err, "%s is accepted: %s.",
		                    versions[i].name, advice) == -1)
			return -1;
	}
	if (v[0] == V_REJECTED && v[1] == V_REJECTED &&
	    mc_findings_add(out, "weak-protocol", MC_SEV_CRITICAL, false, err,
	                    "Neither TLS 1.2 nor TLS 1.3 is supported: enable "
	                    "both (upgrade the server's TLS library and check "
	                    "its protocol settings).") == -1)
		return -1;
	return 0;
}

/* cipher_offer - the suite ids of the classes in mask; their count. */
static size_t
cipher_offer(unsigned mask, uint16_t *ids, size_t cap)
{
	size_t c, i, n = 0;

	for (c = 0; c < N(classes); c++)
		for (i = 0; (mask & 1u << c) != 0 && i < classes[c].n; i++)
			if (n < cap)
				ids[n++] = classes[c].v[i].id;
	return n;
}

/* cipher_find - class index (in mask) and suite of id, or -1. */
static int
cipher_find(unsigned mask, unsigned id, const struct suite **s)
{
	size_t c, i;

	for (c = 0; c < N(classes); c++)
		for (i = 0; (mask & 1u << c) != 0 && i < classes[c].n; i++)
			if (classes[c].v[i].id == id) {
				*s = &classes[c].v[i];
				return (int)c;
			}
	return -1;
}

/* cipher_round - offer the weak classes in *mask at one version until
 * the server refuses; drops and reports each class it picks. Returns 1
 * when the server looked intolerant of this version (try an older). */
static int
cipher_round(struct run *r, unsigned version, unsigned *mask,
             struct mc_findings *out, struct mc_err *err)
{
	uint16_t ids[VERIFY_HELLO_SUITES_MAX];
	struct verify_hello h = {.record_version = version,
	                         .client_version = version,
	                         .suites = ids,
	                         .sni = r->popts.servername,
	                         .extensions = true};
	struct verify_hello_reply rep;
	const struct suite *s = NULL;
	char why[400], advice[600];
	enum verdict v = V_REJECTED;
	int c, hellos = 0;

	memset(&rep, 0, sizeof(rep));

	while (*mask != 0 && !r->gave_up) {
		h.nsuites = cipher_offer(*mask, ids, N(ids));
		v = proto_raw(r, &h, &rep, why, sizeof(why));
		if (v == V_UNTESTED) {
			proto_untested(r, UT_CIPHER, "weak cipher suites", why);
			return 0;
		}
		c = v == V_ACCEPTED ? cipher_find(*mask, rep.suite, &s) : -1;
		if (c < 0)
			break;
		hellos++;
		*mask &= ~(1u << c);
		check_advice_cipher(r->opts, (enum check_cipher_class)c, advice,
		                    sizeof(advice));
		if (mc_findings_add(out, "weak-cipher",
		                    check_sev_cipher(r->opts->profile,
		                                     (enum check_cipher_class)c),
		                    false, err, "%s is accepted (%s): %s.",
		                    s->name, classes[c].name, advice) == -1)
			return -1;
	}
	if (hellos > 0 || v == V_ACCEPTED)
		return 0;
	return rep.kind == VERIFY_REPLY_ALERT &&
	               (rep.alert_desc == ALERT_HANDSHAKE_FAILURE ||
	                rep.alert_desc == ALERT_INSUFFICIENT_SECURITY)
	           ? 0
	           : 1;
}

/* proto_ciphers - weak-cipher: TLS 1.2 hellos, then TLS 1.0 if needed. */
static int
proto_ciphers(struct run *r, struct mc_findings *out, struct mc_err *err)
{
	unsigned mask = ALL_CLASSES;
	int rc;

	if (r->gave_up) {
		proto_untested(r, UT_CIPHER, "weak cipher suites", r->why);
		return 0;
	}
	rc = cipher_round(r, VERIFY_TLS12, &mask, out, err);
	if (rc == 1)
		rc = cipher_round(r, VERIFY_TLS10, &mask, out, err);
	return rc == -1 ? -1 : 0;
}

/* proto_report_untested - one not-tested warning per code. */
static int
proto_report_untested(const struct run *r, struct mc_findings *out,
                      struct mc_err *err)
{
	if (r->untested[UT_PROTO][0] != '\0' &&
	    mc_findings_add(out, "weak-protocol", MC_SEV_WARNING, true, err,
	                    "Could not test %s (%s): check the server's "
	                    "protocol settings by hand or run the check "
	                    "again.",
	                    r->untested[UT_PROTO], r->why) == -1)
		return -1;
	if (r->untested[UT_CIPHER][0] != '\0' &&
	    mc_findings_add(out, "weak-cipher", MC_SEV_WARNING, true, err,
	                    "Could not test for RC4, 3DES, DES, EXPORT, NULL "
	                    "and anonymous suites (%s): check the cipher "
	                    "settings by hand or run the check again.",
	                    r->why) == -1)
		return -1;
	return 0;
}

/* mc_check_protocols - probe ep for old protocols and weak suites. */
int
mc_check_protocols(const struct mc_endpoint *ep,
                   const struct mc_check_opts *opts, struct mc_findings *out,
                   struct mc_err *err)
{
	struct run r;

	memset(&r, 0, sizeof(r));
	r.ep = ep;
	r.opts = opts;
	r.timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms
	                                    : DEFAULT_TIMEOUT_MS;
	mc_probe_opts_init(&r.popts);
	r.popts.servername = opts->servername;
	r.popts.total_timeout_ms = r.timeout_ms;
	if (r.popts.io_timeout_ms > r.timeout_ms)
		r.popts.io_timeout_ms = r.timeout_ms;
	if (r.popts.connect_timeout_ms > r.timeout_ms)
		r.popts.connect_timeout_ms = r.timeout_ms;
	if (proto_versions(&r, out, err) == -1 ||
	    proto_ciphers(&r, out, err) == -1 ||
	    proto_report_untested(&r, out, err) == -1)
		return mc_err_prefix(err, "check %s", ep->url);
	return 0;
}
