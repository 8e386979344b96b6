/*
 * check_proto.c - probe an endpoint for old protocols and weak suites.
 *
 * One connection per question:
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
 * A clean server thus costs six connections. The questions are asked in
 * parallel, at most CHECK_PER_SERVER connections at once (check_run.c
 * adds its two key-type probes to the same pool); each keeps its answer,
 * and the findings are then written in the order of the questions above,
 * as if asked one after the other: the report does not depend on timing.
 *
 * Politeness: a refused STARTTLS (421, 454) or a failed connect is retried
 * twice with a growing pause, except in the first question (the endpoint
 * has not answered yet); a missing STARTTLS, a foreign protocol or a dead
 * endpoint stops the probing: a question that gives up stops every later
 * one (those under way end at their next connection or pause), and the
 * later answers are reported as not tested, as they were when the
 * questions ran one after the other. What could not be probed ends in one
 * not-tested warning per code, never in silence. opts->timeout_ms (<= 0:
 * 10 s) bounds each connection.
 *
 * Severity and advice come from check_advice.c: they depend on the
 * profile (mx, submission, strict) and on the daemon (opts->server).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "mailcert/check.h"
#include "mailcert/pool.h"
#include "verify/check_int.h"
#include "verify/hello.h"
#include "verify/verify_int.h"
#include "mailcert/time.h"

#define DEFAULT_TIMEOUT_MS 10000
#define RETRIES 2
#define BACKOFF_MS 250 /* then 4 times as long */
#define ALERT_HANDSHAKE_FAILURE 40
#define ALERT_INSUFFICIENT_SECURITY 71

enum verdict { V_ACCEPTED, V_REJECTED, V_UNTESTED, V_CANNOT_OFFER };

enum { UT_PROTO = 0, UT_CIPHER = 1 };

#define PAUSE_SLICE_MS 50 /* a retry pause looks this often for a give-up */

#define N_VERSIONS 5
#define JOB_CIPHERS N_VERSIONS /* the last question */
#define N_JOBS CHECK_PROTO_JOBS
_Static_assert(N_JOBS == N_VERSIONS + 1, "CHECK_PROTO_JOBS: versions + suites");

/* One question (a protocol version, or the weak suites): asked by one
 * pool worker, its answer read by check_proto_report afterwards. */
struct job {
	size_t index;   /* place in the order of the questions */
	bool reached;   /* a connection got through (may retry) */
	bool skipped;   /* not asked: an earlier question gave up */
	bool gave_up;   /* further probes would fail the same way */
	enum verdict v; /* a version's verdict */
	char why[400];  /* why, for a version; why untested, for suites */
	bool untested;  /* suites: could not be (fully) tested */
	const struct suite *found[CC_COUNT]; /* suites: accepted, in order */
	int found_class[CC_COUNT];
	size_t n_found;
};

/* The protocol check of one endpoint: the questions (shared by the pool
 * workers: read-only but for `lock`ed first_gave_up and each worker's own
 * job), then the report state (single-threaded). */
