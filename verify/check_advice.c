/*
 * check_advice.c - how bad a weak protocol or suite is under a profile,
 * and what to change in the daemon that serves it.
 *
 * Profiles (INTERFACE.md): on port 25 (mx) TLS is opportunistic (RFC
 * 7435): a sender that would use TLS 1.0 or an anonymous suite would
 * otherwise send in plaintext, and Postfix documents exactly these as its
 * defaults (postconf(5): smtpd_tls_protocols, and "it is very unlikely
 * that you need to exclude anonymous ciphers" for opportunistic TLS), so
 * they are warnings there. For submission and mailbox access TLS 1.0/1.1,
 * aNULL and 3DES are warnings and SSLv3, RC4, DES, EXPORT and NULL are
 * critical; strict makes every weakness critical.
 *
 * Advice names one daemon, the one the greeting named; an unknown daemon
 * gets a general sentence, not three parameter lists at once.
 */
#include <stdio.h>
#include <string.h>

#include "verify/check_int.h"

/* Tokens that remove one class in each daemon's cipher settings (NULL:
 * the library has no such suites at all). */
static const struct {
	const char *name;
	const char *postfix; /* smtpd_tls_exclude_ciphers */
	const char *gnutls;  /* Exim/GnuTLS tls_require_ciphers priority */
	const char *openssl; /* cipher string (Exim/OpenSSL, Dovecot) */
} cc_tokens[CC_COUNT] = {
    [CC_RC4] = {"RC4", "RC4", "-ARCFOUR-128", "!RC4"},
    [CC_3DES] = {"3DES", "3DES", "-3DES-CBC", "!3DES"},
    [CC_DES] = {"DES", "DES", NULL, "!DES"},
    [CC_EXPORT] = {"EXPORT", "EXPORT", NULL, "!EXPORT"},
    [CC_NULL] = {"NULL", "eNULL", "-NULL", "!eNULL"},
    [CC_ANON] = {"anonymous (aNULL)", "aNULL", "-ANON-DH:-ANON-ECDH",
                 "!aNULL"},
};

/* check_sev_protocol - severity of SSLv3 or TLS 1.0/1.1 under profile. */
enum mc_severity
check_sev_protocol(enum mc_check_profile profile, bool sslv3)
{
	if (profile == MC_PROFILE_STRICT || sslv3)
		return MC_SEV_CRITICAL;
	return MC_SEV_WARNING;
}

/* check_sev_cipher - severity of an accepted suite of class cc. */
enum mc_severity
check_sev_cipher(enum mc_check_profile profile, enum check_cipher_class cc)
{
	if (profile == MC_PROFILE_STRICT)
		return MC_SEV_CRITICAL;
	return cc == CC_ANON || cc == CC_3DES ? MC_SEV_WARNING
	                                      : MC_SEV_CRITICAL;
}

#define OPPORTUNISTIC                                                        \
	"On port 25 TLS is opportunistic (RFC 7435): a sender that would "  \
	"use it would otherwise send in plaintext, so this is only a "      \
	"warning"

/* check_advice_protocol - what to do about an accepted old protocol. */
void
check_advice_protocol(const struct mc_check_opts *opts, char *buf,
                      size_t size)
{
	bool mx = opts->profile == MC_PROFILE_MX;

	switch (opts->server) {
	case MC_SERVER_POSTFIX:
		snprintf(buf, size, "%s%s",
		         mx ? "Postfix allows it by default (postconf(5) "
		              "smtpd_tls_protocols). " OPPORTUNISTIC
		              ". To drop it anyway set "
		              "smtpd_tls_protocols = >=TLSv1.2 in main.cf"
		            : "set smtpd_tls_protocols = >=TLSv1.2 and "
		              "smtpd_tls_mandatory_protocols = >=TLSv1.2 in "
		              "main.cf (or -o in master.cf for this service)",
		         " and reload Postfix");
		break;
	case MC_SERVER_EXIM:
		snprintf(buf, size, "%s%s",
		         mx ? "Exim allows what its TLS library allows by "
		              "default. " OPPORTUNISTIC ". To drop it anyway "
		              "set "
		            : "set ",
		         "tls_require_ciphers = NORMAL:-VERS-SSL3.0:"
		         "-VERS-TLS1.0:-VERS-TLS1.1 (GnuTLS, as in Debian's "
		         "exim4) or openssl_options = +no_sslv3 +no_tlsv1 "
		         "+no_tlsv1_1 (OpenSSL builds) and restart Exim");
		break;
	case MC_SERVER_DOVECOT:
		snprintf(buf, size, "set ssl_min_protocol = TLSv1.2 in "
		                    "Dovecot's configuration and reload it");
		break;
	default:
		snprintf(buf, size, "%s",
		         mx ? OPPORTUNISTIC ". To drop it anyway allow only "
		              "TLS 1.2 and newer in the server's TLS settings"
		            : "allow only TLS 1.2 and newer in the server's "
		              "TLS settings");
	}
}

