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
