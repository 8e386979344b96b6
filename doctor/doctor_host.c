/*
 * doctor_host.c - the doctor's checks of the host (state, account, hooks,
 * config file), of a cert's challenge needs and of its verify endpoints.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailcert/acme.h"
#include "mailcert/crypto.h"
#include "mailcert/hooks.h"
#include "mailcert/store.h"
#include "mailcert/verify.h"

#include "doctor/doctor_int.h"

#define PROBE_TIMEOUT_MS 8000

/* host_mode_problem - why a private file's mode st is unsafe, or NULL. */
static const char *
host_mode_problem(const struct stat *st, mode_t allowed)
{
	if ((st->st_mode & 0002) != 0)
		return "is writable by every user";
	if ((st->st_mode & 07777 & ~allowed) != 0)
		return "is readable by other users";
	return NULL;
}

/* host_private_file - path must exist with no more than mode allowed. */
static int
host_private_file(struct mc_doctor_report *rep, const char *cert,
		  const char *subject, const char *check, const char *path,
		  mode_t allowed)
{
	struct stat st;
	const char *why;
	char fix[600];

	if (lstat(path, &st) == -1)
		return doctor_add(rep, cert, subject, check, MC_DOCTOR_PROBLEM, NULL,
				  "%s: %s", path, strerror(errno));
	why = host_mode_problem(&st, allowed);
	if (why == NULL)
		return doctor_add(rep, cert, subject, check, MC_DOCTOR_OK, NULL,
				  "%s has mode %04o", path, (unsigned)(st.st_mode & 07777));
	snprintf(fix, sizeof(fix), "chmod %04o %s", (unsigned)allowed, path);
	return doctor_add(rep, cert, subject, check, MC_DOCTOR_PROBLEM, fix,
			  "%s %s (mode %04o)", path, why, (unsigned)(st.st_mode & 07777));
}

