/*
 * cmd_tlsa.c - `mailcert tlsa NAME [--json]`: the DANE TLSA records (3 1 1)
 * of the current key and of the staged next key (made now when missing),
 * for every `tlsa` name of the cert, as zone-file lines.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mailcert/dane.h"
#include "mailcert/lock.h"

/* tlsa_print_key - the lines (or JSON objects, into arr) of one key. */
static void
tlsa_print_key(struct cli *cli, const struct mc_cert_conf *cc,
	       const char *which, enum mc_key_type type, const char *spki,
	       json_t *arr)
{
	char rec[80];
	size_t i;

	if (spki[0] == '\0')
		return;
	snprintf(rec, sizeof(rec), "3 1 1 %s", spki);
	if (!cli->json)
		printf("; %s: %s %s key, SPKI SHA-256 %s\n", cc->name, which,
		       mc_key_type_name(type), spki);
	for (i = 0; i < cc->n_tlsa; i++) {
		if (!cli->json)
			printf("%s. IN TLSA %s\n", cc->tlsa[i], rec);
		else
			json_array_append_new(arr, json_pack(
				"{s:s, s:s, s:s, s:s, s:s}", "name", cc->tlsa[i],
				"key", which, "key_type", mc_key_type_name(type),
				"spki_sha256", spki, "record", rec));
	}
}

/* tlsa_print - the zone-file lines (or JSON) of the records: the current
 * keys, then the next keys (dual certificates: both key types each). */
static void
tlsa_print(struct cli *cli, const struct mc_cert_conf *cc,
	   const struct mc_dane_records *r)
{
	json_t *arr = json_array();
	size_t k;

	for (k = 0; k < r->n; k++)
		tlsa_print_key(cli, cc, "current", r->type[k], r->current[k], arr);
	for (k = 0; k < r->n; k++)
		tlsa_print_key(cli, cc, "next", r->type[k], r->next[k], arr);
	if (cli->json)
		cli_print_json(json_pack("{s:s, s:o}", "cert", cc->name, "records", arr));
	else
		json_decref(arr);
}

/* cli_cmd_tlsa - `tlsa NAME`. */
int
cli_cmd_tlsa(struct cli *cli, int argc, char **argv)
{
	struct mc_config *cfg = NULL;
	const struct mc_cert_conf *cc;
	struct mc_dane_records recs;
	struct mc_err err;
	int lock = -1, rc = 0;

	mc_err_clear(&err);
	if (cli_load_config(cli, &cfg, &err) == -1 ||
	    (cc = cli_cert_arg(cfg, "tlsa", argc, argv, &err)) == NULL)
		goto fail;
	if (cc->n_tlsa == 0) {
		mc_err_set(&err, MC_ERR_USAGE, "tlsa: [cert %s] has no tlsa names; "
			   "add e.g. tlsa = _25._tcp.%s", cc->name, cc->names[0]);
		goto fail;
	}
	if ((lock = mc_lock_take(cfg->state_dir, &err)) == -1 ||
	    mc_dane_records(cfg, cc, &recs, &err) == -1)
		goto fail;
	if (recs.n == 0) {
		mc_err_set(&err, MC_ERR_USAGE, "tlsa: %s has no certificate yet; run "
			   "`mailcert issue %s` first", cc->name, cc->name);
		goto fail;
	}
	tlsa_print(cli, cc, &recs);
	goto out;
fail:
	rc = cli_fail(&err);
out:
	mc_lock_release(lock);
	mc_config_free(cfg);
	return rc;
}
