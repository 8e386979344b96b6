/*
 * fleet_status.c - the fleet part of `mailcert status`: the shared current
 * version of each cert and what every node deployed of it (PREFIX/nodes/),
 * or that the store cannot be reached (the rows above it then come from
 * this host's cache only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mailcert/crypto.h"
#include "mailcert/fleet.h"

/* fstatus_node_json - one node's record as JSON (new). */
static json_t *
fstatus_node_json(const struct mc_fleet_node *n)
{
	char when[32];
	json_t *o = json_pack("{s:s, s:i, s:i, s:s, s:s, s:s}", "node", n->node,
	                      "version", (int)n->version, "live", (int)n->live,
	                      "serial", n->serial, "result", n->result, "at",
	                      mc_time_format(n->at, MC_TIME_ISO, when,
	                                     sizeof(when)));

	if (o != NULL && n->error[0] != '\0')
		json_object_set_new(o, "error", json_string(n->error));
	return o;
}

/* fstatus_cert - the shared state of cc: into row (JSON) or printed. */
static int
fstatus_cert(struct mc_fleet *f, const struct mc_cert_conf *cc, json_t *row,
             struct mc_err *err)
{
	struct mc_fleet_current cur;
	struct mc_fleet_node *nodes = NULL;
	json_t *o = NULL, *arr = NULL;
	char when[64];
	size_t n = 0, i;

	if (mc_fleet_current(f, cc->name, &cur, err) == -1 ||
	    mc_fleet_nodes(f, cc->name, &nodes, &n, err) == -1)
		return -1;
	if (row != NULL) {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, fstatus_node_json(&nodes[i]));
		o = json_pack("{s:i, s:o}", "current", (int)cur.version, "nodes",
		              arr);
		json_object_set_new(row, "fleet", o);
	} else {
		if (n == 0)
			printf("%-12s %04u    (no node has recorded it yet)\n",
			       cc->name, cur.version);
		for (i = 0; i < n; i++) {
			cli_format_time(nodes[i].at, when, sizeof(when));
			printf("%-12s %04u    %-12s %04u    %04u %-11s %s%s%s\n",
			       cc->name, cur.version, nodes[i].node,
			       nodes[i].version, nodes[i].live, nodes[i].result,
			       when, nodes[i].error[0] ? "  " : "",
			       nodes[i].error);
		}
	}
	free(nodes);
	return 0;
}

/* cli_fleet_status - the fleet section of `status` (rows: the JSON rows,
 * one per cert in config order; NULL for text). Returns 0 even when the
 * store is unreachable: that is reported, not an error of `status`. */
int
cli_fleet_status(const struct mc_config *cfg, json_t *rows)
{
	struct mc_fleet *f = NULL;
	struct mc_err err;
	size_t i;

	mc_err_clear(&err);
	if (mc_fleet_open(cfg, &f, &err) == -1) {
		fprintf(stderr, "mailcert: %s\n", err.msg);
		return -1;
	}
	if (f == NULL)
		return 0;
	if (rows == NULL)
		printf("\nFLEET %s (this node: %s)\n%-12s %-7s %-12s %-7s %-4s "
		       "%-11s %s\n",
		       cfg->store, mc_fleet_node_name(f), "CERT", "CURRENT",
		       "NODE", "VERSION", "LIVE", "RESULT", "AT");
	for (i = 0; i < cfg->n_certs; i++) {
		if (fstatus_cert(f, &cfg->certs[i],
		                 rows ? json_array_get(rows, i) : NULL,
		                 &err) == 0)
			continue;
		if (rows != NULL)
			json_object_set_new(json_array_get(rows, i), "fleet",
			                    json_pack("{s:s, s:b}", "error", err.msg,
			                              "reachable",
			                              mc_fleet_down(f) == NULL));
		else
			printf("%s: %s%s\n", cfg->certs[i].name,
			       mc_fleet_down(f) ? "the store is UNREACHABLE: " : "",
			       err.msg);
		if (mc_fleet_down(f) != NULL && rows == NULL) {
			printf("(the rows above come from this host's cache)\n");
			break;
		}
	}
	mc_fleet_close(f);
	return 0;
}
