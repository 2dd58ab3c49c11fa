/* conn.c: libbroker's wire (conn.h): connecting over ipc, tcp or tls+tcp, the SP handshake,
 * and reading and writing frames on a non-blocking stream with plain system calls. No
 * thread of its own: whoever calls does the I/O. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "wire.h"

#define MAX_FRAME ((uint64_t)1 << 31) /* a longer length is taken for a broken stream */
#define READ_CHUNK 65536              /* room kept free for each read */
#define RECV_SLICE_MS 1000            /* the longest single blocking read */
#define KEEP_BUFFER (4u << 20)        /* a larger idle read buffer is given back */
#define TOKEN_MAX 4096                /* bytes of a token file's first line read at most */

enum scheme { SCHEME_IPC, SCHEME_TCP, SCHEME_TLS };

struct conn {
	int fd;
	enum scheme scheme;
	SSL *ssl;
	atomic_int refs;
	atomic_bool broken;
	pthread_mutex_t send_mu; /* one frame at a time */
	pthread_mutex_t tls_mu;  /* an SSL object takes one call at a time */
	char *tx;                /* TLS: header and body gathered into one record */
	size_t tx_cap;
	char *rb; /* received bytes: [rb_off, rb_len) not yet taken as frames */
	size_t rb_off, rb_len, rb_cap;
	int rcv_ms; /* plain sockets: the SO_RCVTIMEO in force, ms (-1: none set yet) */
};

/* A parsed address: host and port point into a copy of the URL. */
struct addr {
	enum scheme scheme;
	char *copy;
	const char *path, *host, *port;
};

double conn_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int conn_ms_until(double deadline)
{
	if (isinf(deadline))
		return -1;
	double ms = ceil((deadline - conn_now()) * 1000);
	return ms <= 0 ? 0 : ms > 1e9 ? 1000000000 : (int)ms;
}

/* ---- addresses ---- */

static brk_err parse_host_port(struct addr *a, char *rest, const char *url)
{
	char *colon;
	if (*rest == '[') {
		char *end = strchr(rest, ']');
		if (!end || end[1] != ':')
			return fail(BRK_EINVAL, "bad address %s: want [IPv6]:PORT", url);
		*end = '\0';
		a->host = rest + 1;
		colon = end + 1;
	} else {
		colon = strrchr(rest, ':');
		if (!colon || colon == rest)
			return fail(BRK_EINVAL, "bad address %s: want HOST:PORT", url);
		*colon = '\0';
		a->host = rest;
	}
	a->port = colon + 1;
	if (!*a->port || strspn(a->port, "0123456789") != strlen(a->port))
		return fail(BRK_EINVAL, "bad port in %s", url);
	return BRK_OK;
}

/* parse_url: splits url into a; on BRK_OK the caller frees a->copy. */
static brk_err parse_url(const char *url, struct addr *a)
{
	static const struct {
		const char *prefix;
		enum scheme scheme;
	} schemes[] = {{"ipc://", SCHEME_IPC}, {"tcp://", SCHEME_TCP}, {"tls+tcp://", SCHEME_TLS}};
	for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
		size_t n = strlen(schemes[i].prefix);
		if (strncmp(url, schemes[i].prefix, n) != 0)
			continue;
		a->scheme = schemes[i].scheme;
		if (!(a->copy = strdup(url + n)))
			return fail(BRK_ENOMEM, NULL);
		a->path = a->copy;
		brk_err err = a->scheme == SCHEME_IPC ? BRK_OK : parse_host_port(a, a->copy, url);
		if (err)
			free(a->copy);
		return err;
	}
	return fail(BRK_EINVAL,
		    "unknown address scheme in '%s': use ipc://PATH, tcp://HOST:PORT or "
		    "tls+tcp://HOST:PORT",
		    url);
}

/* ---- connecting ---- */

static brk_err connect_failed(const char *url, int errnum)
{
	return fail(BRK_ECONNECT, "cannot connect to %s: %s", url, strerror(errnum));
}

/* wait_fd: polls fd for events until deadline; 0 ready, ETIMEDOUT, or an errno. Signals
 * do not end the wait. */
