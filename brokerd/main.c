/* main.c: brokerd's entry point: settings, the loop, signals, orderly exit. */
#include <signal.h>
#include <stdlib.h>

#include "auth.h"
#include "config.h"
#include "mem.h"
#include "dispatch.h"
#include "jval.h"
#include "log.h"
#include "notify.h"
#include "object.h"
#include "persist.h"
#include "server.h"
#include "session.h"
#include "wait.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what, (void)arg;
	log_info("received %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	server_shutdown();
}

/* run: the loop, one turn at a time: the end of each turn commits what its callbacks
 * logged and only then sends their replies (persist_flush). */
static void run(struct event_base *base)
{
	while (!event_base_got_exit(base) && !event_base_got_break(base)) {
		if (event_base_loop(base, EVLOOP_ONCE) != 0)
			break;
		persist_flush();
	}
}

/* apply_limits: who may do what, and what one session and brokerd as a whole may hold. */
static void apply_limits(const struct config *conf)
{
	auth_install(&conf->auth);
	sess_set_limits(&conf->sess);
	mem_set_limit(conf->max_memory);
	if (conf->max_memory)
		log_info("max-memory %zu MiB", conf->max_memory >> 20);
	if (conf->auth.n)
		log_info("%zu principals; sessions none matches have role %s", conf->auth.n,
			 auth_role_name(conf->auth.anonymous));
}

static int start(struct event_base *base, const struct config *conf)
{
	struct persist_conf pc = {conf->data_dir, conf->fsync, conf->repair, conf->compact_ratio,
				  conf->compact_min};
	/* the data dir loads before any client can connect */
	if (server_init(base, conf) != 0 || persist_start(base, &pc) != 0 ||
	    server_start(base, conf) != 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct config conf;
	int rc = config_load(&conf, argc, argv);
	if (rc >= 0)
		return rc;
	log_set_level(conf.log_level);
	jval_set_limits(&conf.limits);
	apply_limits(&conf);
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	if (!base) {
		log_error("cannot create the event loop");
		return EXIT_FAILURE;
	}
	sess_init();
	obj_init();
	wait_init(base);
	struct event *term = evsignal_new(base, SIGTERM, on_signal, NULL);
	struct event *intr = evsignal_new(base, SIGINT, on_signal, NULL);
	event_add(term, NULL);
	event_add(intr, NULL);
	rc = EXIT_SUCCESS;
	if (start(base, &conf) == 0) {
		log_info("brokerd %s ready", BROKER_VERSION);
		notify_systemd("READY=1");
		run(base);
		log_info("stopped");
	} else {
		rc = EXIT_FAILURE;
	}
	persist_stop();
	if (server_close() != 0) /* closes every connection, and so its session */
		rc = EXIT_FAILURE;
	sess_fini();
	obj_fini();
	wait_fini();
	event_free(term);
	event_free(intr);
	event_base_free(base);
	config_fini(&conf);
	return rc;
}
