/*
 * proc.c - run a program without a shell, with a clean environment, captured
 * output and a timeout (see include/mailcert/proc.h).
 *
 * The child is started with posix_spawn() in its own process group, with
 * all signal dispositions reset and an empty signal mask, stdin from
 * /dev/null and stdout/stderr on two pipes. Every other descriptor is
 * closed in the child: our own descriptors are O_CLOEXEC, and where glibc
 * offers it, posix_spawn_file_actions_addclosefrom_np() closes whatever
 * another library may have leaked. The parent reads both pipes with poll()
 * until EOF (keeping at most PROC_CAP bytes of each and discarding the
 * rest), sends SIGTERM to the group at the deadline and SIGKILL
 * PROC_KILL_GRACE seconds later, and always reaps the child. Once the
 * child is gone, descendants that still hold the pipes get PROC_DRAIN_MS
 * more before we stop reading.
 */
#define _GNU_SOURCE 1 /* posix_spawn_file_actions_addclosefrom_np, sigabbrev_np */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mailcert/buf.h"
#include "mailcert/proc.h"
#include "mailcert/time.h"
#include "mailcert/text.h"

#if defined(__GLIBC__) &&                                                      \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define PROC_HAVE_CLOSEFROM 1
#endif

#define PROC_CAP ((size_t)64 * 1024) /* bytes kept of stdout and of stderr */
#define PROC_KILL_GRACE 5            /* seconds between SIGTERM and SIGKILL */
#define PROC_DRAIN_MS 1000           /* reading on after the child exited */
#define PROC_TICK_MS 20              /* waitpid() polling interval */
#define PROC_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* one captured stream */
struct proc_stream {
	int fd;            /* read end, -1 at EOF */
	struct mc_buf buf; /* first PROC_CAP bytes */
};

/* the state of one running child */
struct proc_child {
	pid_t pid;
	long long deadline;  /* ms, monotonic: SIGTERM */
	long long kill_at;   /* ms: SIGKILL, valid once timed_out */
	long long drain_end; /* ms: stop reading, valid once reaped */
	bool timed_out;
	bool killed;
	bool reaped;
	int status;
	struct proc_stream s[2];
};

/* proc_resolve - the path to exec for name: as given when it has a slash,
 * else the first executable regular file of that name on PROC_PATH. */
static int
proc_resolve(const char *name, char *path, size_t size, struct mc_err *err)
{
	const char *dir = PROC_PATH, *end;
	struct stat st;
	int n;

	if (name[0] == '\0')
		return mc_err_set(err, MC_ERR_SYS,
		                  "cannot run an empty program name");
	if (strchr(name, '/') != NULL) {
		n = snprintf(path, size, "%s", name);
		if (n < 0 || (size_t)n >= size)
			return mc_err_set(err, MC_ERR_SYS,
			                  "cannot run %.200s: "
			                  "path too long",
			                  name);
		return 0;
	}
	for (; *dir != '\0'; dir = *end ? end + 1 : end) {
		end = strchr(dir, ':');
		if (end == NULL)
			end = dir + strlen(dir);
		n = snprintf(path, size, "%.*s/%s", (int)(end - dir), dir,
		             name);
		if (n < 0 || (size_t)n >= size)
			continue;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(path, X_OK) == 0)
			return 0;
	}
	errno = ENOENT;
	return mc_err_errno(err, MC_ERR_SYS, "cannot run %.200s (searched %s)",
	                    name, PROC_PATH);
}

/* proc_actions - stdin from /dev/null, stdout/stderr to the pipes, the
 * rest closed; 0 or an error number. */
static int
proc_actions(posix_spawn_file_actions_t *fa, int out_w, int err_w)
{
	int rc;

	rc = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(fa, out_w, 1);
	if (rc == 0)
		rc = posix_spawn_file_actions_adddup2(fa, err_w, 2);
#ifdef PROC_HAVE_CLOSEFROM
	if (rc == 0)
		rc = posix_spawn_file_actions_addclosefrom_np(fa, 3);
#endif
	return rc;
}