struct check_proto {
	struct mc_endpoint ep;
	struct mc_probe_opts popts; /* base options of every probe */
	int timeout_ms;
	pthread_mutex_t lock;
	size_t first_gave_up; /* lowest index of a question that gave up */
	struct job jobs[N_JOBS];
	/* report */
	const struct mc_check_opts *opts;
	bool gave_up;
	char why[400]; /* why the first untested probe failed */
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
proto_untested(struct check_proto *r, int which, const char *item,
               const char *why)
{
	char *list = r->untested[which];
	size_t len = strlen(list);

	if (strstr(list, item) == NULL)
		snprintf(list + len, sizeof(r->untested[which]) - len, "%s%s",
		         len > 0 ? ", " : "", item);
	if (r->why[0] == '\0' && why != r->why)
		snprintf(r->why, sizeof(r->why), "%s", why);
}

/* proto_superseded - whether an earlier question gave up (then j's answer
 * will not be reported: stop asking). */
static bool
proto_superseded(struct check_proto *r, const struct job *j)
{
	bool yes;

	pthread_mutex_lock(&r->lock);
	yes = r->first_gave_up < j->index;
	pthread_mutex_unlock(&r->lock);
	return yes;
}

/* proto_give_up - j gives up: every later question stops. */
static void
proto_give_up(struct check_proto *r, struct job *j)
{
	j->gave_up = true;
	pthread_mutex_lock(&r->lock);
	if (j->index < r->first_gave_up)
		r->first_gave_up = j->index;
	pthread_mutex_unlock(&r->lock);
}

/* proto_pause - sleep ms, in slices; false when j was superseded or a
 * stop was requested meanwhile. */
static bool
proto_pause(struct check_proto *r, struct job *j, long ms)
{
	long slice;

	for (; ms > 0; ms -= slice) {
		slice = ms < PAUSE_SLICE_MS ? ms : PAUSE_SLICE_MS;
		if (proto_superseded(r, j) || mc_sleep_ms(slice) == -1)
			return false;
	}
	return !proto_superseded(r, j);
}

/* proto_retry - whether to try a failed connection again (after a pause);
 * gives up on outcomes that waiting will not change. A question that was
 * superseded meanwhile ends as skipped. */
static bool
proto_retry(struct check_proto *r, struct job *j,
            const struct mc_probe_result *res, int attempt)
{
	bool transient = res->outcome == MC_PROBE_STARTTLS_REFUSED ||
	                 res->outcome == MC_PROBE_UNREACHABLE;

	if (!transient || !j->reached || attempt >= RETRIES) {
		proto_give_up(r, j);
		return false;
	}
	if (proto_pause(r, j, attempt == 0 ? BACKOFF_MS : 4L * BACKOFF_MS))
		return true;
	if (proto_superseded(r, j))
		j->skipped = true;
	else
		proto_give_up(r, j); /* a stop was requested */
	return false;
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
proto_openssl(struct check_proto *r, struct job *j, int version,
              enum verdict *v, char *why, size_t size, struct mc_err *err)
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
		if (mc_verify_probe(&r->ep, &o, &res, &perr) == -1) {
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
		    MC_PROBE_TLS_FAILED || !proto_retry(r, j, &res, attempt))
			break;
		mc_probe_result_clear(&res);
	}
	*v = proto_classify(&res);
	if (res.outcome == MC_PROBE_OK || res.outcome == MC_PROBE_TLS_FAILED)
		j->reached = true;
	snprintf(why, size, "%.380s",
	         res.outcome == MC_PROBE_OK ? res.protocol : res.reason);
	mc_probe_result_clear(&res);
	return 0;
}

/* proto_raw - send one hand-built ClientHello; reply in *rep; verdict
 * V_ACCEPTED means "a ServerHello came", the caller judges it. */
static enum verdict
proto_raw(struct check_proto *r, struct job *j, const struct verify_hello *h,
          struct verify_hello_reply *rep, char *why, size_t size)
{
	unsigned char msg[VERIFY_HELLO_MAX];
	struct mc_probe_result res;
	struct verify_conn *c = NULL;
	size_t len;
	int attempt;

