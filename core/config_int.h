/*
 * config_int.h - declarations shared by the files of the config module
 * (config.c, config_lex.c, config_keys.c, config_check.c, names.c).
 * Nothing outside core/config*.c and core/names.c includes this.
 *
 * Loading runs in two phases. config_lex.c turns the file, and the files
 * its [global] include = GLOB names, into a list of raw sections, each a
 * list of (key, value, line) entries and the file it came from, rejecting
 * syntax errors, unknown sections, unknown and duplicate keys. config.c
 * then builds struct mc_config from the raw sections: [global] first
 * (wherever it is in the file), then targets, then certs, so defaults
 * and references resolve regardless of section order.
 */
#ifndef MAILCERT_CONFIG_INT_H
#define MAILCERT_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "mailcert/config.h"

#define CFG_MAX_NAMES 100
#define CFG_MAX_LIST 64

enum cfg_kind {
	CFG_GLOBAL = 0,
	CFG_CERT,
	CFG_TARGET,
};

/* One "key = value" of a section; continuation lines are already joined. */
struct cfg_entry {
	const char *key; /* the key table's name (static) */
	char *value;
	int line;
};

struct cfg_section {
	enum cfg_kind kind;
	char *name; /* NULL for [global] */
	const char *file; /* the file it is in (owned by struct cfg_raw) */
	int line;
	struct cfg_entry *entries;
	size_t n_entries;
};

/* Section numbers (index + 1; 0 is empty) by kind and name: open
 * addressing, a power-of-two capacity, grown at half full. */
struct cfg_index {
	size_t *slots;
	size_t cap;
	size_t used;
};

/* The files [global] include names, sorted (config_files.c). */
struct cfg_incl {
	char *text;   /* each path NUL-terminated, after a byte: its d_type */
	char **paths; /* into text (paths[i][-1]: the d_type; DT_UNKNOWN 0) */
	size_t n;
};

struct cfg_raw {
	struct cfg_section *secs;
	size_t n_secs;
	size_t cap_secs;
	char **files; /* the main file (a copy), then the included ones (in incl) */
	size_t n_files;
	size_t cap_files;
	size_t n_own_files; /* files[0..n_own_files) are copies */
	struct cfg_incl incl; /* the files [global] include names */
	struct cfg_index idx; /* while lexing */
	char *buf;  /* while lexing: the file being read (one for all files, */
	size_t cap; /* cleansed after each), its size in bytes */
};

/* Where errors point: the file name and the error to fill. */
struct cfg_ctx {
	const char *path;
	struct mc_err *err;
};

struct cfg_key;

/* A value parser: check e->value and store it in the struct at base. */
typedef int (*cfg_parse_fn)(const struct cfg_ctx *ctx, const struct cfg_entry *e,
    const struct cfg_key *k, char *base);

struct cfg_key {
	const char *name;
	cfg_parse_fn parse;
	size_t offset;       /* of the field in the section's struct */
	size_t count_offset; /* lists: of the size_t count; else 0 */
};

/* config_fail - MC_ERR_CONFIG "PATH:LINE: WHAT: message"; returns -1. */
int config_fail(const struct cfg_ctx *ctx, int line, const char *what,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* config_fail_sec - like config_fail with WHAT = "[cert NAME]: KEY". */
int config_fail_sec(const struct cfg_ctx *ctx, const struct cfg_section *sec,
    const char *key, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* config_shared - whether s is a default string every cert shares (the
 * listen addresses): replaced, never freed (config.c). */
bool config_shared(const char *s);

/* config_kind_name - "global", "cert", "target". */
const char *config_kind_name(enum cfg_kind kind);

/* config_sec_ctx - ctx for errors in sec: its own file. */
struct cfg_ctx config_sec_ctx(const struct cfg_ctx *ctx,
    const struct cfg_section *sec);

/* config_lex_file - read one file, appending its sections to raw
 * (config_lex.c). */
int config_lex_file(const char *path, struct cfg_raw *raw, struct mc_err *err);

/* config_lex_file_at - config_lex_file of the file rel below the open
 * directory dirfd (AT_FDCWD: rel is a path); path names it in errors and
 * in raw->files, not copied: it must live as long as raw (raw->incl).
 * regular: the directory said it is a regular file (d_type DT_REG), so
 * it is read without an fstat; else fstat refuses what is not one. */
int config_lex_file_at(int dirfd, const char *rel, char *path, bool regular,
    struct cfg_raw *raw, struct mc_err *err);

/* config_raw_adopt - move the sections and files of part (lexed apart,
 * e.g. on another thread) to the end of raw; 0, or -1 when part repeats
 * a section of raw (then no message is set). */
int config_raw_adopt(struct cfg_raw *raw, struct cfg_raw *part,
    struct mc_err *err);

/* config_raw_truncate - back to the first n_secs sections and n_files
 * files of raw (those added later dropped), indexed again; 0 or -1. */
int config_raw_truncate(struct cfg_raw *raw, size_t n_secs, size_t n_files,
    struct mc_err *err);

/* config_lex_buf_free - free raw's read buffer (cleansed). */
void config_lex_buf_free(struct cfg_raw *raw);

/* config_lex - read path and the files it includes into raw sections
 * (*raw, free with config_raw_free; config_files.c). */
int config_lex(const char *path, struct cfg_raw *raw, struct mc_err *err);

/* config_section_release - free the entries and name of one raw section
 * (values cleansed) once it has been built; its kind, file and line stay. */
void config_section_release(struct cfg_section *sec);

/* config_raw_free - free raw sections (values are cleansed: they may hold secrets). */
void config_raw_free(struct cfg_raw *raw);

/* config_entry_find - the entry for key in sec, or NULL. Borrowed. */
const struct cfg_entry *config_entry_find(const struct cfg_section *sec,
    const char *key);

/* config_key_find - the table row of key in sections of kind, or NULL. */
const struct cfg_key *config_key_find(enum cfg_kind kind, const char *key);

/* config_key_hint - write advice for an unknown key into buf ("" if none). */
void config_key_hint(enum cfg_kind kind, const char *key, char *buf, size_t size);

/* config_apply - parse every entry of sec into the struct at base. */
int config_apply(const struct cfg_ctx *ctx, const struct cfg_section *sec,
    void *base);

/* config_target_type_parse - "postfix" etc. (any case) to a type; 0 or -1. */
int config_target_type_parse(const char *text, enum mc_target_type *out);

/* config_target_type_name - "postfix" etc. */
const char *config_target_type_name(enum mc_target_type type);

/* config_target_finish - apply type defaults to t and check it is usable. */
int config_target_finish(const struct cfg_ctx *ctx, const struct cfg_section *sec,
    struct mc_target *t);

/* config_cert_check - cross-checks of one cert against cfg (targets, paths). */
int config_cert_check(const struct cfg_ctx *ctx, const struct cfg_section *sec,
    const struct mc_config *cfg, const struct mc_cert_conf *cc);

/* config_check_store - the fleet keys of [global] sec fit together. */
int config_check_store(const struct cfg_ctx *ctx, const struct cfg_section *sec,
    const struct mc_config *cfg);

/* names_challenge_parse - "http-01" etc. (any case) to a challenge; 0 or -1. */
int names_challenge_parse(const char *text, enum mc_challenge_type *out);

#endif
