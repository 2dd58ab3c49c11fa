/* listen.c: binding ipc://, tcp:// and tls+tcp:// addresses and accepting connections on
 * the loop. A stale ipc socket file (its daemon died) is replaced; a live one is not. */
#include <errno.h>
#include <event2/bufferevent_ssl.h>
#include <fcntl.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "listen.h"
#include "log.h"

#define BACKLOG 1024
#define ACCEPT_RETRY_MS 100 /* pause after running out of descriptors */

static const char ipc_scheme[] = "ipc://", tcp_scheme[] = "tcp://", tls_scheme[] = "tls+tcp://";

static size_t max_clients = SIZE_MAX;
static unsigned long long refused_over, refused_nofd;
static double last_refusal_log;
static int spare_fd = -1; /* kept open so that a connection can be taken and closed at EMFILE */

static bool has_scheme(const char *url, const char *scheme)
{
	return strncmp(url, scheme, strlen(scheme)) == 0;
}

bool listen_is_tls(const char *url)
{
	return has_scheme(url, tls_scheme);
}

/* ---- accepting ---- */

static struct bufferevent *wrap(struct listener *l, struct event_base *base, evutil_socket_t fd)
{
	if (l->origin.kind != CONN_TLS)
		return bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	SSL *ssl = SSL_new(l->tls);
	struct bufferevent *bev =
		ssl ? bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
						     BEV_OPT_CLOSE_ON_FREE)
		    : NULL;
	if (bev)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	else if (ssl)
		SSL_free(ssl);
	return bev;
}

void listen_limit(size_t n)
{
	max_clients = n;
	if (spare_fd < 0)
		spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void listen_refused(unsigned long long *over_limit, unsigned long long *no_fd)
{
	*over_limit = refused_over;
	*no_fd = refused_nofd;
}

/* refused: a connection on l was closed at once, for why; logged at most once a second. */
static void refused(const struct listener *l, unsigned long long *count, const char *why)
{
	double now = clock_now();
	++*count;
	if (now - last_refusal_log < 1)
		return;
	last_refusal_log = now;
	log_warn("refused a connection on %s: %s (%llu refused so)", l->url, why, *count);
}

static void on_accept(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	struct listener *l = arg;
	int one = 1;
	(void)salen;
	if (conn_count() >= max_clients) {
		close(fd);
		refused(l, &refused_over, "max_clients connections are open");
		return;
	}
	if (l->origin.kind != CONN_IPC)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct bufferevent *bev = wrap(l, evconnlistener_get_base(ev), fd);
	if (!bev) {
		log_error("cannot set up a connection on %s; closed", l->url);
		close(fd);
		return;
	}
	conn_open(bev, &l->origin, sa);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	(void)fd, (void)what;
	evconnlistener_enable(l->ev);
}

/* turn_away: out of descriptors: the spare one makes room to take the waiting connection
 * and close it, so that its client learns at once instead of hanging in the backlog.
 * false when there is no spare descriptor. */
static bool turn_away(struct listener *l, struct evconnlistener *ev)
{
	if (spare_fd < 0)
		return false;
	close(spare_fd);
	int fd = accept(evconnlistener_get_fd(ev), NULL, NULL);
	if (fd >= 0) {
		close(fd);
		refused(l, &refused_nofd, "out of file descriptors");
	}
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd >= 0;
}

/* on_accept_error: out of descriptors: turn the connection away, or when that cannot be
 * done pause accepting briefly (it would spin). */
static void on_accept_error(struct evconnlistener *ev, void *arg)
{
	struct listener *l = arg;
	struct timeval pause = {0, ACCEPT_RETRY_MS * 1000};
	int err = EVUTIL_SOCKET_ERROR();
	if ((err == EMFILE || err == ENFILE) && turn_away(l, ev))
		return;
	log_warn("accepting on %s: %s", l->url, evutil_socket_error_to_string(err));
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return;
	evconnlistener_disable(ev);
	evtimer_add(l->retry, &pause);
}

/* ---- binding ---- */

/* ensure_dir: creates the socket's directory (one level, 0755) when it is missing, as
 * /run/brokerd is on a fresh boot. */
static void ensure_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0)
		log_info("created %s", dir);
}

/* stale: whether sun is a socket file nobody accepts on (its daemon is gone). */
static bool stale(const struct sockaddr_un *sun)
{
	struct stat st;
	if (lstat(sun->sun_path, &st) != 0 || !S_ISSOCK(st.st_mode))
		return false;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool refused = fd >= 0 && connect(fd, (const struct sockaddr *)sun, sizeof *sun) != 0 &&
		       errno == ECONNREFUSED;
	if (fd >= 0)
		close(fd);
	return refused;
}

static int bind_mode(int fd, const struct sockaddr_un *sun, int mode)
{
	mode_t old = umask((mode_t)(~mode & 0777));
	int rc = bind(fd, (const struct sockaddr *)sun, sizeof *sun);
	int err = errno;
	umask(old);
	errno = err;
	return rc;
}

