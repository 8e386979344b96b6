/*
 * check.h - diagnose a live mail TLS endpoint, or a certificate file
 * (`mailcert check`).
 *
 * Findings have a stable code (INTERFACE.md: expired, not-yet-valid,
 * expires-soon, self-signed, name-mismatch, untrusted, incomplete-chain,
 * chain-order, revoked, inactive, weak-protocol, weak-cipher,
 * weak-signature, weak-key, starttls-missing, unreachable; DANE adds its
 * own later), a severity and one sentence that says what is wrong and
 * what to do. A check that could not be made is a finding with
 * not_tested set, never silence and never the failure's own name: its
 * label says "revocation not tested", not "revoked". A severity-ok
 * finding is a remark (e.g. "revocation not published" for a private CA
 * whose certificates name no CRL or OCSP URL).
 *
 * mc_check_endpoint() runs the whole check of one endpoint: the default
 * probe, ECDSA-only and RSA-only probes (every certificate of a dual
 * RSA + ECDSA endpoint, deduplicated by SHA-256), mc_check_chain() on
 * each served chain and mc_check_protocols(). mc_check_pem() runs the
 * chain checks on a PEM file. Severities of weak protocols and suites
 * follow the profile (mx, submission, strict; see INTERFACE.md), and the
 * advice names the daemon the greeting revealed (Postfix, Exim, Dovecot).
 * The probes of one endpoint run in parallel, at most
 * MC_CHECK_PER_SERVER connections at once, and opts->limit bounds the
 * connections to one server address across all the endpoints a run
 * checks at once; the findings do not depend on timing. Independent
 * reports may be made on several threads at once.
 *
 * Ownership: struct mc_findings owns its array (mc_findings_clear());
 * struct mc_check_report owns its probes' chains and its findings
 * (mc_check_report_clear()). Options borrow their strings and
 * certificates for the duration of the call. Errors (-1) are only for
 * local failures (MC_ERR_SYS, MC_ERR_CRYPTO, MC_ERR_USAGE for bad
 * options, MC_ERR_INPUT for a PEM file without a certificate); anything
 * the peer does is a finding.
 */
#ifndef MAILCERT_CHECK_H
#define MAILCERT_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "mailcert/err.h"
#include "mailcert/verify.h"

struct mc_limit;

enum mc_severity {
	MC_SEV_OK = 0,
	MC_SEV_WARNING,
	MC_SEV_CRITICAL,
};

/* How strictly weak protocols and suites are judged (INTERFACE.md). */
enum mc_check_profile {
	MC_PROFILE_MX = 0,     /* opportunistic SMTP (RFC 7435): TLS 1.0/1.1,
	                          anonymous suites and 3DES are warnings */
	MC_PROFILE_SUBMISSION, /* 465, 587, IMAP, POP3, Sieve: TLS 1.0/1.1,
	                          aNULL and 3DES warnings; SSLv3, RC4, DES,
	                          EXPORT, NULL critical */
	MC_PROFILE_STRICT,     /* every weakness is critical */
};

struct mc_finding {
	char code[24];      /* "expired", "weak-protocol", ... */
	char label[48];     /* what summaries show: the code, or e.g.
	                       "revocation not tested" */
	enum mc_severity severity;
	bool not_tested;    /* the check could not be made */
	int chain;          /* index of the served chain it concerns
	                       (mc_check_report.served), -1: the endpoint */
	char text[768];     /* what is wrong and what to do */
};

struct mc_findings {
	struct mc_finding *v;
	size_t n;
	size_t cap;
};

struct mc_check_opts {
	const char *servername;   /* the name the chain must cover, A-label
	                             form (mc_name_to_alabel) or an IP */
	const char *trust_bundle; /* CA file; NULL: the system store */
	X509 *expected;           /* --expect: the leaf that should be served; NULL: skip */
	long warn_days;           /* -1: relative to the lifetime */
	long crit_days;           /* -1: relative to the lifetime */
	time_t now;
	int timeout_ms;           /* for each probe and each fetch */
	bool fetch;               /* allow AIA/CRL/OCSP fetches over the network */
	enum mc_check_profile profile;
	enum mc_server_kind server; /* for advice; mc_check_endpoint sets it
	                               from the greeting */
	struct mc_probe_cache *cache; /* borrowed: TLS contexts shared by the
	                                 probes (verify.h); NULL: per probe */
	X509_STORE *store; /* borrowed: the trust store of trust_bundle (or
	                      the system's), loaded once for a run by
	                      mc_check_store_new; NULL: loaded per chain */
	struct mc_limit *limit; /* borrowed: the run's bound on connections
	                           at once per server address (mailcert/
	                           pool.h; `check` makes it with
	                           MC_CHECK_PER_SERVER), shared by every probe
	                           of every endpoint; NULL: only the bound of
	                           one endpoint's own probes */
};

