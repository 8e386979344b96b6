/*
 * log.h - logging for one mailcert run.
 *
 * Every line carries the run's UUID. Output goes to stderr or to syslog
 * (LOG_DAEMON, ident "mailcert"); `log = auto` picks stderr on a TTY, at
 * debug level (-v) or when stderr is systemd's JOURNAL_STREAM, else
 * syslog. Before a line goes to stderr, stdout is flushed. Never pass
 * keys, HMAC keys, tokens or key authorizations to these functions: log
 * SPKI fingerprints instead.
 */
#ifndef MAILCERT_LOG_H
#define MAILCERT_LOG_H

enum mc_log_level {
	MC_LOG_ERROR = 0,
	MC_LOG_WARN,
	MC_LOG_INFO,
	MC_LOG_DEBUG,
};

enum mc_log_dest {
	MC_LOG_AUTO = 0, /* stderr on a TTY, with -v, under the journal; else syslog */
	MC_LOG_STDERR,
	MC_LOG_SYSLOG,
};

/* mc_log_init - set destination, verbosity and run id (copied; NULL makes a new UUID). */
void mc_log_init(enum mc_log_dest dest, enum mc_log_level level, const char *run_id);

/* mc_log_set_dest - change the destination (after the config is read). */
void mc_log_set_dest(enum mc_log_dest dest);

/* mc_log_is_stderr - whether log lines go to stderr (so the CLI need not repeat them). */
int mc_log_is_stderr(void);

/* mc_log_run_id - the run's UUID, borrowed for the life of the process. */
const char *mc_log_run_id(void);

/* mc_log_enabled - whether a message at level would be written. */
int mc_log_enabled(enum mc_log_level level);

/* mc_log - write one line at level. */
void mc_log(enum mc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define mc_log_error(...) mc_log(MC_LOG_ERROR, __VA_ARGS__)
#define mc_log_warn(...) mc_log(MC_LOG_WARN, __VA_ARGS__)
#define mc_log_info(...) mc_log(MC_LOG_INFO, __VA_ARGS__)
#define mc_log_debug(...) mc_log(MC_LOG_DEBUG, __VA_ARGS__)

#endif