/* advice_exim_cipher - Exim: the GnuTLS priority and OpenSSL string. */
static void
advice_exim_cipher(enum check_cipher_class cc, char *buf, size_t size)
{
	if (cc_tokens[cc].gnutls == NULL)
		snprintf(buf, size,
		         "only an OpenSSL build of Exim offers these: append "
		         ":%s to tls_require_ciphers and restart Exim",
		         cc_tokens[cc].openssl);
	else
		snprintf(buf, size,
		         "set tls_require_ciphers = NORMAL:%s (GnuTLS, as in "
		         "Debian's exim4; OpenSSL builds: append :%s) and "
		         "restart Exim",
		         cc_tokens[cc].gnutls, cc_tokens[cc].openssl);
}

/* advice_postfix_anon - Postfix's own words on anonymous suites on 25. */
#define POSTFIX_ANON_MX                                                      \
	"this is Postfix's default, and postconf(5) says it is very "       \
	"unlikely that you need to exclude anonymous ciphers for "          \
	"opportunistic TLS: senders that verify certificates (DANE, "       \
	"MTA-STS) never choose them and the others gain encryption. No "    \
	"change is needed; to drop them anyway set "                        \
	"smtpd_tls_exclude_ciphers = aNULL"

/* check_advice_cipher - what to do about an accepted suite of class cc. */
void
check_advice_cipher(const struct mc_check_opts *opts,
                    enum check_cipher_class cc, char *buf, size_t size)
{
	switch (opts->server) {
	case MC_SERVER_POSTFIX:
		if (cc == CC_ANON && opts->profile == MC_PROFILE_MX)
			snprintf(buf, size, "%s", POSTFIX_ANON_MX);
		else
			snprintf(buf, size,
			         "add %s to smtpd_tls_exclude_ciphers and "
			         "smtpd_tls_mandatory_exclude_ciphers in "
			         "main.cf and reload Postfix",
			         cc_tokens[cc].postfix);
		break;
	case MC_SERVER_EXIM:
		advice_exim_cipher(cc, buf, size);
		break;
	case MC_SERVER_DOVECOT:
		snprintf(buf, size,
		         "append :%s to ssl_cipher_list in Dovecot's "
		         "configuration and reload it",
		         cc_tokens[cc].openssl);
		break;
	default:
		snprintf(buf, size,
		         "disable %s suites in the server's TLS cipher "
		         "settings%s",
		         cc_tokens[cc].name,
		         cc == CC_ANON && opts->profile == MC_PROFILE_MX
		             ? " (on port 25 they only matter to senders "
		               "that would otherwise send in plaintext)"
		             : "");
	}
}

/* check_advice_tls - where the TLS settings and the log are. */
void
check_advice_tls(enum mc_server_kind server, char *buf, size_t size)
{
	switch (server) {
	case MC_SERVER_POSTFIX:
		snprintf(buf, size, "check smtpd_tls_chain_files (or "
		                    "smtpd_tls_cert_file and smtpd_tls_key_file) "
		                    "with postconf and the Postfix log");
		break;
	case MC_SERVER_EXIM:
		snprintf(buf, size, "check tls_certificate and tls_privatekey "
		                    "(exim -bP) and Exim's mainlog and paniclog");
		break;
	case MC_SERVER_DOVECOT:
		snprintf(buf, size, "check ssl_cert and ssl_key (doveconf -n: "
		                    "the files must exist, be readable and the "
		                    "key must match the certificate) and the "
		                    "Dovecot log");
		break;
	default:
		snprintf(buf, size, "check the server's TLS certificate and key "
		                    "settings and its log");
	}
}
