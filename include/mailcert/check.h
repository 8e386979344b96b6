/*
 * check.h - diagnose a live mail TLS endpoint (`mailcert check`).
 *
 * Findings have a stable code (INTERFACE.md: expired, not-yet-valid,
 * expires-soon, self-signed, name-mismatch, untrusted, incomplete-chain,
 * revoked, inactive, weak-protocol, weak-cipher, weak-signature, weak-key,
 * starttls-missing, unreachable), a severity and one sentence that says
 * what is wrong and what to do. A check that could not be made is a
 * finding with not_tested set (severity warning), never silence: "could
 * not determine" is not OK.
 *
 * Two producers fill one list: mc_check_chain() judges the served chain
 * (dates, names, trust, chain completeness with AIA fetching, revocation
 * by CRL and OCSP, signatures, keys, and the expected leaf), and
 * mc_check_protocols() probes the endpoint for old protocol versions and
 * weak cipher suites, with hand-built ClientHellos where OpenSSL cannot
 * offer what must be probed.
 *
 * Ownership: struct mc_findings owns its array; clear it with
 * mc_findings_clear(). Options borrow their strings and certificates for
 * the duration of the call. Errors (-1) are only for local failures
 * (MC_ERR_SYS, MC_ERR_CRYPTO, MC_ERR_USAGE for bad options); anything the
 * peer does is a finding.
 */
#ifndef MAILCERT_CHECK_H
#define MAILCERT_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "mailcert/err.h"
#include "mailcert/verify.h"

enum mc_severity {
	MC_SEV_OK = 0,
	MC_SEV_WARNING,
	MC_SEV_CRITICAL,
};

struct mc_finding {
	char code[24];      /* "expired", "weak-protocol", ... */
	enum mc_severity severity;
	bool not_tested;    /* the check could not be made */
	char text[512];     /* what is wrong and what to do */
};

struct mc_findings {
	struct mc_finding *v;
	size_t n;
	size_t cap;
};

struct mc_check_opts {
	const char *servername;   /* the name the chain must cover */
	const char *trust_bundle; /* CA file; NULL: the system store */
	X509 *expected;           /* --expect: the leaf that should be served; NULL: skip */
	long warn_days;           /* -1: relative to the lifetime */
	long crit_days;           /* -1: relative to the lifetime */
	time_t now;
	int timeout_ms;           /* for each probe and each fetch */
	bool fetch;               /* allow AIA/CRL/OCSP fetches over the network */
};

/* mc_findings_add - append a finding (text formatted); -1 on memory failure. */
int mc_findings_add(struct mc_findings *f, const char *code,
		    enum mc_severity severity, bool not_tested,
		    struct mc_err *err, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* mc_findings_clear - free the findings. */
void mc_findings_clear(struct mc_findings *f);

/* mc_findings_worst - the highest severity in f (MC_SEV_OK if empty). */
enum mc_severity mc_findings_worst(const struct mc_findings *f);

/* mc_severity_name - "ok", "warning", "critical". */
const char *mc_severity_name(enum mc_severity s);

/* mc_check_chain - judge a probe's served chain; appends findings. */
int mc_check_chain(const struct mc_probe_result *probe,
		   const struct mc_check_opts *opts, struct mc_findings *out,
		   struct mc_err *err);

/* mc_check_protocols - probe ep for SSLv3, TLS 1.0, TLS 1.1 (each its own
 * probe), for TLS 1.2 and 1.3 support, and for RC4, 3DES, DES, EXPORT,
 * NULL and anonymous suites; appends weak-protocol / weak-cipher findings
 * (or not-tested ones). */
int mc_check_protocols(const struct mc_endpoint *ep,
		       const struct mc_check_opts *opts,
		       struct mc_findings *out, struct mc_err *err);

/* A served certificate as `check` shows it (human and JSON output). */
struct mc_cert_desc {
	char subject[256];  /* one-line subject */
	char issuer[256];   /* one-line issuer */
	char sans[1024];    /* "DNS:a, DNS:b, IP:192.0.2.1" ("" if none) */
	char key[48];       /* "RSA 2048", "EC P-256", "Ed25519", ... */
	char sig[64];       /* signature algorithm, e.g. "ecdsa-with-SHA256" */
	char serial[128];   /* lower-case hex */
	char sha256[65];    /* lower-case hex of the DER */
	time_t not_before;
	time_t not_after;
};

/* mc_check_cert_describe - fill out for cert (MC_ERR_CRYPTO on failure). */
int mc_check_cert_describe(X509 *cert, struct mc_cert_desc *out,
			   struct mc_err *err);

/* mc_check_thresholds - the expires-soon thresholds for leaf under opts,
 * in seconds before not-after: opts->warn_days / crit_days, or (when -1)
 * 1/3 and 1/10 of the certificate's lifetime. */
void mc_check_thresholds(X509 *leaf, const struct mc_check_opts *opts,
			 long *warn_s, long *crit_s);

#endif
