/*
 * log.c - run-tagged logging to stderr or syslog; every line is scrubbed
 * of control characters (mailcert/text.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "mailcert/log.h"
#include "mailcert/text.h"

static enum mc_log_level log_level = MC_LOG_INFO;
static enum mc_log_dest log_dest = MC_LOG_STDERR;
static char log_run_id[37];
static int log_syslog_open;

/* log_journal_stderr - whether stderr is the journal stream systemd gave
 * us: JOURNAL_STREAM is "DEVICE:INODE" of that stream (systemd.exec(5)). */
static int
log_journal_stderr(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (js == NULL ||
	    sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

/* log_resolve - turn MC_LOG_AUTO into a concrete destination: stderr on a
 * TTY, with -v (debug level), or under systemd's journal; else syslog. */
static enum mc_log_dest
log_resolve(enum mc_log_dest dest)
{
	if (dest != MC_LOG_AUTO)
		return dest;
	if (isatty(STDERR_FILENO) || log_level >= MC_LOG_DEBUG ||
	    log_journal_stderr())
		return MC_LOG_STDERR;
	return MC_LOG_SYSLOG;
}

/* mc_log_set_dest - change the destination. */
void
mc_log_set_dest(enum mc_log_dest dest)
{
	log_dest = log_resolve(dest);
	if (log_dest == MC_LOG_SYSLOG && !log_syslog_open) {
		openlog("mailcert", LOG_PID, LOG_DAEMON);
		log_syslog_open = 1;
	}
}

/* mc_log_init - set destination, level and run id. */
void
mc_log_init(enum mc_log_dest dest, enum mc_log_level level, const char *run_id)
{
	uuid_t id;

	log_level = level;
	if (run_id != NULL && strlen(run_id) < sizeof(log_run_id)) {
		snprintf(log_run_id, sizeof(log_run_id), "%s", run_id);
	} else {
		uuid_generate_random(id);
		uuid_unparse_lower(id, log_run_id);
	}
	mc_log_set_dest(dest);
}

/* mc_log_is_stderr - whether lines go to stderr. */
int
mc_log_is_stderr(void)
{
	return log_dest == MC_LOG_STDERR;
}

/* mc_log_run_id - the run's UUID. */
const char *
mc_log_run_id(void)
{
	if (log_run_id[0] == '\0')
		mc_log_init(log_dest, log_level, NULL);
	return log_run_id;
}

/* mc_log_enabled - whether level passes the verbosity. */
int
mc_log_enabled(enum mc_log_level level)
{
	return level <= log_level;
}

/* mc_log - write one line. */
void
mc_log(enum mc_log_level level, const char *fmt, ...)
{
	static const char *const tags[] = {"error", "warning", "info", "debug"};
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char line[4096];
	va_list ap;

	if (!mc_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	mc_text_scrub(line); /* one line, whatever the arguments held */
	if (log_dest == MC_LOG_SYSLOG)
		syslog(prio[level], "[%s] %s: %s", mc_log_run_id(), tags[level],
		       line);
	else {
		fflush(stdout); /* what was printed before comes first */
		fprintf(stderr, "mailcert[%s] %s: %s\n", mc_log_run_id(),
			tags[level], line);
	}
}