/* Connections at once to one server during a `check` run, whatever the
 * number of its endpoints checked at once: a small server is not
 * flooded. A server is an IP address (after resolution): smtp://h:25,
 * submission://h:587 and imaps://h:993 share the bound, and so do two
 * names of one address. */
#define MC_CHECK_PER_SERVER 4

/* mc_check_store_new - the trust store opts->trust_bundle names, or the
 * system's (new reference: X509_STORE_free). Loading one costs ~0.15 ms
 * of CPU per certificate it holds (OpenSSL 3), 20-40 ms for a system
 * bundle: a run of many endpoints loads it once and shares it (a store
 * is safe to verify with from several threads). MC_ERR_CRYPTO when the
 * file cannot be read. */
X509_STORE *mc_check_store_new(const struct mc_check_opts *opts,
                               struct mc_err *err);

/* mc_findings_add - append a finding (text formatted; label = code, or
 * "<what> not tested" when not_tested); -1 on memory failure. */
int mc_findings_add(struct mc_findings *f, const char *code,
		    enum mc_severity severity, bool not_tested,
		    struct mc_err *err, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* mc_findings_relabel - give the last finding another label. */
void mc_findings_relabel(struct mc_findings *f, const char *label);

/* mc_findings_clear - free the findings. */
void mc_findings_clear(struct mc_findings *f);

/* mc_findings_worst - the highest severity in f (MC_SEV_OK if empty). */
enum mc_severity mc_findings_worst(const struct mc_findings *f);

/* mc_severity_name - "ok", "warning", "critical". */
const char *mc_severity_name(enum mc_severity s);

/* mc_check_profile_parse - "mx", "submission", "strict"; 0 or -1. */
int mc_check_profile_parse(const char *text, enum mc_check_profile *out);

/* mc_check_profile_name - "mx", "submission", "strict" (static). */
const char *mc_check_profile_name(enum mc_check_profile p);

/* mc_check_profile_default - mx for smtp:// on port 25, else submission. */
enum mc_check_profile mc_check_profile_default(const struct mc_endpoint *ep);

/* mc_check_chain - judge a probe's served chain; appends findings. */
int mc_check_chain(const struct mc_probe_result *probe,
		   const struct mc_check_opts *opts, struct mc_findings *out,
		   struct mc_err *err);

/* mc_check_protocols - probe ep for SSLv3, TLS 1.0, TLS 1.1 (each its own
 * probe), for TLS 1.2 and 1.3 support, and for RC4, 3DES, DES, EXPORT,
 * NULL and anonymous suites; appends weak-protocol / weak-cipher findings
 * (or not-tested ones) with the severity of opts->profile. */
int mc_check_protocols(const struct mc_endpoint *ep,
		       const struct mc_check_opts *opts,
		       struct mc_findings *out, struct mc_err *err);

#define MC_CHECK_SERVED_MAX 4

/* One distinct certificate chain an endpoint (or a file) served. */
struct mc_check_served {
	struct mc_probe_result probe; /* the first probe that got this
	                                 leaf: owns chain and OCSP */
	unsigned key_algs;            /* 1u << enum mc_key_alg of each probe
	                                 that got it; 0 for a file */
};

struct mc_check_report {
	struct mc_endpoint ep;        /* zeroed for a file */
	enum mc_check_profile profile;
	enum mc_server_kind server;   /* from the greeting */
	struct mc_probe_result probe; /* the default probe's outcome,
	                                 reason, greeting, timing (its chain
	                                 moved to served[0]) */
	struct mc_check_served served[MC_CHECK_SERVED_MAX];
	size_t n_served;
	struct mc_findings findings;  /* all findings, chain tagged */
};

/* mc_check_endpoint - the whole check of ep under opts (see above) into
 * out (clear it with mc_check_report_clear, also after -1). */
int mc_check_endpoint(const struct mc_endpoint *ep,
                      const struct mc_check_opts *opts,
                      struct mc_check_report *out, struct mc_err *err);

/* mc_check_pem - the chain checks of a PEM text (certificates, leaf
 * first; a private key starts a new chain, as in a Postfix chain file
 * with an RSA and an ECDSA key) into out. The caller cleanses pem. */
int mc_check_pem(const char *pem, size_t len, const struct mc_check_opts *opts,
                 struct mc_check_report *out, struct mc_err *err);

/* mc_check_report_clear - free what out owns and zero it. */
void mc_check_report_clear(struct mc_check_report *out);

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