static int wait_fd(int fd, short events, double deadline)
{
	struct pollfd p = {fd, events, 0};
	for (;;) {
		int n = poll(&p, 1, conn_ms_until(deadline));
		if (n > 0)
			return 0;
		if (n == 0)
			return ETIMEDOUT;
		if (errno != EINTR)
			return errno;
	}
}

/* dial: a connected non-blocking stream socket to sa, or -1 with errno set. */
static int dial(int family, const struct sockaddr *sa, socklen_t len, double deadline)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	int rv = connect(fd, sa, len) == 0 ? 0 : errno;
	if (rv == EINPROGRESS && (rv = wait_fd(fd, POLLOUT, deadline)) == 0) {
		socklen_t sl = sizeof rv;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &rv, &sl) != 0)
			rv = errno;
	}
	if (rv == 0)
		return fd;
	close(fd);
	errno = rv;
	return -1;
}

/* trusted_uid: whether a daemon running as uid may be talked to over ipc: root, this
 * process's own user, the "brokerd" service user, or $BROKERD_DAEMON_UID (a uid or a name).
 * Another user could have made the socket to read what clients send. */
static bool trusted_uid(uid_t uid)
{
	const char *want = getenv("BROKERD_DAEMON_UID");
	struct passwd pw, *found = NULL;
	char buf[1024], *end;
	if (uid == 0 || uid == geteuid())
		return true;
	if (want && *want) {
		unsigned long n = strtoul(want, &end, 10);
		if (!*end)
			return uid == (uid_t)n;
		return getpwnam_r(want, &pw, buf, sizeof buf, &found) == 0 && found &&
		       found->pw_uid == uid;
	}
	return getpwnam_r("brokerd", &pw, buf, sizeof buf, &found) == 0 && found &&
	       found->pw_uid == uid;
}

/* check_daemon: the process on the other end of ipc socket fd runs as a trusted user. */
static brk_err check_daemon(int fd, const char *url)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return connect_failed(url, errno);
	if (trusted_uid(cred.uid))
		return BRK_OK;
	return fail(
		BRK_ECONNECT,
		"cannot connect to %s: the process listening there runs as uid %u, not root, "
		"you, or the brokerd user (set BROKERD_DAEMON_UID to trust it); nothing was sent",
		url, (unsigned)cred.uid);
}

/* dial_ipc: a blocking connect, so that a full listen backlog is waited out (for up to
 * the deadline, through SO_SNDTIMEO) as a busy daemon accepts; then non-blocking. */