/* proc_attrs - own process group, default signal dispositions, empty
 * mask; 0 or an error number. */
static int
proc_attrs(posix_spawnattr_t *at)
{
	sigset_t all, none;
	int rc;

	sigfillset(&all);
	sigemptyset(&none);
	rc = posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP |
	                                      POSIX_SPAWN_SETSIGDEF |
	                                      POSIX_SPAWN_SETSIGMASK);
	if (rc == 0)
		rc = posix_spawnattr_setpgroup(at, 0);
	if (rc == 0)
		rc = posix_spawnattr_setsigdefault(at, &all);
	if (rc == 0)
		rc = posix_spawnattr_setsigmask(at, &none);
	return rc;
}

/* proc_spawn - start the child with the pipes' write ends as stdout/stderr. */
static int
proc_spawn(const char *path, const char *const *argv, const char *const *envp,
           int out_w, int err_w, pid_t *pid, struct mc_err *err)
{
	static const char *const default_env[] = {"PATH=" PROC_PATH, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int rc;

	rc = posix_spawn_file_actions_init(&fa);
	if (rc != 0) {
		errno = rc;
		return mc_err_errno(err, MC_ERR_SYS, "cannot run %.200s", path);
	}
	rc = posix_spawnattr_init(&at);
	if (rc != 0) {
		posix_spawn_file_actions_destroy(&fa);
		errno = rc;
		return mc_err_errno(err, MC_ERR_SYS, "cannot run %.200s", path);
	}
	rc = proc_actions(&fa, out_w, err_w);
	if (rc == 0)
		rc = proc_attrs(&at);
	if (rc == 0)
		rc = posix_spawn(pid, path, &fa, &at, (char *const *)argv,
		                 (char *const *)(envp ? envp : default_env));
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		errno = rc;
		return mc_err_errno(err, MC_ERR_SYS, "cannot run %.200s", path);
	}
	return 0;
}

/* proc_signal - send sig to the child's process group (or the child). */
static void
proc_signal(const struct proc_child *c, int sig)
{
	if (kill(-c->pid, sig) == -1)
		kill(c->pid, sig);
}

/* proc_reap - waitpid() the child; block only when wait is true. */
static void
proc_reap(struct proc_child *c, bool wait)
{
	pid_t r;

	if (c->reaped)
		return;
	do
		r = waitpid(c->pid, &c->status, wait ? 0 : WNOHANG);
	while (r == -1 && errno == EINTR);
	if (r == c->pid || (r == -1 && errno == ECHILD)) {
		c->reaped = true;
		c->drain_end = mc_now_ms() + PROC_DRAIN_MS;
	}
}

/* proc_read - read what is available on stream s, keeping the first
 * PROC_CAP bytes. */
static void
proc_read(struct proc_stream *s)
{
	char chunk[4096];
	ssize_t n;
	size_t keep;

	n = read(s->fd, chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(s->fd);
		s->fd = -1;
		return;
	}
	keep = PROC_CAP - s->buf.len;
	if (keep > (size_t)n)
		keep = (size_t)n;
	if (keep > 0)
		mc_buf_append(&s->buf, chunk, keep, NULL);
}

/* proc_timers - send SIGTERM/SIGKILL when due; the poll timeout in ms. */
static int
proc_timers(struct proc_child *c)
{
	long long now = mc_now_ms(), next;

	if (!c->reaped && !c->timed_out && now >= c->deadline) {
		c->timed_out = true;
		c->kill_at = now + PROC_KILL_GRACE * 1000LL;
		proc_signal(c, SIGTERM);
	}
	if (!c->reaped && c->timed_out && !c->killed && now >= c->kill_at) {
		c->killed = true;
		proc_signal(c, SIGKILL);
	}
	next = c->reaped      ? c->drain_end
	       : c->timed_out ? c->kill_at
	                      : c->deadline;
	if (!c->reaped && c->killed)
		next = now + PROC_TICK_MS;
	next -= now;
	if (next > PROC_TICK_MS)
		next = PROC_TICK_MS;
	return next < 0 ? 0 : (int)next;
}

