/* server.c: brokerd's transport, its own: listeners and connections are libevent objects
 * on the one loop (docs/design.md "Transport" says why not libnng), speaking nng's SP wire
 * format. This file starts and stops them as a whole. */
#include <stdlib.h>
#include <sys/resource.h>

#include "clock.h"
#include "conn.h"
#include "dispatch.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "object.h"
#include "persist.h"
#include "server.h"
#include "session.h"
#include "wait.h"

#define EXIT_LIMIT 2.0  /* seconds shutdown may take to write the last replies */
#define RESERVED_FDS 32 /* descriptors kept for listeners, the data dir, logs */

static struct event_base *loop;
static struct event *exit_ev, *shutdown_ev, *tick_ev, *watchdog_ev;
static struct listener *listeners;
static size_t nlisteners;
static SSL_CTX *tls;
static double started;
static bool stopping;
static size_t max_clients;

static void on_exit_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	event_base_loopexit(loop, NULL);
}

static bool wants_tls(const struct config *c)
{
	for (size_t i = 0; i < c->nlisten; i++)
		if (listen_is_tls(c->listen[i].url))
			return true;
	return false;
}

/* limit_clients: raises the open-files limit to its hard limit and caps the connections
 * at what it allows (logged), so that running out of descriptors turns new clients away
 * rather than failing the ones already there. */
static void limit_clients(const struct config *c)
{
	struct rlimit rl;
	size_t max = c->max_clients;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rlim_t had = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			rl.rlim_cur = had;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		size_t room = rl.rlim_cur > RESERVED_FDS ? (size_t)rl.rlim_cur - RESERVED_FDS : 1;
		if (room < max) {
			log_warn(
				"max_clients lowered from %zu to %zu: the open-files limit is %llu",
				max, room, (unsigned long long)rl.rlim_cur);
			max = room;
		}
	}
	log_info("up to %zu clients at once (open-files limit %llu)", max,
		 (unsigned long long)rl.rlim_cur);
	listen_limit(max);
	max_clients = max;
}

/* on_tick: once a second: the per-second rates, and systemd's status line. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	dispatch_tick();
	notify_status("%zu sessions, %zu objects, %zu parked, %llu requests/s", sess_count(),
		      obj_count(), wait_count(), dispatch_requests_per_sec());
}

/* on_watchdog: the loop is turning: tells systemd (WatchdogSec). */
static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	notify_systemd("WATCHDOG=1");
}

/* start_timers: the tick, and the watchdog pings when systemd watches brokerd. */
static int start_timers(struct event_base *base)
{
	double every = notify_watchdog_interval();
	struct timeval second = {1, 0},
		       ping = {(time_t)every, (long)((every - (time_t)every) * 1e6)};
	tick_ev = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	if (!tick_ev || event_add(tick_ev, &second) != 0)
		return -1;
	if (every <= 0)
		return 0;
	log_info("systemd watchdog: a ping every %.1f s", every);
	watchdog_ev = event_new(base, -1, EV_PERSIST, on_watchdog, NULL);
	return watchdog_ev && event_add(watchdog_ev, &ping) == 0 ? 0 : -1;
}

void server_reload(const struct config *c)
{
	conn_set_stall_timeout(c->stall_timeout);
	limit_clients(c);
	listen_ipc_access(c);
}

int server_init(struct event_base *base, const struct config *c)
{
	loop = base;
	started = clock_now();
	conn_init(base);
	conn_set_stall_timeout(c->stall_timeout);
	listen_ipc_access(c);
	if (c->unprotected)
		log_warn("protected mode is off: clients reaching a network listener are not "
			 "authenticated");
	limit_clients(c);
	exit_ev = evtimer_new(base, on_exit_timer, NULL);
	listeners = calloc(c->nlisten, sizeof *listeners);
	if (!exit_ev || !listeners || start_timers(base) != 0)
		return -1;
	if (wants_tls(c) && !(tls = listen_tls_new(c)))
		return -1;
	return 0;
}