	if (verify_hello_build(h, msg, sizeof(msg), &len) == -1) {
		snprintf(why, size, "cannot build the ClientHello");
		return V_UNTESTED;
	}
	for (attempt = 0;; attempt++) {
		memset(&res, 0, sizeof(res));
		if (verify_rawconn_open(&r->ep, &r->popts, &res, &c) == 0)
			break;
		if (!proto_retry(r, j, &res, attempt)) {
			snprintf(why, size, "%.380s", res.reason);
			return V_UNTESTED;
		}
	}
	j->reached = true;
	verify_hello_exchange(c->fd, msg, len, r->timeout_ms, rep);
	verify_rawconn_close(c);
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
proto_raw_version(struct check_proto *r, struct job *j, unsigned version,
                  char *why, size_t size)
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
	v = proto_raw(r, j, &h, &rep, why, size);
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

static const struct version_probe versions[N_VERSIONS] = {
    {"TLS 1.3", TLS1_3_VERSION, 0x0304},
    {"TLS 1.2", TLS1_2_VERSION, VERIFY_TLS12},
    {"TLS 1.1", TLS1_1_VERSION, VERIFY_TLS11},
    {"TLS 1.0", TLS1_VERSION, VERIFY_TLS10},
    {"SSLv3", 0, VERIFY_SSL3},
};

/* job_version - the verdict on one protocol version (one connection, two
 * when OpenSSL cannot offer an old version) into j. */
static int
job_version(struct check_proto *r, struct job *j, struct mc_err *err)
{
	const struct version_probe *p = &versions[j->index];

	j->v = V_CANNOT_OFFER;
	if (p->openssl != 0 && proto_openssl(r, j, p->openssl, &j->v, j->why,
	                                     sizeof(j->why), err) == -1)
		return -1;
	if (j->v == V_CANNOT_OFFER && p->wire <= VERIFY_TLS11 &&
	    !j->gave_up && !j->skipped)
		j->v = proto_raw_version(r, j, p->wire, j->why, sizeof(j->why));
	if (j->v == V_CANNOT_OFFER)
		j->v = V_UNTESTED;
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
 * the server refuses; drops and notes each class it picks. Returns 1
 * when the server looked intolerant of this version (try an older). */
static int
cipher_round(struct check_proto *r, struct job *j, unsigned version,
             unsigned *mask)
{
	uint16_t ids[VERIFY_HELLO_SUITES_MAX];
	struct verify_hello h = {.record_version = version,
	                         .client_version = version,
	                         .suites = ids,
	                         .sni = r->popts.servername,
	                         .extensions = true};
	struct verify_hello_reply rep;
	const struct suite *s = NULL;
	enum verdict v = V_REJECTED;
	int c, hellos = 0;

	memset(&rep, 0, sizeof(rep));
	while (*mask != 0 && !j->gave_up && !j->skipped) {
		if (proto_superseded(r, j)) {
			j->skipped = true;
			return 0;
		}
		h.nsuites = cipher_offer(*mask, ids, N(ids));
		v = proto_raw(r, j, &h, &rep, j->why, sizeof(j->why));
		if (v == V_UNTESTED) {
			j->untested = true;
			return 0;
		}
		c = v == V_ACCEPTED ? cipher_find(*mask, rep.suite, &s) : -1;
		if (c < 0)
			break;
		hellos++;
		*mask &= ~(1u << c);
		j->found[j->n_found] = s;
		j->found_class[j->n_found++] = c;
	}
	if (hellos > 0 || v == V_ACCEPTED)
		return 0;
	return rep.kind == VERIFY_REPLY_ALERT &&
	               (rep.alert_desc == ALERT_HANDSHAKE_FAILURE ||
	                rep.alert_desc == ALERT_INSUFFICIENT_SECURITY)
	           ? 0
	           : 1;
}

/* job_ciphers - the weak suites: TLS 1.2 hellos, then TLS 1.0 if needed. */
static void
job_ciphers(struct check_proto *r, struct job *j)
{
	unsigned mask = ALL_CLASSES;

	if (cipher_round(r, j, VERIFY_TLS12, &mask) == 1 && !j->skipped)
		(void)cipher_round(r, j, VERIFY_TLS10, &mask);
}

/* check_proto_job - ask question i (a pool item; see check_int.h). */
int
check_proto_job(struct check_proto *r, size_t i, struct mc_err *err)
{
	struct job *j = &r->jobs[i];

	if (proto_superseded(r, j)) {
		j->skipped = true;
		return 0;
	}
	if (i == JOB_CIPHERS) {
		job_ciphers(r, j);
		return 0;
	}
	return job_version(r, j, err);
}

/* report_version - the verdict of version i, as asked in order: not
 * tested after an earlier give-up. */
static enum verdict
report_version(struct check_proto *r, size_t i)
{
	const struct job *j = &r->jobs[i];

	if (r->gave_up) {
		proto_untested(r, UT_PROTO, versions[i].name, r->why);
		return V_UNTESTED;
	}
	if (j->skipped) /* only ever after an earlier give-up */
		abort();
	if (j->v == V_UNTESTED)
		proto_untested(r, UT_PROTO, versions[i].name, j->why);
	r->gave_up = j->gave_up;
	return j->v;
}

/* report_versions - weak-protocol: old versions, and no TLS 1.2/1.3. */
static int
report_versions(struct check_proto *r, struct mc_findings *out,
                struct mc_err *err)
{
	enum verdict v[N_VERSIONS];
	char advice[600];
	size_t i;

	check_advice_protocol(r->opts, advice, sizeof(advice));
	for (i = 0; i < N_VERSIONS; i++) {
		v[i] = report_version(r, i);
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

/* report_ciphers - weak-cipher: each class accepted, in the order found. */
static int
report_ciphers(struct check_proto *r, struct mc_findings *out,
               struct mc_err *err)
{
	const struct job *j = &r->jobs[JOB_CIPHERS];
	char advice[600];
	size_t i;
	int c;

	if (r->gave_up) {
		proto_untested(r, UT_CIPHER, "weak cipher suites", r->why);
		return 0;
	}
	for (i = 0; i < j->n_found; i++) {
		c = j->found_class[i];
		check_advice_cipher(r->opts, (enum check_cipher_class)c, advice,
		                    sizeof(advice));
		if (mc_findings_add(out, "weak-cipher",
		                    check_sev_cipher(r->opts->profile,
		                                     (enum check_cipher_class)c),
		                    false, err, "%s is accepted (%s): %s.",
		                    j->found[i]->name, classes[c].name,
		                    advice) == -1)
			return -1;
	}
	if (j->untested)
		proto_untested(r, UT_CIPHER, "weak cipher suites", j->why);
	return 0;
}

/* report_untested - one not-tested warning per code. */
static int
report_untested(const struct check_proto *r, struct mc_findings *out,
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

/* check_proto_new - the questions about ep (see check_int.h). */
struct check_proto *
check_proto_new(const struct mc_endpoint *ep, const struct mc_check_opts *opts,
                struct mc_err *err)
{
	struct check_proto *r = calloc(1, sizeof(*r));
	size_t i;

	if (r == NULL || pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		mc_err_set(err, MC_ERR_SYS, "check %s: out of memory", ep->url);
		return NULL;
	}
	r->ep = *ep;
	r->first_gave_up = N_JOBS;
	for (i = 0; i < N_JOBS; i++) {
		r->jobs[i].index = i;
		r->jobs[i].reached = i > 0; /* the first has nothing to go by */
	}
	r->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms
	                                     : DEFAULT_TIMEOUT_MS;
	mc_probe_opts_init(&r->popts);
	r->popts.servername = opts->servername;
	r->popts.cache = opts->cache;
	r->popts.limit = opts->limit;
	r->popts.total_timeout_ms = r->timeout_ms;
	if (r->popts.io_timeout_ms > r->timeout_ms)
		r->popts.io_timeout_ms = r->timeout_ms;
	if (r->popts.connect_timeout_ms > r->timeout_ms)
		r->popts.connect_timeout_ms = r->timeout_ms;
	return r;
}

/* check_proto_report - the findings of the answers, in question order. */
int
check_proto_report(struct check_proto *r, const struct mc_check_opts *opts,
                   struct mc_findings *out, struct mc_err *err)
{
	r->opts = opts;
	if (report_versions(r, out, err) == -1 ||
	    report_ciphers(r, out, err) == -1 ||
	    report_untested(r, out, err) == -1)
		return mc_err_prefix(err, "check %s", r->ep.url);
	return 0;
}

/* check_proto_free - free r (NULL: no-op). */
void
check_proto_free(struct check_proto *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* proto_item - question i (pool item). */
static int
proto_item(void *arg, size_t i, struct mc_err *err)
{
	return check_proto_job(arg, i, err);
}

/* mc_check_protocols - probe ep for old protocols and weak suites. */
int
mc_check_protocols(const struct mc_endpoint *ep,
                   const struct mc_check_opts *opts, struct mc_findings *out,
                   struct mc_err *err)
{
	struct check_proto *r = check_proto_new(ep, opts, err);
	int rc = -1;

	if (r == NULL)
		return -1;
	if (mc_pool_run(N_JOBS, CHECK_PER_SERVER, proto_item, r, err) == -1)
		mc_err_prefix(err, "check %s", ep->url);
	else
		rc = check_proto_report(r, opts, out, err);
	check_proto_free(r);
	return rc;
}