/* host_state_dir - state_dir exists (or can be created) and is not open to others. */
static int
host_state_dir(const struct mc_config *cfg, struct mc_doctor_report *rep)
{
	struct stat st;
	char fix[600];

	if (stat(cfg->state_dir, &st) == -1)
		return doctor_add(rep, "", "state_dir", "state", MC_DOCTOR_INFO, NULL,
				  "%s does not exist yet; the first run creates it "
				  "(0700)", cfg->state_dir);
	if (!S_ISDIR(st.st_mode))
		return doctor_add(rep, "", "state_dir", "state", MC_DOCTOR_PROBLEM, NULL,
				  "%s is not a directory", cfg->state_dir);
	if ((st.st_mode & 0022) != 0 || st.st_uid != geteuid()) {
		snprintf(fix, sizeof(fix), "chown %u %s && chmod go-w %s",
			 (unsigned)geteuid(), cfg->state_dir, cfg->state_dir);
		return doctor_add(rep, "", "state_dir", "state", MC_DOCTOR_PROBLEM, fix,
				  "%s is %s (owner uid %u, mode %04o): others could "
				  "swap the keys mailcert deploys", cfg->state_dir,
				  st.st_uid != geteuid() ? "not ours" : "writable by others",
				  (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	}
	if (access(cfg->state_dir, W_OK | X_OK) == -1)
		return doctor_add(rep, "", "state_dir", "state", MC_DOCTOR_PROBLEM, NULL,
				  "cannot write in %s: %s", cfg->state_dir,
				  strerror(errno));
	return doctor_add(rep, "", "state_dir", "state", MC_DOCTOR_OK, NULL,
			  "%s is a private directory (mode %04o)", cfg->state_dir,
			  (unsigned)(st.st_mode & 07777));
}

/* host_account - the account key of the configured directory. */
static int
host_account(const struct mc_config *cfg, struct mc_doctor_report *rep)
{
	char *dir, path[4200];
	EVP_PKEY *key = NULL;
	char *kid = NULL, *status = NULL;
	struct mc_err err;
	int found, rc;

	found = mc_store_account_load(cfg->state_dir, cfg->directory, &key, &kid,
				      &status, &err);
	EVP_PKEY_free(key);
	if (found == -1) {
		rc = doctor_add(rep, "", "account", "account", MC_DOCTOR_PROBLEM, NULL,
				"%s", err.msg);
	} else if (found == 0) {
		rc = doctor_add(rep, "", "account", "account", MC_DOCTOR_INFO,
				"`mailcert account register` (the first issue does it too)",
				"no ACME account for %s yet", cfg->directory);
	} else {
		dir = mc_store_account_dir(cfg->state_dir, cfg->directory, NULL);
		snprintf(path, sizeof(path), "%s/account.key", dir ? dir : "?");
		free(dir);
		rc = host_private_file(rep, "", "account", "account", path, 0600);
		if (rc == 0 && kid == NULL)
			rc = doctor_add(rep, "", "account", "account", MC_DOCTOR_INFO,
					"`mailcert account register`", "the account "
					"key for %s is not registered yet", cfg->directory);
		else if (rc == 0 && status != NULL &&
			 (strcmp(status, "deactivated") == 0 ||
			  strcmp(status, "revoked") == 0))
			rc = doctor_add(rep, "", "account", "account",
					MC_DOCTOR_PROBLEM, "`mailcert account register`",
					"the account %s for %s is %s", kid,
					cfg->directory, status);
	}
	free(kid);
	free(status);
	return rc;
}

/* host_hook_entry - one entry of a hook directory. */
static int
host_hook_entry(struct mc_doctor_report *rep, const char *path)
{
	struct stat st;
	char fix[4700];

	if (stat(path, &st) == -1)
		return doctor_add(rep, "", "hooks_dir", "hook", MC_DOCTOR_PROBLEM, NULL,
				  "%s: %s (a dangling link?)", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || access(path, X_OK) == -1) {
		snprintf(fix, sizeof(fix), "chmod +x %s (or remove it)", path);
		return doctor_add(rep, "", "hooks_dir", "hook", MC_DOCTOR_PROBLEM, fix,
				  "%s is not an executable file: it will not run", path);
	}
	if ((st.st_mode & 0002) != 0) {
		snprintf(fix, sizeof(fix), "chmod o-w %s", path);
		return doctor_add(rep, "", "hooks_dir", "hook", MC_DOCTOR_PROBLEM, fix,
				  "%s is writable by every user, and runs as root", path);
	}
	return doctor_add(rep, "", "hooks_dir", "hook", MC_DOCTOR_OK, NULL,
			  "%s is executable", path);
}

/* host_hooks - every entry of hooks_dir/{pre,reload,deploy,post,failure}.d. */
static int
host_hooks(const struct mc_config *cfg, struct mc_doctor_report *rep)
{
	static const char *const stages[] = {"pre", "reload", "deploy", "post",
					      "failure"};
	char dir[4200], path[4600];
	struct dirent *de;
	size_t i;
	DIR *d;

	for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/%s.d", cfg->hooks_dir, stages[i]);
		d = opendir(dir);
		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (mc_hooks_name_ignored(de->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (host_hook_entry(rep, path) == -1) {
				closedir(d);
				return -1;
			}
		}
		closedir(d);
	}
	return 0;
}

/* host_config_file - a config holding the EAB HMAC key is private. */
static int
host_config_file(const struct mc_config *cfg, struct mc_doctor_report *rep)
{
	if (cfg->eab_hmac_key == NULL)
		return 0;
	return host_private_file(rep, "", "config", "config", cfg->path, 0640);
}

/* doctor_host - state_dir, account key, hooks_dir, the config file. */
int
doctor_host(const struct mc_config *cfg, struct mc_doctor_report *rep)
{
	if (host_config_file(cfg, rep) == -1 || host_state_dir(cfg, rep) == -1 ||
	    host_account(cfg, rep) == -1)
		return -1;
	return host_hooks(cfg, rep);
}

/* host_executable - a hook program named by key of cc. */
static int
host_executable(const struct mc_cert_conf *cc, const char *key, const char *path,
		struct mc_doctor_report *rep)
{
	const char *check = strcmp(key, "dns_hook") == 0 ? "dns-hook" : "deploy-hook";
	struct stat st;

	if (stat(path, &st) == -1)
		return doctor_add(rep, cc->name, key, check, MC_DOCTOR_PROBLEM, NULL,
				  "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || access(path, X_OK) == -1)
		return doctor_add(rep, cc->name, key, check, MC_DOCTOR_PROBLEM,
				  "chmod +x it", "%s is not an executable file", path);
	return doctor_add(rep, cc->name, key, check, MC_DOCTOR_OK, NULL,
			  "%s is executable", path);
}

/* host_listen - the responder's address can be bound now. */
static int
host_listen(const struct mc_cert_conf *cc, const char *key, const char *spec,
	    struct mc_doctor_report *rep)
{
	struct mc_err err;

	if (mc_acme_listen_probe(spec, key, &err) == 0)
		return doctor_add(rep, cc->name, key, "listen", MC_DOCTOR_OK, NULL,
				  "%s can be bound", spec);
	return doctor_add(rep, cc->name, key, "listen", MC_DOCTOR_PROBLEM,
			  strcmp(key, "http_listen") == 0 ?
			  "when a web server holds the port, set `webroot =` to its "
			  "document root; else free the port or change http_listen" :
			  "free the port during renewals (pre/post hooks) or use "
			  "http-01", "%s", err.msg);
}

/* host_webroot - the webroot exists and its challenge folder can be written. */
static int
host_webroot(const struct mc_cert_conf *cc, struct mc_doctor_report *rep)
{
	char dir[4200];
	struct stat st;

	if (stat(cc->webroot, &st) == -1 || !S_ISDIR(st.st_mode))
		return doctor_add(rep, cc->name, "webroot", "webroot", MC_DOCTOR_PROBLEM,
				  "set webroot to the web server's document root",
				  "%s is not a directory", cc->webroot);
	snprintf(dir, sizeof(dir), "%s/.well-known/acme-challenge", cc->webroot);
	if (stat(dir, &st) == 0 ? access(dir, W_OK | X_OK) == -1
				: access(cc->webroot, W_OK | X_OK) == -1)
		return doctor_add(rep, cc->name, "webroot", "webroot", MC_DOCTOR_PROBLEM,
				  NULL, "cannot write the challenge files under %s: %s",
				  cc->webroot, strerror(errno));
	return doctor_add(rep, cc->name, "webroot", "webroot", MC_DOCTOR_OK, NULL,
			  "challenge files can be written under %s/.well-known/"
			  "acme-challenge (the web server must serve them for %s)",
			  cc->webroot, cc->names[0]);
}

/* doctor_challenge - what cc's challenge needs, and its deploy_hook. */
int
doctor_challenge(const struct mc_cert_conf *cc, struct mc_doctor_report *rep)
{
	int rc = 0;

	switch (cc->challenge) {
	case MC_CHALLENGE_HTTP01:
		rc = cc->webroot ? host_webroot(cc, rep)
				 : host_listen(cc, "http_listen", cc->http_listen, rep);
		break;
	case MC_CHALLENGE_TLSALPN01:
		rc = host_listen(cc, "tls_alpn_listen", cc->tls_alpn_listen, rep);
		break;
	case MC_CHALLENGE_DNS01: /* without a hook: nsupdate_server (DANE work) */
		if (cc->dns_hook != NULL)
			rc = host_executable(cc, "dns_hook", cc->dns_hook, rep);
		break;
	}
	if (rc == 0 && cc->deploy_hook != NULL)
		rc = host_executable(cc, "deploy_hook", cc->deploy_hook, rep);
	return rc;
}

/* doctor_cert_state - the current version's key file. */
int
doctor_cert_state(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		  struct mc_doctor_report *rep)
{
	char path[4200];
	struct mc_err err;
	unsigned cur = 0;
	int found;

	found = mc_store_current(cfg->state_dir, cc->name, &cur, &err);
	if (found == -1)
		return doctor_add(rep, cc->name, "state", "state", MC_DOCTOR_PROBLEM, NULL,
				  "%s", err.msg);
	if (found == 0)
		return doctor_add(rep, cc->name, "state", "state", MC_DOCTOR_INFO,
				  NULL, "no certificate stored yet (`mailcert issue %s`)",
				  cc->name);
	if (mc_store_path(cfg->state_dir, cc->name, cur, "privkey.pem", path,
			  sizeof(path), &err) == -1)
		return doctor_add(rep, cc->name, "state", "state", MC_DOCTOR_PROBLEM,
				  NULL, "%s", err.msg);
	return host_private_file(rep, cc->name, "state", "state", path, 0600);
}

/* host_current_leaf - the current version's leaf of cc (new), or NULL. */
static X509 *
host_current_leaf(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		  unsigned *cur)
{
	STACK_OF(X509) *chain;
	X509 *leaf = NULL;

	if (mc_store_current(cfg->state_dir, cc->name, cur, NULL) != 1)
		return NULL;
	chain = mc_store_load_chain(cfg->state_dir, cc->name, *cur, NULL);
	if (chain != NULL && sk_X509_num(chain) > 0) {
		leaf = sk_X509_value(chain, 0);
		X509_up_ref(leaf);
	}
	sk_X509_pop_free(chain, X509_free);
	return leaf;
}

/* host_endpoint - probe one endpoint once (SNI: the first name; a probe
 * that offers only the first key type). */
static int
host_endpoint(const struct mc_cert_conf *cc, const char *url,
	      const struct mc_endpoint *ep, X509 *current, unsigned cur,
	      struct mc_doctor_report *rep)
{
	struct mc_probe_result res;
	struct mc_probe_opts opts;
	struct mc_x509_info info;
	char subject[400], fix[300];
	struct mc_err err;
	X509 *leaf;
	int rc;

	snprintf(subject, sizeof(subject), "verify %s", url);
	mc_probe_opts_init(&opts);
	opts.servername = cc->names[0];
	opts.total_timeout_ms = PROBE_TIMEOUT_MS;
	/* the first key type's certificate (a dual endpoint serves both) */
	opts.key_alg = mc_key_type_is_ec(cc->key_type) ? MC_KEY_ALG_ECDSA
						      : MC_KEY_ALG_RSA;
	memset(&res, 0, sizeof(res));
	if (mc_verify_probe(ep, &opts, &res, &err) == -1)
		return doctor_add(rep, cc->name, subject, "endpoint", MC_DOCTOR_PROBLEM,
				  NULL, "%s", err.msg);
	leaf = res.chain ? sk_X509_value(res.chain, 0) : NULL;
	if (res.outcome != MC_PROBE_OK || leaf == NULL || mc_x509_info(leaf, &info, NULL) == -1)
		rc = doctor_add(rep, cc->name, subject, "endpoint", MC_DOCTOR_PROBLEM,
				"check that the daemon listens there with TLS",
				"does not answer with TLS: %s",
				res.reason[0] ? res.reason : "no certificate served");
	else if (current == NULL)
		rc = doctor_add(rep, cc->name, subject, "endpoint", MC_DOCTOR_OK, NULL,
				"answers with TLS (serves serial %s, %s); nothing stored "
				"yet to compare", info.serial, info.subject);
	else if (mc_verify_leaf_matches(leaf, current))
		rc = doctor_add(rep, cc->name, subject, "endpoint", MC_DOCTOR_OK, NULL,
				"serves the current version %04u", cur);
	else {
		snprintf(fix, sizeof(fix), "`mailcert deploy %s` once the daemon reads "
			 "mailcert's files", cc->name);
		rc = doctor_add(rep, cc->name, subject, "endpoint", MC_DOCTOR_PROBLEM,
				fix, "serves serial %s (%s), not the current version %04u",
				info.serial, info.subject, cur);
	}
	mc_probe_result_clear(&res);
	return rc;
}

/* doctor_endpoints - every verify endpoint of cc. */
int
doctor_endpoints(const struct mc_config *cfg, const struct mc_cert_conf *cc,
		 struct mc_doctor_report *rep)
{
	unsigned cur = 0;
	X509 *current;
	size_t i;
	int rc = 0;

	if (cc->n_verify == 0)
		return doctor_add(rep, cc->name, "verify", "endpoint", MC_DOCTOR_WARN,
				  "add e.g. `verify = smtp://127.0.0.1 imaps://127.0.0.1`",
				  "no verify endpoints: a deploy cannot be proven live");
	current = host_current_leaf(cfg, cc, &cur);
	for (i = 0; i < cc->n_verify && rc == 0; i++)
		rc = host_endpoint(cc, cc->verify[i], &cc->endpoints[i], current,
				   cur, rep); /* parsed when the config loaded */
	X509_free(current);
	return rc;
}