static brk_err dial_ipc(const struct addr *a, const char *url, double deadline, int *fd)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	double left = fmax(deadline - conn_now(), 0.001);
	struct timeval tv = {(time_t)left, (suseconds_t)((left - floor(left)) * 1e6)};
	if (strlen(a->path) >= sizeof sun.sun_path)
		return fail(BRK_EINVAL, "ipc path of %s is too long", url);
	strcpy(sun.sun_path, a->path);
	if ((*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return connect_failed(url, errno);
	setsockopt(*fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int rv = connect(*fd, (struct sockaddr *)&sun, sizeof sun) == 0 ? 0 : errno;
	struct timeval none = {0, 0};
	setsockopt(*fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
	brk_err err = rv ? BRK_OK : check_daemon(*fd, url);
	if (rv == 0 && err == BRK_OK && fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK) == 0)
		return BRK_OK;
	close(*fd);
	return err != BRK_OK ? err : connect_failed(url, rv ? rv : errno);
}

static brk_err dial_tcp(const struct addr *a, const char *url, double deadline, int *fd)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
	int rv = getaddrinfo(a->host, a->port, &hints, &res), one = 1, errnum = ECONNREFUSED;
	if (rv != 0)
		return fail(BRK_ECONNECT, "cannot connect to %s: %s", url, gai_strerror(rv));
	*fd = -1;
	for (struct addrinfo *ai = res; ai && *fd < 0; ai = ai->ai_next)
		if ((*fd = dial(ai->ai_family, ai->ai_addr, ai->ai_addrlen, deadline)) < 0)
			errnum = errno;
	freeaddrinfo(res);
	if (*fd < 0)
		return connect_failed(url, errnum);
	setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return BRK_OK;
}

/* ---- TLS ---- */

static brk_err tls_failed(const char *url, const char *what)
{
	char buf[256] = "";
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return fail(BRK_ECONNECT, "TLS to %s: %s%s%s", url, what, *buf ? ": " : "", buf);
}

/* setting: given, else $env (env NULL: none); NULL when empty. */
static const char *setting(const char *given, const char *env)
{
	const char *v = given ? given : env ? getenv(env) : NULL;
	return v && *v ? v : NULL;
}

/* tls_context: a client context that verifies the server against ca (NULL: the system's
 * trust store) and presents cert/key when given. */
static brk_err tls_context(const struct conn_tls *tls, const char *url, SSL_CTX **out)
{
	const char *ca = setting(tls ? tls->ca : NULL, "BROKERD_TLS_CA");
	const char *cert = setting(tls ? tls->cert : NULL, "BROKERD_TLS_CERT");
	const char *key = setting(tls ? tls->key : NULL, "BROKERD_TLS_KEY");
	SSL_CTX *ctx = *out = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return tls_failed(url, "no TLS context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca ? SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1
	       : SSL_CTX_set_default_verify_paths(ctx) != 1)
		return tls_failed(url, "cannot load the CA certificates");
	if (cert && SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		return tls_failed(url, "cannot load the client certificate");
	if (cert && SSL_CTX_use_PrivateKey_file(ctx, key ? key : cert, SSL_FILETYPE_PEM) != 1)
		return tls_failed(url, "cannot load the client key");
	return BRK_OK;
}

/* ---- the token ----
 * A token is a password: it is never put in an error message, and its copies are wiped. */

/* token_line: the first line of fd's content, trailing white space stripped, in buf. */
static size_t token_line(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 0;
		len += (size_t)n;
	}
	buf[len] = '\0';
	len = strcspn(buf, "\n");
	while (len && strchr(" \t\r\v\f", buf[len - 1]))
		len--;
	buf[len] = '\0';
	return len;
}

/* token_file_check: why fd (the token file path) may not hold a token, or NULL. Others
 * who may read it know the secret; a FIFO or device could block or never end. */
static const char *token_file_check(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return strerror(errno);
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	if (st.st_mode & (S_IROTH | S_IWOTH))
		return "others may read or write it (chmod o-rw, or 0600)";
	return NULL;
}

static brk_err token_from_file(const char *path, char **out)
{
	char buf[TOKEN_MAX + 1];
	const char *why = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		why = strerror(errno);
	else if (!(why = token_file_check(fd)) && token_line(fd, buf, sizeof buf) == 0)
		why = "it is empty or cannot be read";
	if (fd >= 0)
		close(fd);
	if (!why && !(*out = strdup(buf)))
		why = "out of memory";
	explicit_bzero(buf, sizeof buf);
	return why ? fail(BRK_EINVAL, "token file %s refused: %s", path, why) : BRK_OK;
}

brk_err conn_token(const char *token, const char *token_file, char **out)
{
	*out = NULL;
	if (!setting(token, NULL) && !setting(token_file, NULL)) {
		token = setting(NULL, "BROKERD_TOKEN");
		token_file = setting(NULL, "BROKERD_TOKEN_FILE");
	}
	if (setting(token, NULL))
		return (*out = strdup(token)) ? BRK_OK : fail(BRK_ENOMEM, NULL);
	return setting(token_file, NULL) ? token_from_file(token_file, out) : BRK_OK;
}

void conn_token_free(char *token)
{
	if (token)
		explicit_bzero(token, strlen(token));
	free(token);
}

/* tls_expect_peer: the server's certificate must name host (a DNS name or an IP). */
static brk_err tls_expect_peer(SSL *ssl, const char *host, const char *url)
{
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	if (is_ip && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1)
		return tls_failed(url, "cannot set the expected IP address");
	if (!is_ip && (SSL_set1_host(ssl, host) != 1 || SSL_set_tlsext_host_name(ssl, host) != 1))
		return tls_failed(url, "cannot set the expected host name");
	return BRK_OK;
}

static brk_err tls_handshake(conn *k, const char *url, double deadline)
{
	for (;;) {
		ERR_clear_error();
		int rv = SSL_connect(k->ssl), e = SSL_get_error(k->ssl, rv);
		if (rv == 1)
			return BRK_OK;
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			long v = SSL_get_verify_result(k->ssl);
			return v != X509_V_OK ? fail(BRK_ECONNECT, "TLS to %s: %s", url,
						     X509_verify_cert_error_string(v))
					      : tls_failed(url, "handshake failed");
		}
		int err = wait_fd(k->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (err)
			return connect_failed(url, err);
	}
}

static brk_err tls_start(conn *k, const struct addr *a, const struct conn_tls *tls, const char *url,
			 double deadline)
{
	SSL_CTX *ctx;
	brk_err err = tls_context(tls, url, &ctx);
	if (err == BRK_OK && !(k->ssl = SSL_new(ctx)))
		err = tls_failed(url, "no TLS session");
	SSL_CTX_free(ctx); /* the SSL object keeps its own reference */
	if (err)
		return err;
	SSL_set_mode(k->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_set_fd(k->ssl, k->fd) != 1) /* a socket BIO that does not close fd */
		return tls_failed(url, "cannot attach the socket");
	if ((err = tls_expect_peer(k->ssl, a->host, url)))
		return err;
	return tls_handshake(k, url, deadline);
}

/* ---- writing ---- */

/* Writing on a socket whose peer is gone raises SIGPIPE. Plain sockets avoid it with
 * MSG_NOSIGNAL; OpenSSL writes with write(2), so for TLS the signal is blocked in this
 * thread around the write and a SIGPIPE it raised is taken back before unblocking. The
 * process's signal dispositions are never changed. */
struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t pipe, pending;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &g->old);
}

