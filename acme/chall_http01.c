/*
 * chall_http01.c - the http-01 challenge (see acme/challenge.h).
 *
 * Built-in responder: libmicrohttpd with its own polling thread on a socket
 * we bind ourselves (so bind errors carry errno), with limits on
 * connections, per-connection memory and idle time. Who may hold a
 * connection is decided by the guard shared with the tls-alpn-01
 * responder (chall_guard.c): libmicrohttpd tells us of every connection
 * (MHD_OPTION_NOTIFY_CONNECTION), the request handler marks the headers
 * complete, and a small watchdog thread shuts down connections whose
 * headers did not arrive within ACME_GUARD_DEADLINE_MS (libmicrohttpd's
 * own timeout is an idle timeout, which a byte every few seconds defeats).
 * Shutting a socket down makes libmicrohttpd close it in its own thread;
 * it tells us (CLOSED, under our mutex) before it closes the descriptor,
 * so we never touch a descriptor that was reused.
 * It answers GET/HEAD /.well-known/acme-challenge/<token> for a registered
 * token with 200 text/plain and the key authorization ("Connection:
 * close": one request per connection), everything else with 404. The
 * token table is shared with that thread under a mutex.
 *
 * Webroot mode: WEBROOT must exist; .well-known/ and acme-challenge/ are
 * created (0755) when missing; each token becomes a 0644 file written with
 * mc_fsio_write_transient() (atomic, not synced: nothing reads it after a
 * crash). Stop removes exactly the files we wrote and the
 * directories we created (if they are empty by then).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h> /* CLOCK_REALTIME for the watchdog's timed wait */
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "acme/chall_int.h"
#include "acme/challenge.h"
#include "mailcert/acme.h"
#include "mailcert/dl.h"
#include "mailcert/fsio.h"
#include "mailcert/log.h"
#include "mailcert/time.h"

#define HTTP01_PREFIX "/.well-known/acme-challenge/"
#define HTTP01_WHAT "http-01 responder"
#define HTTP01_IDLE_TIMEOUT 3U /* seconds without traffic (libmicrohttpd) */
#define HTTP01_WATCH_MS 200     /* how often the watchdog looks */
#define HTTP01_CONN_MEM                                                        \
	(32 * 1024) /* bytes of request buffer per connection                  \
	             */
#define HTTP01_KEYAUTH_MAX 1024

/* libmicrohttpd is loaded when a built-in responder starts (mailcert/dl.h):
 * the package libmicrohttpd12 stays a dependency, its header gives the
 * types; a run without http-01 does not load it nor GnuTLS under it. */
#define HTTP01_MHD_SONAME "libmicrohttpd.so.12"
#define HTTP01_MHD_FUNCS(X)                                                    \
	X(MHD_start_daemon)                                                    \
	X(MHD_stop_daemon)                                                     \
	X(MHD_get_connection_info)                                             \
	X(MHD_create_response_from_buffer)                                     \
	X(MHD_add_response_header)                                             \
	X(MHD_queue_response)                                                  \
	X(MHD_destroy_response)
#define HTTP01_MHD_ADDR(f) &mhd.f,
static struct {
	HTTP01_MHD_FUNCS(MC_DL_FIELD)
} mhd;
static const char *const http01_mhd_names[] = {HTTP01_MHD_FUNCS(MC_DL_NAME)};
static void *const http01_mhd_slots[] = {HTTP01_MHD_FUNCS(HTTP01_MHD_ADDR)};
static struct mc_dl http01_mhd_dl = MC_DL_INIT(
    HTTP01_MHD_SONAME, "libmicrohttpd12", http01_mhd_names, http01_mhd_slots);

struct http01_token {
	char *token;
	char *keyauth; /* secret-ish: cleansed on free */
	char *path;    /* the webroot file we wrote, else NULL */
};

struct acme_http01 {
	struct MHD_Daemon *daemon; /* built-in responder, else NULL */
	pthread_mutex_t lock;      /* guards tok and n_tok */
	struct http01_token *tok;
	size_t n_tok;
	char *wk;      /* WEBROOT/.well-known (webroot mode) */
	char *dir;     /* WEBROOT/.well-known/acme-challenge (webroot mode) */
	bool made_wk;  /* we created wk */
	bool made_dir; /* we created dir */
	pthread_mutex_t glock;  /* guards guard and stopping */
	pthread_cond_t gwake;   /* wakes the watchdog to stop */
	struct acme_guard guard;
	pthread_t watchdog;
	bool watching;          /* watchdog started */
	bool stopping;
	char *(*lookup)(void *arg, const char *token); /* fleet: other hosts' */
	void *lookup_arg;
};

