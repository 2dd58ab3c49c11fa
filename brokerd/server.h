/* server.h: brokerd's transport as a whole: its listeners (listen.h) and connections
 * (conn.h) on the loop, and the orderly shutdown. */
#ifndef BROKER_SERVER_H
#define BROKER_SERVER_H

#include <event2/event.h>
#include <jansson.h>

#include "config.h"

/* server_init: the connections' settings and limits of c, and its TLS context, on base;
 * no listener yet. 0, or -1 after logging why (an unreadable certificate, ...). */
int server_init(struct event_base *base, const struct config *c);

/* server_start: starts every listener of c on base, after server_init. 0, or -1 after
 * logging why (address in use, bad URL, ...). */
int server_start(struct event_base *base, const struct config *c);

/* server_shutdown: answers every parked request with shutting_down, stops accepting and
 * reading, and ends the loop once every reply is written (at most EXIT_LIMIT seconds).
 * Safe to call more than once. */
void server_shutdown(void);

/* server_reload: applies c's connection settings (stall timeout, max clients, ipc access)
 * to the running server; c is borrowed as server_init's was. */
void server_reload(const struct config *c);

/* server_shutdown_soon: server_shutdown at the loop's next turn (the shutdown op: its own
 * reply goes out first). */
void server_shutdown_soon(void);

/* server_close: closes every connection and listener and frees the server's state (after
 * the loop ended). Returns -1 (and logs) if some request was neither answered nor
 * released: every request must leave through the dispatch hook exactly once. */
int server_close(void);

/* server_describe: adds "uptime", "connections" and "listeners" to info. */
void server_describe(json_t *info);

#endif