/* proc_loop - read both pipes and watch the clock until the child is
 * reaped and the pipes are closed (or the drain time is over). */
static void
proc_loop(struct proc_child *c)
{
	struct pollfd pfd[2];
	int idx[2], i, ms;
	nfds_t n;

	for (;;) {
		proc_reap(c, false);
		if (c->reaped && ((c->s[0].fd == -1 && c->s[1].fd == -1) ||
		                  mc_now_ms() >= c->drain_end))
			return;
		ms = proc_timers(c);
		for (n = 0, i = 0; i < 2; i++) {
			if (c->s[i].fd == -1)
				continue;
			pfd[n].fd = c->s[i].fd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			idx[n++] = i;
		}
		if (poll(pfd, n, ms) <= 0)
			continue; /* timeout, EINTR: look at the clock again */
		for (i = 0; i < (int)n; i++)
			if (pfd[i].revents != 0)
				proc_read(&c->s[idx[i]]);
	}
}

/* proc_result - fill res from the finished child (takes the buffers). */
static int
proc_result(struct proc_child *c, struct mc_proc_result *res,
            struct mc_err *err)
{
	int i;

	for (i = 0; i < 2; i++)
		if (c->s[i].buf.data == NULL &&
		    mc_buf_append(&c->s[i].buf, "", 0, err) == -1)
			return -1;
	memset(res, 0, sizeof(*res));
	res->timed_out = c->timed_out;
	if (WIFSIGNALED(c->status)) {
		res->signaled = true;
		res->term_signal = WTERMSIG(c->status);
	} else if (WIFEXITED(c->status)) {
		res->exit_code = WEXITSTATUS(c->status);
	}
	res->out = mc_buf_take(&c->s[0].buf);
	res->errout = mc_buf_take(&c->s[1].buf);
	return 0;
}

/* mc_proc_run - run argv with envp; fills *res. */
int
mc_proc_run(const char *const *argv, const char *const *envp, long timeout,
            struct mc_proc_result *res, struct mc_err *err)
{
	struct proc_child c;
	int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, i, rc = -1;
	char path[4096];

	memset(&c, 0, sizeof(c));
	c.pid = -1;
	for (i = 0; i < 2; i++) {
		c.s[i].fd = -1;
		mc_buf_init(&c.s[i].buf, PROC_CAP);
	}
	if (argv == NULL || argv[0] == NULL)
		return mc_err_set(err, MC_ERR_SYS,
		                  "cannot run a program: empty argv");
	if (timeout <= 0)
		return mc_err_set(err, MC_ERR_SYS,
		                  "cannot run %.200s: timeout "
		                  "must be positive, not %ld",
		                  argv[0], timeout);
	if (proc_resolve(argv[0], path, sizeof(path), err) == -1)
		return -1;
	if (pipe2(out_p, O_CLOEXEC) == -1 || pipe2(err_p, O_CLOEXEC) == -1) {
		mc_err_errno(err, MC_ERR_SYS, "cannot run %.200s: pipe", path);
		goto out;
	}
	if (proc_spawn(path, argv, envp, out_p[1], err_p[1], &c.pid, err) == -1)
		goto out;
	close(out_p[1]);
	close(err_p[1]);
	out_p[1] = err_p[1] = -1;
	c.s[0].fd = out_p[0];
	c.s[1].fd = err_p[0];
	out_p[0] = err_p[0] = -1;
	c.deadline = mc_now_ms() + timeout * 1000LL;
	proc_loop(&c);
	proc_reap(&c, true);
	rc = proc_result(&c, res, err);
out:
	for (i = 0; i < 2; i++) {
		if (c.s[i].fd != -1)
			close(c.s[i].fd);
		mc_buf_free(&c.s[i].buf);
		if (out_p[i] != -1)
			close(out_p[i]);
		if (err_p[i] != -1)
			close(err_p[i]);
	}
	return rc;
}