/* http01_conn_fd - the socket of a libmicrohttpd connection, or -1. */
static int
http01_conn_fd(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = mhd.MHD_get_connection_info(
	    conn, MHD_CONNECTION_INFO_CONNECTION_FD);

	return ci != NULL ? ci->connect_fd : -1;
}

/* http01_admit - a new connection: let the guard decide, shut down the
 * connections it gives up (libmicrohttpd then closes them). */
static void
http01_admit(struct acme_http01 *h, struct MHD_Connection *conn, int fd)
{
	const union MHD_ConnectionInfo *ci = mhd.MHD_get_connection_info(
	    conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
	unsigned char key[ACME_GUARD_KEY];
	int victims[2], nv, i;

	acme_guard_key(sa,
	               sa != NULL && sa->sa_family == AF_INET6
	                   ? sizeof(struct sockaddr_in6)
	                   : sizeof(struct sockaddr_in),
	               key);
	pthread_mutex_lock(&h->glock);
	nv = acme_guard_admit(&h->guard, fd, key, mc_now_ms(), victims);
	if (nv == -1)
		shutdown(fd, SHUT_RDWR);
	for (i = 0; i < nv; i++)
		shutdown(victims[i], SHUT_RDWR);
	pthread_mutex_unlock(&h->glock);
	if (nv > 0)
		mc_log_debug("%s: closing %d unfinished connection(s) to make "
		             "room",
		             HTTP01_WHAT, nv);
}

/* http01_notify - libmicrohttpd's connection start/close callback. */
static void
http01_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
              enum MHD_ConnectionNotificationCode toe)
{
	struct acme_http01 *h = cls;
	int fd = http01_conn_fd(conn);

	(void)socket_context;
	if (fd == -1)
		return;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		http01_admit(h, conn, fd);
		return;
	}
	pthread_mutex_lock(&h->glock); /* before libmicrohttpd closes fd */
	acme_guard_drop(&h->guard, fd);
	pthread_mutex_unlock(&h->glock);
}

/* http01_watchdog - shut down connections past the header deadline. */
static void *
http01_watchdog(void *arg)
{
	struct acme_http01 *h = arg;
	int fds[ACME_GUARD_MAX];
	struct timespec until;
	size_t n, i;

	pthread_mutex_lock(&h->glock);
	while (!h->stopping) {
		n = acme_guard_expired(&h->guard, mc_now_ms(), fds,
		                       ACME_GUARD_MAX);
		for (i = 0; i < n; i++)
			shutdown(fds[i], SHUT_RDWR);
		if (n > 0)
			mc_log_debug("%s: closed %zu connection(s) without "
			             "request headers after %d ms",
			             HTTP01_WHAT, n, ACME_GUARD_DEADLINE_MS);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += HTTP01_WATCH_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&h->gwake, &h->glock, &until);
	}
	pthread_mutex_unlock(&h->glock);
	return NULL;
}

/* http01_join - a new string "a/b". */
static char *
http01_join(const char *a, const char *b, struct mc_err *err)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (p == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	snprintf(p, n, "%s%s%s", a, a[0] && a[strlen(a) - 1] == '/' ? "" : "/",
	         b);
	return p;
}

/* http01_lookup - a copy of the key authorization for token, or NULL. */
static char *
http01_lookup(struct acme_http01 *h, const char *token)
{
	char *keyauth = NULL;
	size_t i;

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->n_tok; i++)
		if (strcmp(h->tok[i].token, token) == 0 && h->tok[i].keyauth) {
			keyauth = strdup(h->tok[i].keyauth);
			break;
		}
	pthread_mutex_unlock(&h->lock);
	if (keyauth == NULL && h->lookup != NULL) {
		keyauth = h->lookup(h->lookup_arg, token);
		if (keyauth != NULL &&
		    (strlen(keyauth) > HTTP01_KEYAUTH_MAX ||
		     strchr(keyauth, '\n') != NULL)) {
			OPENSSL_clear_free(keyauth, strlen(keyauth));
			keyauth = NULL;
		}
	}
	return keyauth;
}

