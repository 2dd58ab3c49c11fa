/* server.h: the nng side of brokerd: one raw REP socket, its listeners, the receive and
 * send descriptors as loop events, an app-side send queue, pipe events handed from nng's
 * threads to the loop, and the orderly shutdown. */
#ifndef BROKER_SERVER_H
#define BROKER_SERVER_H

#include <event2/event.h>
#include <jansson.h>

#include "config.h"

/* server_start: opens the socket and starts every listener of c on base. 0, or -1 after
 * logging why (address in use, bad URL, ...). */
int server_start(struct event_base *base, const struct config *c);

/* server_shutdown: answers every parked request with shutting_down, refuses new ones,
 * flushes the send queue, then ends the loop. Safe to call more than once. */
void server_shutdown(void);

/* server_close: closes the socket and frees the server's state (after the loop ended).
 * Call it after sess_fini. Returns -1 (and logs) if some request was neither answered nor
 * released: every request must leave through the dispatch hook exactly once. */
int server_close(void);

/* server_describe: adds "uptime" and "listeners" to info. */
void server_describe(json_t *info);

#endif