/* mc_proc_result_clear - free the captured output. */
void
mc_proc_result_clear(struct mc_proc_result *res)
{
	if (res == NULL)
		return;
	free(res->out);
	free(res->errout);
	res->out = NULL;
	res->errout = NULL;
}

/* mc_proc_failed - whether the child did not exit with status 0. */
bool
mc_proc_failed(const struct mc_proc_result *res)
{
	return res->timed_out || res->signaled || res->exit_code != 0;
}

/* proc_what - what happened to the child, in words, into buf. */
static size_t
proc_what(const struct mc_proc_result *res, long timeout, char *buf,
          size_t size)
{
	const char *abbrev = NULL;
	int n;

	if (res->signaled && !res->timed_out)
		abbrev = sigabbrev_np(res->term_signal);
	if (res->timed_out)
		n = snprintf(buf, size, "timed out after %lds", timeout);
	else if (res->signaled)
		n = snprintf(buf, size, "killed by signal %d%s%s%s",
		             res->term_signal, abbrev ? " (SIG" : "",
		             abbrev ? abbrev : "", abbrev ? ")" : "");
	else
		n = snprintf(buf, size, "exited with status %d", res->exit_code);
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

/* mc_proc_summary - what happened, and an excerpt of what it said. */
void
mc_proc_summary(const struct mc_proc_result *res, long timeout, char *buf,
                size_t size)
{
	const char *text = res->errout;
	size_t n, room;

	if (size == 0)
		return;
	n = proc_what(res, timeout, buf, size);
	if (text == NULL || text[strspn(text, " \t\r\n")] == '\0')
		text = res->out; /* nothing on stderr: stdout may say why */
	if (text == NULL || text[strspn(text, " \t\r\n")] == '\0' ||
	    n + 3 >= size)
		return;
	room = size - n - 2;
	if (room > MC_PROC_EXCERPT_MAX + 1)
		room = MC_PROC_EXCERPT_MAX + 1;
	memcpy(buf + n, ": ", 2);
	mc_text_excerpt(text, strlen(text), buf + n + 2, room,
	                MC_TEXT_LINES | MC_TEXT_TAIL);
}

/* proc_count - the number of blank-separated words of s. */
static size_t
proc_count(const char *s, const char *blanks)
{
	size_t n = 0;

	for (;;) {
		s += strspn(s, blanks);
		if (*s == '\0')
			return n;
		n++;
		s += strcspn(s, blanks);
	}
}

/* mc_proc_split - split a command line on blanks into a new argv. */
char **
mc_proc_split(const char *cmdline, struct mc_err *err)
{
	static const char blanks[] = " \t\r\n";
	size_t n, i = 0, len;
	char **argv;

	if (cmdline == NULL || (n = proc_count(cmdline, blanks)) == 0) {
		mc_err_set(err, MC_ERR_CONFIG, "empty command line");
		return NULL;
	}
	argv = calloc(n + 1, sizeof(*argv));
	if (argv == NULL)
		goto oom;
	for (; i < n; i++) {
		cmdline += strspn(cmdline, blanks);
		len = strcspn(cmdline, blanks);
		argv[i] = strndup(cmdline, len);
		if (argv[i] == NULL)
			goto oom;
		cmdline += len;
	}
	return argv;
oom:
	mc_err_errno(err, MC_ERR_SYS, "out of memory");
	mc_proc_argv_free(argv);
	return NULL;
}

/* mc_proc_argv_free - free an argv from mc_proc_split. */
void
mc_proc_argv_free(char **argv)
{
	size_t i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}