static void sigpipe_restore(struct sigpipe_guard *g, bool raised)
{
	sigset_t pipe;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	if (raised && !g->was_pending) {
		struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* tls_write: one SSL_write of up to len bytes: the count written, 0 to wait for events
 * in *events, -1 for a failed stream. */
static ssize_t tls_write(conn *k, const char *p, size_t len, short *events)
{
	struct sigpipe_guard g;
	sigpipe_block(&g);
	pthread_mutex_lock(&k->tls_mu);
	ERR_clear_error();
	int n = SSL_write(k->ssl, p, (int)(len > INT32_MAX ? INT32_MAX : len));
	int e = SSL_get_error(k->ssl, n), saved = errno;
	pthread_mutex_unlock(&k->tls_mu);
	sigpipe_restore(&g, n <= 0 && e == SSL_ERROR_SYSCALL);
	errno = saved;
	if (n > 0)
		return n;
	*events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

/* plain_write: one sendmsg of the iovecs: as tls_write. */
static ssize_t plain_write(conn *k, struct iovec *iov, int n, short *events)
{
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
	ssize_t w = sendmsg(k->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	*events = POLLOUT;
	if (w >= 0)
		return w;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
}

static void iov_advance(struct iovec **iov, int *n, size_t done)
{
	while (*n && done >= (*iov)->iov_len) {
		done -= (*iov)->iov_len;
		(*iov)++;
		(*n)--;
	}
	if (*n) {
		(*iov)->iov_base = (char *)(*iov)->iov_base + done;
		(*iov)->iov_len -= done;
	}
}

/* write_all: writes the iovecs (TLS: one at a time) until done or deadline; *sent tells
 * whether anything went out. */
static brk_err write_all(conn *k, struct iovec *iov, int n, double deadline, bool *sent)
{
	*sent = false;
	while (n) {
		short events = POLLOUT;
		ssize_t w = k->ssl ? tls_write(k, iov->iov_base, iov->iov_len, &events)
				   : plain_write(k, iov, n, &events);
		if (w > 0) {
			*sent = true;
			iov_advance(&iov, &n, (size_t)w);
			continue;
		}
		if (w < 0)
			return fail(BRK_EIO, "cannot send to brokerd: %s", strerror(errno));
		if (atomic_load(&k->broken))
			return fail(BRK_EIO, "cannot send to brokerd: the connection is closed");
		/* TLS wanting to read while another thread receives: look again soon */
		double until = events == POLLIN ? fmin(deadline, conn_now() + 0.01) : deadline;
		int err = wait_fd(k->fd, events, until);
		if (err == ETIMEDOUT && conn_now() >= deadline)
			return fail(BRK_ENOREPLY, "cannot send to brokerd: timed out");
		if (err && err != ETIMEDOUT)
			return fail(BRK_EIO, "cannot send to brokerd: %s", strerror(err));
	}
	return BRK_OK;
}

/* frame_header: the transport header plus the request id; returns its length. */
static size_t frame_header(const conn *k, unsigned char *h, uint32_t id, size_t len)
{
	size_t n = wire_header(h, k->scheme == SCHEME_IPC, (uint64_t)len + WIRE_ID_SIZE);
	wire_put32(h + n, id);
	n += WIRE_ID_SIZE;
	return n;
}

/* gather: TLS sends header and body as one record: copies both into k->tx. */
static brk_err gather(conn *k, struct iovec *iov)
{
	size_t need = iov[0].iov_len + iov[1].iov_len;
	if (need > k->tx_cap) {
		char *tx = realloc(k->tx, need);
		if (!tx)
			return fail(BRK_ENOMEM, NULL);
		k->tx = tx;
		k->tx_cap = need;
	}
	memcpy(k->tx, iov[0].iov_base, iov[0].iov_len);
	memcpy(k->tx + iov[0].iov_len, iov[1].iov_base, iov[1].iov_len);
	iov[0] = (struct iovec){k->tx, need};
	return BRK_OK;
}

brk_err conn_send(conn *k, uint32_t id, const char *body, size_t len, double deadline, bool *sent)
{
	unsigned char h[13];
	struct iovec iov[2] = {{h, frame_header(k, h, id, len)}, {(char *)body, len}};
	*sent = false;
	pthread_mutex_lock(&k->send_mu);
	brk_err err = k->ssl ? gather(k, iov) : BRK_OK;
	if (err == BRK_OK)
		err = write_all(k, iov, k->ssl ? 1 : 2, deadline, sent);
	pthread_mutex_unlock(&k->send_mu);
	if (err && *sent)
		conn_break(k); /* half a frame on the stream: nothing after it would parse */
	return err;
}

/* ---- reading ---- */

/* make_room: compacts the buffer and keeps at least want bytes free. */
static bool make_room(conn *k, size_t want)
{
	if (k->rb_off) {
		memmove(k->rb, k->rb + k->rb_off, k->rb_len - k->rb_off);
		k->rb_len -= k->rb_off;
		k->rb_off = 0;
	}
	if (!k->rb_len && k->rb_cap > KEEP_BUFFER) {
		free(k->rb);
		k->rb = NULL;
		k->rb_cap = 0;
	}
	if (k->rb_cap - k->rb_len >= want)
		return true;
	size_t cap = k->rb_len + want;
	char *rb = realloc(k->rb, cap);
	if (!rb)
		return false;
	k->rb = rb;
	k->rb_cap = cap;
	return true;
}

/* pending_need: bytes free needed to hold the frame under way (at least a chunk). */
static size_t pending_need(const conn *k)
{
	size_t have = k->rb_len - k->rb_off, hl = wire_header_size(k->scheme == SCHEME_IPC);
	if (have < hl)
		return READ_CHUNK;
	uint64_t flen = wire_get64((const unsigned char *)k->rb + k->rb_off + hl - WIRE_LEN_SIZE);
	if (flen > MAX_FRAME || hl + flen <= have)
		return READ_CHUNK;
	size_t missing = (size_t)(hl + flen - have);
	return missing > READ_CHUNK ? missing : READ_CHUNK;
}

static enum conn_recv wait_readable(conn *k, short events, int ms)
{
	struct pollfd p = {k->fd, events, 0};
	int n = poll(&p, 1, ms);
	if (n < 0)
		return errno == EINTR ? CONN_INTR : CONN_CLOSED;
	return n == 0 ? CONN_NONE : CONN_DATA;
}

/* recv_timeout: k's receive timeout is ms (> 0), set only when it changes. */
static int recv_timeout(conn *k, int ms)
{
	struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};
	if (ms == k->rcv_ms)
		return 0;
	if (setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
		return -1;
	k->rcv_ms = ms;
	return 0;
}

/* plain_recv: a blocking recv bounded by SO_RCVTIMEO (a signal ends it too), rather than
 * poll and then recv: the thread sleeps in the read itself, and is woken straight into it.
 * On this VM that is ~10 us of a cross-CPU round trip. Long waits are cut into slices; the
 * caller comes back until its deadline. Plain sockets are blocking for this; writes use
 * MSG_DONTWAIT. */
static enum conn_recv plain_recv(conn *k, size_t room, int ms)
{
	int flags = 0;
	if (ms == 0)
		flags = MSG_DONTWAIT;
	else if (recv_timeout(k, ms < 0 || ms > RECV_SLICE_MS ? RECV_SLICE_MS : ms) != 0)
		return CONN_CLOSED;
	ssize_t n = recv(k->fd, k->rb + k->rb_len, room, flags);
	if (n > 0) {
		k->rb_len += (size_t)n;
		return CONN_DATA;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return CONN_NONE;
	return n < 0 && errno == EINTR ? CONN_INTR : CONN_CLOSED;
}

/* tls_recv: OpenSSL may hold decrypted bytes already, so it reads before it waits. */
static enum conn_recv tls_recv(conn *k, size_t room, int ms)
{
	for (int round = 0; round < 2; round++) {
		pthread_mutex_lock(&k->tls_mu);
		ERR_clear_error();
		int n = SSL_read(k->ssl, k->rb + k->rb_len,
				 (int)(room > INT32_MAX ? INT32_MAX : room));
		int e = SSL_get_error(k->ssl, n);
		pthread_mutex_unlock(&k->tls_mu);
		if (n > 0) {
			k->rb_len += (size_t)n;
			return CONN_DATA;
		}
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return CONN_CLOSED;
		if (round == 1)
			return CONN_NONE;
		enum conn_recv r =
			wait_readable(k, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, ms);
		if (r != CONN_DATA)
			return r;
	}
	return CONN_NONE;
}

enum conn_recv conn_recv(conn *k, int ms)
{
	if (atomic_load(&k->broken))
		return CONN_CLOSED;
	size_t want = pending_need(k);
	if (!make_room(k, want))
		return CONN_CLOSED;
	size_t room = k->rb_cap - k->rb_len;
	return k->ssl ? tls_recv(k, room, ms) : plain_recv(k, room, ms);
}

int conn_frame(conn *k, uint32_t *id, const char **body, size_t *len)
{
	const unsigned char *p = (const unsigned char *)k->rb + k->rb_off;
	size_t have = k->rb_len - k->rb_off, hl = wire_header_size(k->scheme == SCHEME_IPC);
	if (have < hl)
		return 0;
	if (k->scheme == SCHEME_IPC && p[0] != WIRE_IPC_MSG)
		return -1;
	uint64_t flen = wire_get64(p + hl - WIRE_LEN_SIZE);
	if (flen < WIRE_ID_SIZE || flen > MAX_FRAME || (have > hl && !(p[hl] & 0x80)))
		return -1; /* a reply's id has its top bit set */
	if (have - hl < flen)
		return 0;
	*id = wire_get32(p + hl);
	*body = (const char *)p + hl + 4;
	*len = (size_t)flen - 4;
	k->rb_off += hl + (size_t)flen;
	return 1;
}

/* ---- handshake and lifetime ---- */

/* sp_handshake: both sides send "\0SP\0", their protocol id and two zero bytes. */
static brk_err sp_handshake(conn *k, const char *url, double deadline)
{
	uint8_t mine[WIRE_HANDSHAKE_LEN];
	wire_handshake(mine, WIRE_PROTO_REQ);
	struct iovec iov = {mine, sizeof mine};
	bool sent;
	if (write_all(k, &iov, 1, deadline, &sent))
		return fail(BRK_ECONNECT, "cannot connect to %s: %s", url, brk_last_error());
	while (k->rb_len < WIRE_HANDSHAKE_LEN) {
		int ms = conn_ms_until(deadline);
		enum conn_recv r = ms == 0 ? CONN_NONE : conn_recv(k, ms);
		if (r == CONN_CLOSED || (r == CONN_NONE && conn_now() >= deadline))
			return fail(BRK_ECONNECT, "cannot connect to %s: %s", url,
				    r == CONN_CLOSED ? "closed during the handshake"
						     : "no handshake in time");
	}
	if (!wire_handshake_ok((const uint8_t *)k->rb, WIRE_PROTO_REP))
		return fail(BRK_EPROTO, "%s is not a brokerd (REP0) endpoint", url);
	k->rb_off = WIRE_HANDSHAKE_LEN;
	return BRK_OK;
}

static conn *conn_new(int fd, enum scheme scheme)
{
	conn *k = calloc(1, sizeof *k);
	if (!k)
		return NULL;
	k->fd = fd;
	k->scheme = scheme;
	k->rcv_ms = -1;
	if (scheme != SCHEME_TLS) /* see plain_recv */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	atomic_init(&k->refs, 1);
	atomic_init(&k->broken, false);
	pthread_mutex_init(&k->send_mu, NULL);
	pthread_mutex_init(&k->tls_mu, NULL);
	return k;
}

static void conn_free(conn *k)
{
	if (k->ssl)
		SSL_free(k->ssl);
	if (k->fd >= 0)
		close(k->fd);
	pthread_mutex_destroy(&k->send_mu);
	pthread_mutex_destroy(&k->tls_mu);
	free(k->tx);
	free(k->rb);
	free(k);
}

brk_err conn_open(const char *url, const struct conn_tls *tls, double timeout, conn **out)
{
	struct addr a = {0};
	int fd = -1;
	double deadline = conn_now() + timeout;
	*out = NULL;
	brk_err err = parse_url(url, &a);
	if (err)
		return err;
	err = a.scheme == SCHEME_IPC ? dial_ipc(&a, url, deadline, &fd)
				     : dial_tcp(&a, url, deadline, &fd);
	conn *k = err ? NULL : conn_new(fd, a.scheme);
	if (!err && !k) {
		close(fd);
		err = fail(BRK_ENOMEM, NULL);
	}
	if (!err && a.scheme == SCHEME_TLS)
		err = tls_start(k, &a, tls, url, deadline);
	if (!err)
		err = sp_handshake(k, url, deadline);
	free(a.copy);
	if (err && k)
		conn_free(k);
	else
		*out = k;
	return err;
}

void conn_hold(conn *k)
{
	atomic_fetch_add(&k->refs, 1);
}

void conn_release(conn *k)
{
	if (atomic_fetch_sub(&k->refs, 1) != 1)
		return;
	if (k->ssl && !atomic_load(&k->broken)) {
		struct sigpipe_guard g;
		sigpipe_block(&g);
		SSL_shutdown(k->ssl); /* close_notify, best effort: the socket is non-blocking */
		sigpipe_restore(&g, true);
	}
	conn_free(k);
}

void conn_break(conn *k)
{
	if (!atomic_exchange(&k->broken, true))
		shutdown(k->fd, SHUT_RDWR);
}

void conn_drop(conn *k)
{
	/* pthread mutexes the parent's threads may hold are not destroyed, only forgotten */
	if (k->ssl)
		SSL_free(k->ssl); /* no SSL_shutdown: the stream is the parent's */
	close(k->fd);
	free(k->tx);
	free(k->rb);
	free(k);
}

void conn_fork_lock(conn *k)
{
	if (k->ssl)
		pthread_mutex_lock(&k->tls_mu);
}

void conn_fork_unlock(conn *k)
{
	if (k->ssl)
		pthread_mutex_unlock(&k->tls_mu);
}

bool conn_peer_gone(conn *k)
{
	struct pollfd p = {k->fd, POLLIN | POLLRDHUP, 0};
	if (atomic_load(&k->broken))
		return true;
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLRDHUP));
}
