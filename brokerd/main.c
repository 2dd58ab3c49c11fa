/* main.c: brokerd's entry point: settings, the loop, signals, orderly exit. */
#include <signal.h>
#include <stdlib.h>

#include "auth.h"
#include "config.h"
#include "mem.h"
#include "dispatch.h"
#include "jval.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "object.h"
#include "persist.h"
#include "server.h"
#include "session.h"
#include "wait.h"

static struct config running; /* the settings in force */
static int saved_argc;
static char **saved_argv;

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
	log_set_level(conf->log_level);
	jval_set_limits(&conf->limits);
	auth_install(&conf->auth);
	sess_set_limits(&conf->sess);
	mem_set_limit(conf->max_memory);
	if (conf->max_memory)
		log_info("max-memory %zu MiB", conf->max_memory >> 20);
	if (conf->auth.n)
		log_info("%zu principals; sessions none matches have role %s", conf->auth.n,
			 auth_role_name(conf->auth.anonymous));
}

/* on_reload: SIGHUP: the config again. What it can change takes effect at once (log
 * level, limits, principals and access: sessions keep principals of the same name, with
 * their new roles); listeners, TLS files and the data dir are logged as needing a restart.
 * A config with errors changes nothing. */
static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct config fresh;
	char restart[128];
	(void)sig, (void)what, (void)arg;
	log_info("SIGHUP: reloading the config");
	if (config_load(&fresh, saved_argc, saved_argv) >= 0) {
		log_error("SIGHUP: the config has errors (above): the one running stays");
		return;
	}
	if (config_restart_needed(&running, &fresh, restart, sizeof restart))
		log_warn("SIGHUP: %s changed: they take effect at the next restart", restart);
	config_swap_reloadable(&running, &fresh);
	apply_limits(&running);
	auth_rebind();
	server_reload(&running);
	config_fini(&fresh);
	log_info("SIGHUP: config reloaded");
}

static int start(struct event_base *base, const struct config *conf)
{
	struct persist_conf pc = {conf->data_dir, conf->fsync, conf->repair, conf->compact_ratio,
				  conf->compact_min};
	/* the data dir loads before any client can connect */
	if (server_init(base, conf) != 0 || persist_start(base, &pc) != 0 ||
	    server_start(base, conf) != 0 || (conf->metrics && metrics_start(base, conf->metrics)))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	int rc = config_load(&running, argc, argv);
	if (rc >= 0)
		return rc;
	saved_argc = argc;
	saved_argv = argv;
	apply_limits(&running);
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	if (!base) {
		log_error("cannot create the event loop");
		return EXIT_FAILURE;
	}
	sess_init();
	obj_init();
	wait_init(base);
	mem_start(base);
	struct event *term = evsignal_new(base, SIGTERM, on_signal, NULL);
	struct event *intr = evsignal_new(base, SIGINT, on_signal, NULL);
	struct event *hup = evsignal_new(base, SIGHUP, on_reload, NULL);
	event_add(term, NULL);
	event_add(intr, NULL);
	event_add(hup, NULL);
	rc = EXIT_SUCCESS;
	if (start(base, &running) == 0) {
		log_info("brokerd %s ready", BROKER_VERSION);
		notify_systemd("READY=1");
		run(base);
		log_info("stopped");
	} else {
		rc = EXIT_FAILURE;
	}
	persist_stop();
	metrics_stop();
	if (server_close() != 0) /* closes every connection, and so its session */
		rc = EXIT_FAILURE;
	sess_fini();
	obj_fini();
	wait_fini();
	mem_stop();
	event_free(term); /* these put back the default actions: a second SIGTERM ... */
	event_free(intr);
	event_free(hup);
	signal(SIGTERM, SIG_IGN); /* ... would kill brokerd in its last steps */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	event_base_free(base);
	config_fini(&running);
	return rc;
}