/* http01_reply - queue 200 with body (taken) or 404 when body is NULL. */
static enum MHD_Result
http01_reply(struct MHD_Connection *conn, char *body)
{
	static const char nf[] = "not found\n";
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (body != NULL)
		resp = mhd.MHD_create_response_from_buffer(
		    strlen(body), body, MHD_RESPMEM_MUST_FREE);
	else
		resp = mhd.MHD_create_response_from_buffer(
		    sizeof(nf) - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	mhd.MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	                            "text/plain");
	mhd.MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = mhd.MHD_queue_response(
	    conn, body ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND, resp);
	mhd.MHD_destroy_response(resp);
	return ret;
}

/* http01_answer - the libmicrohttpd request handler. */
static enum MHD_Result
http01_answer(void *cls, struct MHD_Connection *conn, const char *url,
              const char *method, const char *version, const char *upload,
              size_t *upload_size, void **con_cls)
{
	struct acme_http01 *h = cls;
	char *body = NULL;

	(void)version;
	(void)upload;
	if (*con_cls != NULL) { /* later calls: discard any request body */
		*upload_size = 0;
		return MHD_YES;
	}
	*con_cls = h;
	pthread_mutex_lock(&h->glock); /* the headers are complete */
	acme_guard_done(&h->guard, http01_conn_fd(conn));
	pthread_mutex_unlock(&h->glock);
	if ((strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	     strcmp(method, MHD_HTTP_METHOD_HEAD) == 0) &&
	    strncmp(url, HTTP01_PREFIX, strlen(HTTP01_PREFIX)) == 0 &&
	    acme_token_ok(url + strlen(HTTP01_PREFIX)))
		body = http01_lookup(h, url + strlen(HTTP01_PREFIX));
	mc_log_debug("http-01 responder: %s request, answering %d", method,
	             body ? 200 : 404);
	return http01_reply(conn, body);
}

/* http01_daemon_start - bind listen and start the libmicrohttpd thread. */
static int
http01_daemon_start(struct acme_http01 *h, const char *listen,
                    struct mc_err *err)
{
	sigset_t all, old;
	int fd;

	if (mc_dl_load(&http01_mhd_dl, err) == -1)
		return mc_err_prefix(err, "%s", HTTP01_WHAT);
	fd = acme_listen_open(listen, HTTP01_WHAT, err);
	if (fd == -1)
		return -1;
	/* From here libmicrohttpd owns fd: it closes it on failure and at
	 * stop. Its thread starts with every signal blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	h->daemon = mhd.MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
	    http01_answer, h, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)ACME_GUARD_MAX,
	    MHD_OPTION_CONNECTION_TIMEOUT, HTTP01_IDLE_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP01_CONN_MEM,
	    MHD_OPTION_NOTIFY_CONNECTION, http01_notify, h, MHD_OPTION_END);
	if (h->daemon != NULL &&
	    pthread_create(&h->watchdog, NULL, http01_watchdog, h) == 0)
		h->watching = true;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (h->daemon == NULL || !h->watching)
		return mc_err_set(err, MC_ERR_SYS,
		                  "%s: libmicrohttpd cannot "
		                  "serve on %s",
		                  HTTP01_WHAT, listen);
	mc_log_debug("%s listening on %s", HTTP01_WHAT, listen);
	return 0;
}

/* http01_mkdir - create path (0755) unless it is a directory already. */
static int
http01_mkdir(const char *path, bool *made, struct mc_err *err)
{
	struct stat st;

	if (mkdir(path, 0755) == 0) {
		int fd, rc = 0;

		*made = true;
		/* umask 077 must not hide it from the web server; the mode is
		 * set on the descriptor of the directory just made, never by
		 * path: a user who can write the webroot could have swapped in
		 * a symlink to a file root would then chmod */
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1)
			return mc_err_errno(err, MC_ERR_SYS,
			                    "http-01 webroot: %s was replaced "
			                    "right after it was made (a "
			                    "symlink?); check who can write "
			                    "its parent",
			                    path);
		if (fchmod(fd, 0755) == -1)
			rc = mc_err_errno(err, MC_ERR_SYS,
			                  "http-01 webroot: cannot chmod %s",
			                  path);
		close(fd);
		return rc;
	}
	if (errno != EEXIST)
		return mc_err_errno(err, MC_ERR_SYS,
		                    "http-01 webroot: cannot "
		                    "create %s",
		                    path);
	if (stat(path, &st) == -1)
		return mc_err_errno(err, MC_ERR_SYS, "http-01 webroot: %s",
		                    path);
	if (!S_ISDIR(st.st_mode))
		return mc_err_set(err, MC_ERR_SYS,
		                  "http-01 webroot: %s exists "
		                  "and is not a directory",
		                  path);
	return 0;
}

