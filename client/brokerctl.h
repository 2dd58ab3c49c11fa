/* brokerctl.h: what brokerctl's command files share. */
#ifndef BROKERCTL_H
#define BROKERCTL_H

#include <stdbool.h>

#include "broker.h"

/* Exit statuses, as documented in brokerctl --help. */
enum { EXIT_OK = 0, EXIT_REPLY = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3 };

struct ctl {
	const char *url;                /* NULL: $BROKERD_URL or the default */
	bool json;                      /* machine output */
	const char *token, *token_file; /* NULL: $BROKERD_TOKEN, $BROKERD_TOKEN_FILE */
};

/* ctl_connect: connects or reports why not on stderr. */
brk_client *ctl_connect(const struct ctl *ctl);

/* ctl_usage: prints msg and a pointer to --help on stderr; returns EXIT_USAGE. */
int ctl_usage(const char *msg);

/* cmd_bench: "brokerctl bench" (bench.c). */
int cmd_bench(const struct ctl *ctl, int argc, char **argv);

#endif
