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

/* ctl_status: the exit status of err, after printing an error reply on stderr (with a
 * hint for forbidden). */
int ctl_status(brk_err err);

/* ctl_print_json: v (borrowed) as one line of compact JSON on stdout. */
void ctl_print_json(const json_t *v);

/* info_print: brokerd's info reply (borrowed) for people, in sections (info.c). */
void info_print(const json_t *info);

/* info_busiest_ops_new: rows [op, per_sec, calls] of info's ops.by_op (borrowed), the
 * busiest first (per second, then calls), at most max of them; a new array. */
json_t *info_busiest_ops_new(const json_t *by_op, size_t max);

/* cmd_bench: "brokerctl bench" (bench.c). */
int cmd_bench(const struct ctl *ctl, int argc, char **argv);

/* cmd_top: "brokerctl top", a live view (top.c). */
int cmd_top(brk_client *c, const struct ctl *ctl, int argc, char **argv);

#endif
