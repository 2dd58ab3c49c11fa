/* rawsp.c: the bare-socket SP client of rawsp.h, and the /proc readings the transport tests
 * and benchmarks assert on. */
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rawsp.h"

const unsigned char SP_HELLO_REQ[8] = {0x00, 0x53, 0x50, 0x00, 0x00, 0x30, 0x00, 0x00};

double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int connect_ipc(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return -1;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* connect_tcp: hostport is "HOST:PORT" (HOST may be [v6]). */
static int connect_tcp(const char *hostport)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	if (!colon || (size_t)(colon - hostport) >= sizeof host)
		return -1;
	snprintf(host, sizeof host, "%.*s", (int)(colon - hostport), hostport);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int start_tls(struct sp *s, const char *host, const struct sp_tls *tls)
{
	s->ctx = SSL_CTX_new(TLS_client_method());
	if (!s->ctx)
		return -1;
	if (tls && tls->ca) {
		if (SSL_CTX_load_verify_locations(s->ctx, tls->ca, NULL) != 1)
			return -1;
		SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
	}
	if (tls && tls->cert &&
	    (SSL_CTX_use_certificate_chain_file(s->ctx, tls->cert) != 1 ||
	     SSL_CTX_use_PrivateKey_file(s->ctx, tls->key, SSL_FILETYPE_PEM) != 1))
		return -1;
	s->ssl = SSL_new(s->ctx);
	if (!s->ssl)
		return -1;
	SSL_set_fd(s->ssl, s->fd);
	if (tls && tls->ca) {
		X509_VERIFY_PARAM *p = SSL_get0_param(s->ssl);
		if (X509_VERIFY_PARAM_set1_ip_asc(p, host) != 1)
			X509_VERIFY_PARAM_set1_host(p, host, 0);
	}
	if (SSL_connect(s->ssl) != 1)
		return -1;
	/* TLS 1.3 reports a refused client certificate only at the first read: make it show
	 * here, as a failed connect, by peeking with a short wait. */
	struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
	if (poll(&pfd, 1, 100) == 1) {
		char c;
		if (SSL_peek(s->ssl, &c, 1) <= 0 && SSL_get_error(s->ssl, 0) != SSL_ERROR_WANT_READ)
			return -1;
	}
	return 0;
}

int sp_connect(struct sp *s, const char *url, const struct sp_tls *tls)
{
	*s = (struct sp){.fd = -1, .next_id = 1};
	if (!strncmp(url, "ipc://", 6)) {
		s->ipc = true;
		s->fd = connect_ipc(url + 6);
	} else if (!strncmp(url, "tcp://", 6)) {
		s->fd = connect_tcp(url + 6);
	} else if (!strncmp(url, "tls+tcp://", 10)) {
		char host[256];
		snprintf(host, sizeof host, "%s", url + 10);
		*strrchr(host, ':') = '\0';
		s->fd = connect_tcp(url + 10);
		if (s->fd >= 0 && start_tls(s, host, tls) != 0) {
			sp_close(s);
			return -1;
		}
	}
	return s->fd >= 0 ? 0 : -1;
}

int sp_dial(struct sp *s, const char *url, const struct sp_tls *tls)
{
	unsigned char peer[8];
	static const unsigned char rep[8] = {0x00, 0x53, 0x50, 0x00, 0x00, 0x31, 0x00, 0x00};
	if (sp_connect(s, url, tls) != 0)
		return -1;
	if (sp_write(s, SP_HELLO_REQ, 8) != 0 || sp_read(s, peer, 8, 5000) != 8 ||
	    memcmp(peer, rep, 8) != 0) {
		sp_close(s);
		return -1;
	}
	return 0;
}

int sp_write(struct sp *s, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n =
			s->ssl ? SSL_write(s->ssl, p, (int)len) : send(s->fd, p, len, MSG_NOSIGNAL);
		if (n <= 0) {
			if (!s->ssl && n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t sp_read(struct sp *s, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;
	size_t got = 0;
	double end = mono_ms() + timeout_ms;
	while (got < len) {
		if (!s->ssl || SSL_pending(s->ssl) == 0) {
			struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
			int left = (int)(end - mono_ms());
			if (left < 0 || poll(&pfd, 1, left) == 0)
				return -1;
		}
		ssize_t n = s->ssl ? SSL_read(s->ssl, p + got, (int)(len - got))
				   : recv(s->fd, p + got, len - got, 0);
		if (n < 0 && !s->ssl && errno == EINTR)
			continue;
		if (n < 0 && s->ssl && SSL_get_error(s->ssl, (int)n) == SSL_ERROR_WANT_READ)
			continue;
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

size_t sp_frame_header(const struct sp *s, unsigned char *hdr, uint64_t len)
{
	size_t at = 0;
	if (s->ipc)
		hdr[at++] = 0x01;
	for (int i = 7; i >= 0; i--)
		hdr[at++] = (unsigned char)(len >> (8 * i));
	return at;
}

int sp_send(struct sp *s, uint32_t id, const void *body, size_t len)
{
	unsigned char hdr[13];
	size_t n = sp_frame_header(s, hdr, len + 4);
	for (int i = 0; i < 4; i++)
		hdr[n++] = (unsigned char)(id >> (24 - 8 * i));
	if (sp_write(s, hdr, n) != 0)
		return -1;
	return len ? sp_write(s, body, len) : 0;
}

int sp_recv(struct sp *s, uint32_t *id, char **body, size_t *len, int timeout_ms)
{
	unsigned char hdr[9], idb[4];
	size_t hl = s->ipc ? 9 : 8;
	double end = mono_ms() + timeout_ms;
	ssize_t n = sp_read(s, hdr, hl, timeout_ms);
	if (n <= 0)
		return (int)n;
	if (s->ipc && hdr[0] != 0x01)
		return -1;
	uint64_t size = 0;
	for (size_t i = hl - 8; i < hl; i++)
		size = size << 8 | hdr[i];
	if (size < 4 || size > (1ull << 31))
		return -1;
	int left = (int)(end - mono_ms()) + 1000; /* the rest of a message may lag its head */
	if ((n = sp_read(s, idb, 4, left)) <= 0)
		return (int)n;
	*id = (uint32_t)idb[0] << 24 | (uint32_t)idb[1] << 16 | (uint32_t)idb[2] << 8 | idb[3];
	*len = (size_t)size - 4;
	*body = malloc(*len + 1);
	if (!*body)
		return -1;
	if (*len && (n = sp_read(s, *body, *len, left + 5000)) <= 0) {
		free(*body);
		*body = NULL;
		return (int)n;
	}
	(*body)[*len] = '\0';
	return 1;
}

char *sp_call(struct sp *s, const char *json, int timeout_ms)
{
	uint32_t id = 0x80000000u | s->next_id++, got;
	char *body;
	size_t len;
	if (sp_send(s, id, json, strlen(json)) != 0)
		return NULL;
	while (sp_recv(s, &got, &body, &len, timeout_ms) == 1) {
		if (got == id)
			return body;
		free(body); /* a reply to a request we gave up on */
	}
	return NULL;
}

bool sp_closed(struct sp *s, int timeout_ms)
{
	char buf[4096];
	double end = mono_ms() + timeout_ms;
	for (;;) {
		int left = (int)(end - mono_ms());
		if (left < 0)
			return false;
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		if (!(s->ssl && SSL_pending(s->ssl)) && poll(&pfd, 1, left) == 0)
			return false;
		ssize_t n = s->ssl ? SSL_read(s->ssl, buf, sizeof buf)
				   : recv(s->fd, buf, sizeof buf, 0);
		if (n < 0 && !s->ssl && errno == EINTR)
			continue;
		if (n < 0 && s->ssl && SSL_get_error(s->ssl, (int)n) == SSL_ERROR_WANT_READ)
			continue;
		if (n <= 0)
			return true;
	}
}

void sp_close(struct sp *s)
{
	if (s->ssl)
		SSL_free(s->ssl);
	if (s->ctx)
		SSL_CTX_free(s->ctx);
	if (s->fd >= 0)
		close(s->fd);
	s->ssl = NULL;
	s->ctx = NULL;
	s->fd = -1;
}

int proc_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

long proc_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long v = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			v = strtol(line + flen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

json_t *sp_call_json(struct sp *s, const char *request)
{
	char *body = sp_call(s, request, 5000);
	json_t *reply = body ? json_loads(body, 0, NULL) : NULL;
	free(body);
	return reply;
}

const char *sp_code(struct sp *s, const char *request, char *message, size_t size)
{
	static char code[64];
	json_t *reply = sp_call_json(s, request);
	const char *err = json_string_value(json_object_get(reply, "error"));
	snprintf(code, sizeof code, "%s",
		 !reply                                       ? "no reply"
		 : json_is_true(json_object_get(reply, "ok")) ? "ok"
							      : err);
	if (message)
		snprintf(message, size, "%s",
			 reply ? json_string_value(json_object_get(reply, "message")) : "");
	json_decref(reply);
	return code;
}

int sp_certs_make(char *dir, const char *certs_sh)
{
	char cmd[256];
	strcpy(dir, "/tmp/brokerd-certs-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(cmd, sizeof cmd, "sh %s %s", certs_sh, dir);
	return system(cmd) == 0 ? 0 : -1;
}

int sp_certs_remove(const char *dir)
{
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

const char *sp_cert(const char *dir, const char *file)
{
	static char buf[4][160];
	static int next;
	char *p = buf[next++ % 4];
	snprintf(p, sizeof buf[0], "%s/%s", dir, file);
	return p;
}
