/* main.c: brokerd's entry point: settings, the loop, signals, orderly exit. */
#include <signal.h>
#include <stdlib.h>

#include "config.h"
#include "dispatch.h"
#include "jval.h"
#include "log.h"
#include "notify.h"
#include "object.h"
#include "server.h"
#include "session.h"
#include "wait.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what, (void)arg;
	log_info("received %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	server_shutdown();
}

int main(int argc, char **argv)
{
	struct config conf;
	int rc = config_load(&conf, argc, argv);
	if (rc >= 0)
		return rc;
	log_set_level(conf.log_level);
	jval_set_limits(&conf.limits);
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
	if (server_start(base, &conf) == 0) {
		log_info("brokerd %s ready", BROKER_VERSION);
		notify_systemd("READY=1");
		event_base_dispatch(base);
		log_info("stopped");
	} else {
		rc = EXIT_FAILURE;
	}
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
