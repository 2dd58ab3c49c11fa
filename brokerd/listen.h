/* listen.h: brokerd's listeners: ipc:// (a Unix socket file), tcp:// and tls+tcp://
 * addresses bound on the loop; each accepted socket becomes a connection (conn.h). */
#ifndef BROKER_LISTEN_H
#define BROKER_LISTEN_H

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "config.h"
#include "conn.h"

struct listener {
	char *url;
	char *path; /* ipc: the socket file, removed at close */
	struct conn_origin origin;
	struct evconnlistener *ev;
	SSL_CTX *tls;        /* tls+tcp: the server context (borrowed) */
	struct event *retry; /* re-enables accepting after running out of descriptors */
};

/* listen_start: binds lc's address on base and starts accepting into out. tls is the
 * server context for a tls+tcp:// address (borrowed; NULL otherwise). 0, or -1 after
 * logging why (bad URL, address in use, ...). */
int listen_start(struct event_base *base, const struct listen_conf *lc, SSL_CTX *tls,
		 struct listener *out);

/* listen_stop: stops accepting, removes an ipc socket file, frees what out holds. */
void listen_stop(struct listener *l);

/* listen_limit: from now on at most max_clients connections are open at once; a connection
 * past it is closed at once (counted, logged at most once a second), and so is one that
 * comes when brokerd is out of descriptors, rather than leaving it waiting. */
void listen_limit(size_t max_clients);

/* listen_refused: connections closed at once since start: past max_clients, and for want
 * of descriptors. */
void listen_refused(unsigned long long *over_limit, unsigned long long *no_fd);

/* listen_is_tls: whether url is a tls+tcp:// address. */
bool listen_is_tls(const char *url);

/* listen_tls_new: the TLS server context for c's certificate, key and optional client CA
 * (clients must then present a certificate it signed). NULL after logging why. */
SSL_CTX *listen_tls_new(const struct config *c);

#endif
