/* config.h: brokerd's settings, from the command line and an optional JSON file. */
#ifndef BROKER_CONFIG_H
#define BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth.h"
#include "journal.h"
#include "jval.h"
#include "log.h"
#include "session.h"

struct listen_conf {
	char *url;
	size_t max_message; /* bytes; a larger request is answered too_big */
	int ipc_mode;       /* permission bits of an ipc:// socket file */
};

struct config {
	struct listen_conf *listen;
	size_t nlisten;
	enum log_level log_level;
	struct jval_limits limits; /* of shared state */
	char *tls_cert, *tls_key;  /* PEM files for tls+tcp:// listeners */
	char *tls_ca;              /* when set, clients must show a certificate it signed */
	char *data_dir;            /* NULL: in memory only (docs/durability.md) */
	enum journal_fsync fsync;
	bool repair;
	double compact_ratio;
	uint64_t compact_min;
	size_t max_clients;   /* connections open at once (lowered to what the fd limit allows) */
	double stall_timeout; /* seconds a handshake or a message begun may stall */
	bool unprotected;     /* network listeners without authentication were allowed */
	/* ipc peers allowed besides root and brokerd's own user; none listed: the socket's
	 * mode decides alone */
	unsigned *allow_uids; /* uid_t values */
	unsigned *allow_gids; /* gid_t values */
	size_t nallow_uids, nallow_gids;
	gid_t ipc_group;         /* (gid_t)-1: the socket file keeps brokerd's group */
	struct auth_conf auth;   /* principals and the anonymous role */
	struct sess_limits sess; /* what one session may hold */
	size_t max_memory;       /* 0: no limit */
	char *metrics;           /* "HOST:PORT" of the Prometheus endpoint, or NULL */
};

/* config_load: fills c from argv (and --config FILE). Returns -1 to run; otherwise the
 * process should exit with the returned status (0 after --help/--version, 2 on a usage or
 * config error, already reported on stderr). */
int config_load(struct config *c, int argc, char **argv);

/* config_swap_reloadable: the settings a reload changes (log level, limits, access) trade
 * places between running and fresh (config_fini(fresh) then frees the old ones). */
void config_swap_reloadable(struct config *running, struct config *fresh);

/* config_restart_needed: how many groups of settings (listeners, TLS files, the data dir)
 * differ between a and b, which only a restart applies; their names into out. */
size_t config_restart_needed(const struct config *a, const struct config *b, char *out,
			     size_t size);

/* config_fini: frees what config_load allocated. */
void config_fini(struct config *c);

#endif
