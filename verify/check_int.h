/*
 * check_int.h - internals shared by the parts of `check` in verify/ (not
 * a public contract): the severity of each weakness under a profile and
 * the advice that goes with it, for the daemon the greeting named.
 */
#ifndef MAILCERT_VERIFY_CHECK_INT_H
#define MAILCERT_VERIFY_CHECK_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "mailcert/check.h"

/* Connections to one endpoint at once during its check (its questions
 * run in a pool of this many): a small server is not flooded. Across the
 * endpoints of a run, opts->limit (MC_CHECK_PER_SERVER per address)
 * bounds every probe connection. */
#define CHECK_PER_SERVER MC_CHECK_PER_SERVER

/* The protocol questions of one endpoint (check_proto.c), for a pool:
 * check_proto_new, then check_proto_job(r, i) for every i below
 * CHECK_PROTO_JOBS (from any threads, each i once, in any order), then
 * check_proto_report (findings in question order), check_proto_free. */
#define CHECK_PROTO_JOBS 6
struct check_proto;

/* check_proto_new - the questions about ep (opts borrowed for the call:
 * servername, timeout, cache); NULL with MC_ERR_SYS. */
struct check_proto *check_proto_new(const struct mc_endpoint *ep,
                                    const struct mc_check_opts *opts,
                                    struct mc_err *err);

/* check_proto_job - ask question i; -1 only for a local failure. */
int check_proto_job(struct check_proto *r, size_t i, struct mc_err *err);

/* check_proto_report - append the findings of the answers to out, as if
 * the questions had been asked one after the other; opts gives profile
 * and daemon for severity and advice. */
int check_proto_report(struct check_proto *r, const struct mc_check_opts *opts,
                       struct mc_findings *out, struct mc_err *err);

/* check_proto_free - free r (NULL: no-op). */
void check_proto_free(struct check_proto *r);

/* Weak cipher classes, in the order check_proto.c probes them. */
enum check_cipher_class {
	CC_RC4 = 0,
	CC_3DES,
	CC_DES,
	CC_EXPORT,
	CC_NULL,
	CC_ANON,
	CC_COUNT
};

/* check_sev_protocol - severity of an accepted SSLv3 (sslv3) or TLS
 * 1.0/1.1 under profile. */
enum mc_severity check_sev_protocol(enum mc_check_profile profile, bool sslv3);

/* check_sev_cipher - severity of an accepted suite of class cc. */
enum mc_severity check_sev_cipher(enum mc_check_profile profile,
                                  enum check_cipher_class cc);

/* check_advice_protocol - what to do about an accepted old protocol, for
 * the daemon and profile of opts, into buf (one or two sentences). */
void check_advice_protocol(const struct mc_check_opts *opts, char *buf,
                           size_t size);

/* check_advice_cipher - what to do about an accepted suite of class cc. */
void check_advice_cipher(const struct mc_check_opts *opts,
                         enum check_cipher_class cc, char *buf, size_t size);

/* check_advice_tls - where the daemon's TLS certificate settings and log
 * are, for a failed handshake or STARTTLS, into buf. */
void check_advice_tls(enum mc_server_kind server, char *buf, size_t size);

#endif
