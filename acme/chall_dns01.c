/*
 * chall_dns01.c - the dns-01 challenge (see acme/challenge.h): the TXT
 * value, and the hook that publishes and removes it.
 *
 * The hook runs through mc_proc_run() without a shell, with the fixed
 * clean environment, as `HOOK add|del FQDN VALUE`. The TXT value is public
 * once published, so it may appear in debug logs; the key authorization
 * it is derived from never does.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "acme/challenge.h"
#include "mailcert/crypto.h"
#include "mailcert/dns.h"
#include "mailcert/log.h"
#include "mailcert/proc.h"

/* acme_dns01_value - base64url(SHA-256(keyauth)), a new string. */
char *
acme_dns01_value(const char *keyauth, struct mc_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char *value;

	if (keyauth == NULL || keyauth[0] == '\0') {
		mc_err_set(err, MC_ERR_INPUT,
		           "dns-01: empty key authorization");
		return NULL;
	}
	if (EVP_Digest(keyauth, strlen(keyauth), md, &n, EVP_sha256(), NULL) !=
	    1) {
		mc_err_openssl(err, "dns-01: SHA-256");
		return NULL;
	}
	value = mc_b64url(md, n, err);
	OPENSSL_cleanse(md, sizeof(md));
	return value;
}

/* dns01_check - the arguments a hook call needs. */
static int
dns01_check(const char *hook, const char *op, const char *fqdn,
            const char *value, struct mc_err *err)
{
	if (hook == NULL || hook[0] == '\0')
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "dns-01 needs a dns_hook");
	if (op == NULL || (strcmp(op, "add") != 0 && strcmp(op, "del") != 0))
		return mc_err_set(err, MC_ERR_CHALLENGE,
		                  "dns-01 hook %s: unknown "
		                  "operation \"%.20s\"",
		                  hook, op ? op : "");
	if (fqdn == NULL || fqdn[0] == '\0' || value == NULL ||
	    value[0] == '\0')
		return mc_err_set(err, MC_ERR_CHALLENGE,
		                  "dns-01 hook %s %s: "
		                  "empty name or value",
		                  hook, op);
	return 0;
}

/* acme_dns01_hook - run `hook op fqdn value` with a timeout. */
int
acme_dns01_hook(const char *hook, const char *op, const char *fqdn,
                const char *value, long timeout, struct mc_err *err)
{
	const char *argv[] = {hook, op, fqdn, value, NULL};
	struct mc_proc_result res;
	char what[MC_PROC_EXCERPT_MAX + 128];
	int rc = -1;

	memset(&res, 0, sizeof(res));
	if (dns01_check(hook, op, fqdn, value, err) == -1)
		return -1;
	mc_log_info("dns-01: %s TXT record %s with %s", op, fqdn, hook);
	mc_log_debug("dns-01: TXT value for %s is %s", fqdn, value);
	if (mc_proc_run(argv, NULL, timeout, &res, err) == -1)
		return mc_err_prefix(err, "dns-01 hook %s %s %s", hook, op,
		                     fqdn);
	if (!mc_proc_failed(&res)) {
		rc = 0;
		goto out;
	}
	mc_proc_summary(&res, timeout, what, sizeof(what));
	mc_err_set(err, MC_ERR_CHALLENGE, "dns-01 hook %s %s %s %s", hook, op,
	           fqdn, what);
out:
	mc_proc_result_clear(&res);
	return rc;
}

/* acme_dns01_publish - the hook, else an RFC 2136 update. */
int
acme_dns01_publish(const struct mc_acme_challenge_conf *conf, const char *op,
                   const char *fqdn, const char *value, struct mc_err *err)
{
	struct mc_dns_update_conf up = {conf->nsupdate_server, conf->nsupdate_key,
	                                0};

	if (conf->dns_hook != NULL && conf->dns_hook[0] != '\0')
		return acme_dns01_hook(conf->dns_hook, op, fqdn, value,
		                       conf->hook_timeout, err);
	if (conf->nsupdate_server == NULL)
		return mc_err_set(err, MC_ERR_CONFIG,
		                  "dns-01 needs a dns_hook or nsupdate_server");
	if (mc_dns_update(&up, strcmp(op, "add") == 0 ? MC_DNS_ADD : MC_DNS_DEL,
	                  fqdn, "TXT", value, err) == -1) {
		err->cat = MC_ERR_CHALLENGE;
		return mc_err_prefix(err, "dns-01 nsupdate");
	}
	return 0;
}