int server_start(struct event_base *base, const struct config *c)
{
	for (size_t i = 0; i < c->nlisten; i++, nlisteners++)
		if (listen_start(base, &c->listen[i], tls, &listeners[i]) != 0)
			return -1;
	return 0;
}

static void on_shutdown_asked(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	server_shutdown();
}

void server_shutdown_soon(void)
{
	if (!shutdown_ev)
		shutdown_ev = event_new(loop, -1, 0, on_shutdown_asked, NULL);
	if (shutdown_ev)
		event_active(shutdown_ev, EV_TIMEOUT, 0);
}

static void all_written(void)
{
	event_active(exit_ev, EV_TIMEOUT, 0);
}

void server_shutdown(void)
{
	struct timeval limit = {(time_t)EXIT_LIMIT, 0};
	if (stopping)
		return;
	stopping = true;
	notify_systemd("STOPPING=1");
	log_info("shutting down: answering %zu parked requests", wait_count());
	for (size_t i = 0; i < nlisteners; i++)
		listen_stop(&listeners[i]);
	dispatch_set_shutting_down();
	wait_complete_all(BRK_ESHUTDOWN, "brokerd is shutting down");
	persist_settle(); /* the replies held for a commit go out with the rest */
	event_add(exit_ev, &limit);
	conn_shutdown(all_written);
}

int server_close(void)
{
	conn_close_all();
	for (size_t i = 0; i < nlisteners; i++)
		listen_stop(&listeners[i]);
	free(listeners);
	listeners = NULL;
	nlisteners = 0;
	if (exit_ev)
		event_free(exit_ev);
	if (shutdown_ev)
		event_free(shutdown_ev);
	if (tick_ev)
		event_free(tick_ev);
	if (watchdog_ev)
		event_free(watchdog_ev);
	exit_ev = shutdown_ev = tick_ev = watchdog_ev = NULL;
	SSL_CTX_free(tls);
	tls = NULL;
	dispatch_fini();
	long live = conn_live_requests();
	if (live == 0)
		return 0;
	log_error("%ld requests were never answered nor released (a bug)", live);
	return -1;
}

void server_describe(json_t *info)
{
	json_t *list = json_array();
	for (size_t i = 0; i < nlisteners && list; i++)
		json_array_append_new(list, json_pack("{s:s, s:I}", "url", listeners[i].url,
						      "max_message",
						      (json_int_t)listeners[i].origin.max_message));
	json_object_set_new(info, "uptime", json_real(loop ? clock_now() - started : 0));
	unsigned long long over, nofd, peer;
	listen_refused(&over, &nofd, &peer);
	json_object_set_new(info, "connections", json_integer((json_int_t)conn_count()));
	json_object_set_new(info, "max_clients", json_integer((json_int_t)max_clients));
	struct conn_closes cc;
	conn_closes(&cc);
	json_object_set_new(info, "closed_connections",
			    json_pack("{s:I, s:I, s:I, s:I}", "handshake_timeout",
				      (json_int_t)cc.handshake_timeout, "message_timeout",
				      (json_int_t)cc.message_timeout, "peer_vanished",
				      (json_int_t)cc.peer_vanished, "protocol_error",
				      (json_int_t)cc.protocol_error));
	json_object_set_new(info, "replies_too_big", json_integer((json_int_t)cc.reply_too_big));
	unsigned long long in, out;
	conn_bytes(&in, &out);
	json_object_set_new(info, "bytes",
			    json_pack("{s:I, s:I}", "in", (json_int_t)in, "out", (json_int_t)out));
	json_object_set_new(info, "refused_connections",
			    json_pack("{s:I, s:I, s:I}", "max_clients", (json_int_t)over, "no_fd",
				      (json_int_t)nofd, "ipc_peer", (json_int_t)peer));
	json_object_set_new(info, "listeners", list);
}