/* http01_webroot_prepare - check WEBROOT, create the challenge folders. */
static int
http01_webroot_prepare(struct acme_http01 *h, const char *webroot,
                       struct mc_err *err)
{
	struct stat st;

	if (stat(webroot, &st) == -1)
		return mc_err_errno(err, MC_ERR_SYS, "http-01 webroot %s",
		                    webroot);
	if (!S_ISDIR(st.st_mode))
		return mc_err_set(err, MC_ERR_SYS,
		                  "http-01 webroot %s is not a "
		                  "directory",
		                  webroot);
	h->wk = http01_join(webroot, ".well-known", err);
	if (h->wk == NULL)
		return -1;
	h->dir = http01_join(h->wk, "acme-challenge", err);
	if (h->dir == NULL)
		return -1;
	if (http01_mkdir(h->wk, &h->made_wk, err) == -1 ||
	    http01_mkdir(h->dir, &h->made_dir, err) == -1)
		return -1;
	mc_log_debug("http-01: serving tokens from %s", h->dir);
	return 0;
}

/* acme_http01_start - start the responder, or prepare the webroot. */
struct acme_http01 *
acme_http01_start(const char *listen, const char *webroot, struct mc_err *err)
{
	struct acme_http01 *h = calloc(1, sizeof(*h));
	int rc;

	if (h == NULL) {
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->glock, NULL);
	pthread_cond_init(&h->gwake, NULL);
	if (webroot != NULL && webroot[0] != '\0')
		rc = http01_webroot_prepare(h, webroot, err);
	else
		rc = http01_daemon_start(h, listen, err);
	if (rc == -1) {
		acme_http01_stop(h);
		return NULL;
	}
	return h;
}

/* http01_slot - the table entry for token (new, or the existing one). */
static struct http01_token *
http01_slot(struct acme_http01 *h, const char *token, struct mc_err *err)
{
	struct http01_token *t;
	size_t i;

	for (i = 0; i < h->n_tok; i++)
		if (strcmp(h->tok[i].token, token) == 0)
			return &h->tok[i];
	t = realloc(h->tok, (h->n_tok + 1) * sizeof(*t));
	if (t == NULL)
		goto oom;
	h->tok = t;
	t = &h->tok[h->n_tok];
	memset(t, 0, sizeof(*t));
	t->token = strdup(token);
	if (t->token == NULL)
		goto oom;
	h->n_tok++;
	return t;
oom:
	mc_err_errno(err, MC_ERR_SYS, "out of memory");
	return NULL;
}

/* http01_store - record token (and its file or key authorization). */
static int
http01_store(struct acme_http01 *h, const char *token, const char *keyauth,
             char *path, struct mc_err *err)
{
	struct http01_token *t;
	char *ka = NULL;
	int rc = -1;

	if (path == NULL) {
		ka = strdup(keyauth);
		if (ka == NULL)
			return mc_err_errno(err, MC_ERR_SYS, "out of memory");
	}
	pthread_mutex_lock(&h->lock);
	t = http01_slot(h, token, err);
	if (t != NULL) {
		if (t->keyauth != NULL)
			OPENSSL_clear_free(t->keyauth, strlen(t->keyauth));
		t->keyauth = ka;
		ka = NULL;
		if (t->path == NULL)
			t->path = path;
		else
			free(path);
		rc = 0;
	}
	pthread_mutex_unlock(&h->lock);
	if (ka != NULL)
		OPENSSL_clear_free(ka, strlen(ka));
	if (rc == -1)
		free(path);
	return rc;
}