static evutil_socket_t bind_ipc(const char *path, int mode)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (!*path || strlen(path) >= sizeof sun.sun_path) {
		log_error("ipc path '%s' is empty or over %zu bytes", path,
			  sizeof sun.sun_path - 1);
		return -1;
	}
	strcpy(sun.sun_path, path);
	ensure_dir(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int rc = fd < 0 ? -1 : bind_mode(fd, &sun, mode);
	if (rc != 0 && errno == EADDRINUSE && stale(&sun)) {
		log_info("removing the stale socket %s", path);
		unlink(path);
		rc = bind_mode(fd, &sun, mode);
	}
	if (rc != 0) {
		log_error("cannot listen on ipc://%s: %s", path,
			  errno == EADDRINUSE ? "a live brokerd (or another program) is there"
					      : strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* split_host: "HOST:PORT" or "[V6]:PORT" into host (NULL for "" or "*") and port. */
static int split_host(const char *addr, char *host, size_t size, const char **port)
{
	const char *colon = strrchr(addr, ':');
	if (!colon || !colon[1])
		return -1;
	size_t n = (size_t)(colon - addr);
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']')
		addr++, n -= 2;
	if (n >= size)
		return -1;
	memcpy(host, addr, n);
	host[n] = '\0';
	*port = colon + 1;
	return 0;
}

static struct evconnlistener *bind_tcp(struct event_base *base, const char *addr,
				       struct listener *l)
{
	char host[256];
	const char *port;
	struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai;
	if (split_host(addr, host, sizeof host, &port) != 0) {
		log_error("cannot listen on %s: the address must be HOST:PORT", l->url);
		return NULL;
	}
	bool any = !host[0] || !strcmp(host, "*");
	int rc = getaddrinfo(any ? NULL : host, port, &hints, &ai);
	if (rc != 0) {
		log_error("cannot listen on %s: %s", l->url, gai_strerror(rc));
		return NULL;
	}
	struct evconnlistener *ev = evconnlistener_new_bind(
		base, on_accept, l,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, BACKLOG,
		ai->ai_addr, (int)ai->ai_addrlen);
	if (!ev)
		log_error("cannot listen on %s: %s", l->url, strerror(errno));
	freeaddrinfo(ai);
	return ev;
}

static struct evconnlistener *bind_url(struct event_base *base, const struct listen_conf *lc,
				       struct listener *l)
{
	if (has_scheme(lc->url, ipc_scheme)) {
		evutil_socket_t fd = bind_ipc(lc->url + strlen(ipc_scheme), lc->ipc_mode);
		if (fd < 0)
			return NULL;
		l->path = strdup(lc->url + strlen(ipc_scheme));
		struct evconnlistener *ev = evconnlistener_new(
			base, on_accept, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, BACKLOG,
			fd);
		if (!ev)
			close(fd);
		return ev;
	}
	if (has_scheme(lc->url, tcp_scheme))
		return bind_tcp(base, lc->url + strlen(tcp_scheme), l);
	if (has_scheme(lc->url, tls_scheme))
		return bind_tcp(base, lc->url + strlen(tls_scheme), l);
	log_error("cannot listen on %s: the address must start with ipc://, tcp:// or tls+tcp://",
		  lc->url);
	return NULL;
}

int listen_start(struct event_base *base, const struct listen_conf *lc, SSL_CTX *tls,
		 struct listener *out)
{
	memset(out, 0, sizeof *out);
	out->url = strdup(lc->url);
	out->tls = tls;
	out->origin.max_message = lc->max_message;
	out->origin.kind = has_scheme(lc->url, ipc_scheme)   ? CONN_IPC
			   : has_scheme(lc->url, tls_scheme) ? CONN_TLS
							     : CONN_TCP;
	out->retry = evtimer_new(base, on_retry, out);
	if (!out->url || !out->retry || !(out->ev = bind_url(base, lc, out))) {
		listen_stop(out);
		return -1;
	}
	evconnlistener_set_error_cb(out->ev, on_accept_error);
	log_info("listening on %s (max message %zu bytes)", lc->url, lc->max_message);
	return 0;
}

void listen_stop(struct listener *l)
{
	if (l->ev)
		evconnlistener_free(l->ev);
	if (l->retry)
		event_free(l->retry);
	if (l->path)
		unlink(l->path);
	free(l->path);
	free(l->url);
	memset(l, 0, sizeof *l);
}

/* ---- TLS ---- */

static SSL_CTX *tls_fail(SSL_CTX *ctx, const char *what, const char *file)
{
	char err[256];
	ERR_error_string_n(ERR_get_error(), err, sizeof err);
	log_error("TLS: cannot use %s %s: %s", what, file ? file : "(none given)", err);
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *listen_tls_new(const struct config *c)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return tls_fail(NULL, "a context", NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (!c->tls_cert || SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1)
		return tls_fail(ctx, "the certificate", c->tls_cert);
	if (!c->tls_key || SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		return tls_fail(ctx, "the key", c->tls_key);
	if (c->tls_ca) {
		if (SSL_CTX_load_verify_locations(ctx, c->tls_ca, NULL) != 1)
			return tls_fail(ctx, "the client CA", c->tls_ca);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return ctx;
}