/* acme_http01_add - serve keyauth for token (both copied). */
int
acme_http01_add(struct acme_http01 *h, const char *token, const char *keyauth,
                struct mc_err *err)
{
	size_t len = keyauth ? strlen(keyauth) : 0;
	char *path = NULL;

	if (!acme_token_ok(token))
		return mc_err_set(
		    err, MC_ERR_INPUT,
		    "http-01: the CA sent a "
		    "malformed token (not 1-256 base64url characters)");
	if (len == 0 || len > HTTP01_KEYAUTH_MAX ||
	    strchr(keyauth, '\n') != NULL)
		return mc_err_set(err, MC_ERR_INPUT,
		                  "http-01: malformed key "
		                  "authorization");
	if (h->dir != NULL) {
		path = http01_join(h->dir, token, err);
		if (path == NULL)
			return -1;
		/* atomic, not durable: the token matters only while this
		 * run's order is pending (fsio.h) */
		if (mc_fsio_write_transient(path, keyauth, len, 0644, err) ==
		    -1) {
			free(path);
			return mc_err_prefix(err, "http-01 webroot");
		}
	}
	return http01_store(h, token, keyauth, path, err);
}

/* http01_remove_files - unlink our token files and our empty folders. */
static void
http01_remove_files(struct acme_http01 *h)
{
	size_t i;

	for (i = 0; i < h->n_tok; i++)
		if (h->tok[i].path != NULL && unlink(h->tok[i].path) == -1 &&
		    errno != ENOENT)
			mc_log_warn("http-01 webroot: cannot remove %s: %s",
			            h->tok[i].path, strerror(errno));
	if (h->made_dir && h->dir != NULL && rmdir(h->dir) == -1 &&
	    errno != ENOTEMPTY && errno != EEXIST)
		mc_log_warn("http-01 webroot: cannot remove %s: %s", h->dir,
		            strerror(errno));
	if (h->made_wk && h->wk != NULL && rmdir(h->wk) == -1 &&
	    errno != ENOTEMPTY && errno != EEXIST)
		mc_log_warn("http-01 webroot: cannot remove %s: %s", h->wk,
		            strerror(errno));
}

/* acme_http01_stop - stop the responder / remove the token files; frees h. */
void
acme_http01_stop(struct acme_http01 *h)
{
	size_t i;

	if (h == NULL)
		return;
	if (h->watching) {
		pthread_mutex_lock(&h->glock);
		h->stopping = true;
		pthread_cond_signal(&h->gwake);
		pthread_mutex_unlock(&h->glock);
		pthread_join(h->watchdog, NULL);
	}
	if (h->daemon != NULL)
		mhd.MHD_stop_daemon(
		    h->daemon); /* joins its thread, closes the socket */
	http01_remove_files(h);
	for (i = 0; i < h->n_tok; i++) {
		free(h->tok[i].token);
		free(h->tok[i].path);
		if (h->tok[i].keyauth != NULL)
			OPENSSL_clear_free(h->tok[i].keyauth,
			                   strlen(h->tok[i].keyauth));
	}
	free(h->tok);
	free(h->wk);
	free(h->dir);
	pthread_cond_destroy(&h->gwake);
	pthread_mutex_destroy(&h->glock);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

struct mc_acme_responder {
	struct acme_http01 *h;
};

/* mc_acme_http01_serve - a responder answering through lookup. */
struct mc_acme_responder *
mc_acme_http01_serve(const char *listen,
                     char *(*lookup)(void *arg, const char *token), void *arg,
                     struct mc_err *err)
{
	struct mc_acme_responder *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->h = calloc(1, sizeof(*r->h))) == NULL) {
		free(r);
		mc_err_errno(err, MC_ERR_SYS, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&r->h->lock, NULL);
	r->h->lookup = lookup;
	r->h->lookup_arg = arg;
	if (http01_daemon_start(r->h, listen, err) == -1) {
		mc_acme_http01_serve_stop(r);
		return NULL;
	}
	return r;
}

/* mc_acme_http01_serve_stop - stop it and free. */
void
mc_acme_http01_serve_stop(struct mc_acme_responder *r)
{
	if (r == NULL)
		return;
	acme_http01_stop(r->h);
	free(r);
}
