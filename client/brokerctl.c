/* brokerctl.c: the operator's command line for brokerd: inspect, poke, script, measure. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "brokerctl.h"
#include "envelope.h"
#include "ops.h"
#include "table.h"
#include "url.h"

/* The overview's head and tail; its middle is the command table (see "help"). */
static const char usage_head[] =
	"Usage: brokerctl [--url URL] [--token-file FILE] [--json] COMMAND [ARGS]\n"
	"Inspects and drives a running brokerd.\n"
	"\n"
	"Commands:\n";

static const char usage_tail[] =
	"\n"
	"'brokerctl COMMAND --help' (or 'brokerctl help COMMAND') tells more of one.\n"
	"\n"
	"Options:\n"
	"  -u, --url URL   brokerd's address (default: $BROKERD_URL, else %s)\n"
	"  --token-file FILE\n"
	"                  authenticate with the token on FILE's first line (a file that\n"
	"                  others may not read; default: $BROKERD_TOKEN_FILE)\n"
	"  --token TOKEN   authenticate with TOKEN (default: $BROKERD_TOKEN); prefer\n"
	"                  --token-file or the environment: ps shows command lines\n"
	"  -j, --json      print results as JSON\n"
	"  -h, --help      show this help\n"
	"  -V, --version   show the version\n"
	"\n"
	"VALUE and KEY are JSON; a word that is not valid JSON is taken as a string\n"
	"(so 42 is a number and '\"42\"' a string). Put -- before a negative number.\n"
	"tls+tcp:// addresses take the CA, and a client certificate and key if the daemon asks\n"
	"for one, from $BROKERD_TLS_CA, $BROKERD_TLS_CERT and $BROKERD_TLS_KEY (PEM files).\n"
	"A brokerd configured with principals answers 'unauthorized' until a token is given\n"
	"(--token, --token-file, $BROKERD_TOKEN or $BROKERD_TOKEN_FILE, in that order).\n"
	"Exit status: 0 ok, 1 brokerd answered with an error, 2 usage, 3 cannot connect\n"
	"(or brokerd refused the token).\n";

int ctl_usage(const char *msg)
{
	fprintf(stderr, "brokerctl: %s\nTry 'brokerctl --help'.\n", msg);
	return EXIT_USAGE;
}

brk_client *ctl_connect(const struct ctl *ctl)
{
	brk_client *c;
	brk_options o = {.token = ctl->token, .token_file = ctl->token_file};
	brk_err err = brk_connect(ctl->url, &o, &c);
	if (err == BRK_EUNAUTHORIZED)
		fprintf(stderr, "brokerctl: unauthorized: %s\n", brk_last_error());
	else if (err)
		fprintf(stderr, "brokerctl: %s\n", brk_last_error());
	return err ? NULL : c;
}

int ctl_status(brk_err err)
{
	if (err == BRK_OK)
		return EXIT_OK;
	fprintf(stderr, "brokerctl: %s: %s\n", brk_err_code(err), brk_last_error());
	if (err == BRK_EFORBIDDEN)
		fputs("brokerctl: this needs a token of a principal whose role allows it "
		      "(--token-file FILE)\n",
		      stderr);
	return err == BRK_ECONNECT ? EXIT_CONNECT : EXIT_REPLY;
}

void ctl_print_json(const json_t *v)
{
	char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	puts(text ? text : "null");
	free(text);
}

/* parse_value: argv text as JSON, or as a string when it is not JSON. */
static json_t *parse_value(const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
	return v ? v : json_string(text);
}

/* without_dashdash: drops a "--" from the arguments of a command that takes no options
 * (so "-- -5" works there as with the others); returns the new argc. */
static int without_dashdash(int argc, char **argv)
{
	int n = 0;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--") || n == 0)
			argv[n++] = argv[i];
	return n;
}

static bool want_args(int argc, int lo, int hi)
{
	return argc >= lo && argc <= hi;
}

/* ---- daemon ---- */

static int cmd_ping(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	(void)argv;
	if (!want_args(argc, 1, 1))
		return ctl_usage("ping takes no arguments");
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	brk_err err = brk_ping(c);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double us = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	if (err == BRK_OK && ctl->json)
		printf("{\"result\":\"pong\",\"rtt_us\":%.1f}\n", us);
	else if (err == BRK_OK)
		printf("pong (%.0f µs)\n", us);
	return ctl_status(err);
}

static void print_fields(const json_t *obj)
{
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)obj, key, v) {
		char *text = cell_text(v);
		printf("%-12s %s\n", key, text ? text : "?");
		free(text);
	}
}

/* show: prints a result as JSON or as "key value" lines. */
static int show(const struct ctl *ctl, brk_err err, json_t *result)
{
	if (err == BRK_OK && ctl->json)
		ctl_print_json(result);
	else if (err == BRK_OK)
		print_fields(result);
	json_decref(result);
	return ctl_status(err);
}

static int cmd_info(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	json_t *info = NULL;
	(void)argv;
	if (!want_args(argc, 1, 1))
		return ctl_usage("info takes no arguments");
	brk_err err = brk_info(c, &info);
	if (err == BRK_OK && !ctl->json) {
		info_print(info);
		json_decref(info);
		return EXIT_OK;
	}
	return show(ctl, err, info);
}

static int cmd_save(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	json_t *result = NULL, *req = brk_request_new(BRK_OP_SAVE, NULL, NULL);
	(void)argv;
	if (!want_args(argc, 1, 1))
		return ctl_usage("save takes no arguments");
	brk_err err = brk_call(c, req, &result);
	json_decref(req);
	if (err == BRK_OK && !ctl->json) {
		printf("saved: generation %lld in %.3f s\n",
		       (long long)json_integer_value(json_object_get(result, "generation")),
		       json_number_value(json_object_get(result, "seconds")));
		json_decref(result);
		return ctl_status(err);
	}
	return show(ctl, err, result);
}

/* end_text: one end of a pipe's stat for people: "open by session 3 (pid 812); 2
 * messages (14 bytes) to receive; parked: 1 recv, 0 poll, 0 send". */
static json_t *end_text(const json_t *end)
{
	char text[512], who[128] = "";
	const json_t *holder = json_object_get(end, "holder");
	const json_t *pid = json_object_get(holder, "pid");
	long long session = (long long)json_integer_value(json_object_get(holder, "session"));
	if (json_is_object(holder) && pid)
		snprintf(who, sizeof who, " by session %lld (pid %lld)", session,
			 (long long)json_integer_value(pid));
	else if (json_is_object(holder))
		snprintf(who, sizeof who, " by session %lld (%s)", session,
			 json_string_value(json_object_get(holder, "peer")));
	snprintf(
		text, sizeof text,
		"%s%s; %lld messages (%lld bytes) to receive; parked: %zu recv, %zu poll, %zu send",
		json_string_value(json_object_get(end, "state")), who,
		(long long)json_integer_value(json_object_get(end, "buffered")),
		(long long)json_integer_value(json_object_get(end, "bytes")),
		json_array_size(json_object_get(end, "receivers")),
		json_array_size(json_object_get(end, "pollers")),
		json_array_size(json_object_get(end, "senders")));
	return json_string(text);
}

/* seconds_since: from the Unix time since to now, never negative (clocks of a second's
 * precision). */
static double seconds_since(const struct timespec *now, double since)
{
	double d = (double)now->tv_sec + now->tv_nsec / 1e9 - since;
	return d > 0 ? d : 0;
}

/* who_text: a pool's worker for people, from its running task or parked pool.work: "pid
 * 812" (ipc clients), else "session 5". */
static void who_text(const json_t *w, char *who, size_t size)
{
	const json_t *pid = json_object_get(w, "pid");
	if (pid)
		snprintf(who, size, "pid %lld", (long long)json_integer_value(pid));
	else
		snprintf(who, size, "session %lld",
			 (long long)json_integer_value(json_object_get(w, "session")));
}

/* running_text: a pool's running tasks for people: "task 3 (square, attempt 1) by pid 812
 * for 2.5 s; ...", or "none". */
static json_t *running_text(const json_t *running)
{
	char text[4096] = "none";
	size_t used = 0, i;
	json_t *r;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	json_array_foreach (running, i, r) {
		char who[64];
		who_text(r, who, sizeof who);
		int n = snprintf(
			text + used, sizeof text - used,
			"%stask %lld (%s, attempt %lld) by %s for %.1f s", i ? "; " : "",
			(long long)json_integer_value(json_object_get(r, "task")),
			json_string_value(json_object_get(r, "func")),
			(long long)json_integer_value(json_object_get(r, "attempt")), who,
			seconds_since(&now, json_number_value(json_object_get(r, "since"))));
		if (n < 0 || (size_t)n >= sizeof text - used)
			break; /* the rest does not fit: --json has it all */
		used += (size_t)n;
	}
	return json_string(text);
}

/* workers_text: a pool's parked workers for people: "2 waiting (pid 811, session 5)". */
static json_t *workers_text(const json_t *workers)
{
	char text[2048];
	size_t i;
	json_t *w;
	int used = snprintf(text, sizeof text, "%zu waiting", json_array_size(workers));
	json_array_foreach (workers, i, w) {
		char who[64];
		who_text(w, who, sizeof who);
		int n = snprintf(text + used, sizeof text - (size_t)used, "%s%s", i ? ", " : " (",
				 who);
		if (n < 0 || (size_t)n >= sizeof text - (size_t)used - 1)
			break;
		used += n;
	}
	if (json_array_size(workers) && (size_t)used < sizeof text - 1)
		snprintf(text + used, sizeof text - (size_t)used, ")");
	return json_string(text);
}

/* stat_for_people: one line per field: a pipe's ends, a pool's running tasks and
 * workers, as text. */
static void stat_for_people(json_t *st)
{
	json_t *ends = json_object_get(st, "ends");
	if (json_is_object(ends)) { /* a pipe: one line an end */
		json_object_set_new(st, "end a", end_text(json_object_get(ends, "a")));
		json_object_set_new(st, "end b", end_text(json_object_get(ends, "b")));
		json_object_del(st, "ends");
	}
	const char *type = json_string_value(json_object_get(st, "type"));
	if (type && !strcmp(type, "pool")) {
		json_object_set_new(st, "running", running_text(json_object_get(st, "running")));
		json_object_set_new(st, "workers", workers_text(json_object_get(st, "workers")));
	}
}

/* columns_new: the members of the objects in list, in the order first seen. */
static json_t *columns_new(const json_t *list)
{
	json_t *columns = json_object(), *item, *v;
	size_t i;
	const char *key;
	json_array_foreach (list, i, item)
		json_object_foreach (item, key, v)
			if (!json_object_get(columns, key))
				json_object_set_new(columns, key, json_true());
	return columns;
}

/* cell_for_people: a parked request's field as table text: times as dates, time left. */
static json_t *cell_for_people(const char *key, const json_t *v)
{
	char text[64];
	if (!v)
		return json_string("-");
	if (!strcmp(key, "since") && json_is_number(v))
		return json_string(fmt_date(text, sizeof text, json_number_value(v)));
	if (!strcmp(key, "timeout_in") && json_is_null(v))
		return json_string("never");
	if (!strcmp(key, "timeout_in") && json_is_number(v)) {
		snprintf(text, sizeof text, "%.1f s", json_number_value(v));
		return json_string(text);
	}
	return json_incref((json_t *)v);
}

/* print_subtable: a list of objects (getters, putters...) as a table under its field. */
static void print_subtable(const char *field, const json_t *list)
{
	json_t *columns = columns_new(list), *rows = json_array(), *item, *v;
	size_t ncols = json_object_size(columns), i, col = 0;
	const char **headers = calloc(ncols ? ncols : 1, sizeof *headers);
	char **upper = calloc(ncols ? ncols : 1, sizeof *upper);
	const char *key;
	json_object_foreach (columns, key, v) {
		upper[col] = strdup(key);
		for (char *p = upper[col]; p && *p; p++)
			*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
		headers[col] = upper[col];
		col++;
	}
	json_array_foreach (list, i, item) {
		json_t *row = json_array();
		json_object_foreach (columns, key, v)
			json_array_append_new(row,
					      cell_for_people(key, json_object_get(item, key)));
		json_array_append_new(rows, row);
	}
	printf("%-12s %zu\n", field, json_array_size(list));
	table_print_indented(stdout, 2, headers, ncols, rows);
	for (i = 0; i < ncols; i++)
		free(upper[i]);
	free(upper);
	free(headers);
	json_decref(rows);
	json_decref(columns);
}

static bool is_list_of_objects(const json_t *v)
{
	return json_is_array(v) && json_array_size(v) > 0 && json_is_object(json_array_get(v, 0));
}

/* stat_print: an object's stat for people: a field a line, created as a date, lists of
 * parked requests as small tables. */
static void stat_print(json_t *st)
{
	const char *key;
	json_t *v;
	stat_for_people(st);
	json_object_foreach (st, key, v) {
		char date[64];
		if (is_list_of_objects(v))
			print_subtable(key, v);
		else if (json_is_array(v) && json_array_size(v) == 0)
			printf("%-12s none\n", key);
		else if (!strcmp(key, "created") && json_is_number(v))
			printf("%-12s %s\n", key,
			       fmt_date(date, sizeof date, json_number_value(v)));
		else {
			char *text = cell_text(v);
			printf("%-12s %s\n", key, text ? text : "?");
			free(text);
		}
	}
}

/* show_stat: prints a stat reply (stolen) as JSON or for people. */
static int show_stat(const struct ctl *ctl, brk_err err, json_t *st)
{
	if (err == BRK_OK && ctl->json)
		ctl_print_json(st);
	else if (err == BRK_OK)
		stat_print(st);
	json_decref(st);
	return ctl_status(err);
}

static int cmd_stat(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	json_t *st = NULL;
	if (!want_args(argc, 2, 2))
		return ctl_usage("usage: stat NAME");
	brk_err err = brk_stat(c, argv[1], &st);
	return show_stat(ctl, err, st);
}

/* rows_of: the named fields of each object in list, as table rows. */
static json_t *rows_of(const json_t *list, const char *const *fields, size_t n)
{
	json_t *rows = json_array();
	size_t i;
	json_t *item;
	json_array_foreach (list, i, item) {
		json_t *row = json_array();
		for (size_t f = 0; f < n; f++) {
			json_t *v = json_object_get(item, fields[f]);
			json_array_append_new(row, v ? json_incref(v) : json_string("-"));
		}
		json_array_append_new(rows, row);
	}
	return rows;
}

static int list_table(const struct ctl *ctl, brk_err err, json_t *list, const char *const *headers,
		      const char *const *fields, size_t n)
{
	if (err == BRK_OK && ctl->json) {
		ctl_print_json(list);
	} else if (err == BRK_OK) {
		json_t *rows = rows_of(list, fields, n);
		table_print(stdout, headers, n, rows);
		json_decref(rows);
	}
	json_decref(list);
	return ctl_status(err);
}

static int cmd_ls(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	static const char *const headers[] = {"NAME", "TYPE", "SIZE", "WAITERS"};
	static const char *const fields[] = {"name", "type", "size", "waiters"};
	json_t *list = NULL;
	if (!want_args(argc, 1, 2))
		return ctl_usage("usage: ls [PREFIX]");
	brk_err err = brk_ls(c, argc == 2 ? argv[1] : NULL, &list);
	return list_table(ctl, err, list, headers, fields, 4);
}

/* summary_text: a list of {what, "object"} for people: "queue.get jobs, lock db". */
static json_t *summary_text(const json_t *list, const char *what)
{
	char text[512] = "";
	size_t i, used = 0;
	json_t *w;
	json_array_foreach (list, i, w) {
		int n = snprintf(text + used, sizeof text - used, "%s%s %s", i ? ", " : "",
				 json_string_value(json_object_get(w, what)),
				 json_string_value(json_object_get(w, "object")));
		if (n < 0 || (size_t)n >= sizeof text - used)
			break;
		used += (size_t)n;
	}
	return json_string(used ? text : "-");
}

static int cmd_sessions(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	static const char *const headers[] = {"ID",       "PID",     "UID",    "PEER",
					      "REQUESTS", "HOLDING", "WAITING"};
	static const char *const fields[] = {"id",       "pid",     "uid",    "peer",
					     "requests", "holding", "waiting"};
	json_t *list = NULL, *s;
	size_t i;
	(void)argv;
	if (!want_args(argc, 1, 1))
		return ctl_usage("sessions takes no arguments");
	brk_err err = brk_sessions(c, &list);
	if (err == BRK_OK && !ctl->json) {
		json_array_foreach (list, i, s) {
			json_t *waiting = json_object_get(s, "waiting");
			json_t *holding = json_object_get(s, "holding");
			json_object_set_new(s, "waiting", summary_text(waiting, "op"));
			json_object_set_new(s, "holding", summary_text(holding, "kind"));
		}
	}
	return list_table(ctl, err, list, headers, fields, 7);
}

static int cmd_rm(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	if (!want_args(argc, 2, 2))
		return ctl_usage("usage: rm NAME");
	brk_err err = brk_del(c, argv[1]);
	if (err == BRK_OK && ctl->json)
		puts("true");
	return ctl_status(err);
}

/* parse_count: text as a whole number in lo..hi, or -1 after saying what is wrong. */
static int parse_count(const char *text, const char *what, long long lo, long long hi,
		       long long *out)
{
	char *end;
	*out = strtoll(text, &end, 10);
	if (*end || end == text || *out < lo || *out > hi) {
		fprintf(stderr, "brokerctl: %s is a whole number from %lld to %lld\n", what, lo,
			hi);
		return -1;
	}
	return 0;
}

static int cmd_kick(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	long long id;
	if (!want_args(argc, 2, 2))
		return ctl_usage("usage: kick SESSION");
	if (parse_count(argv[1], "SESSION", 1, LLONG_MAX, &id) != 0)
		return EXIT_USAGE;
	json_t *req = brk_request_new(BRK_OP_KICK, NULL, json_pack("{s:I}", "session", id));
	brk_err err = brk_call(c, req, NULL);
	json_decref(req);
	if (err == BRK_OK && ctl->json)
		puts("true");
	else if (err == BRK_OK)
		printf("kicked session %lld\n", id);
	return ctl_status(err);
}

static int cmd_shutdown(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	(void)argv;
	if (!want_args(argc, 1, 1))
		return ctl_usage("shutdown takes no arguments");
	json_t *req = brk_request_new(BRK_OP_SHUTDOWN, NULL, NULL);
	brk_err err = brk_call(c, req, NULL);
	json_decref(req);
	if (err == BRK_OK)
		puts(ctl->json ? "true" : "brokerd is shutting down");
	return ctl_status(err);
}

/* ---- queue and dict ---- */

static int cmd_queue_create(brk_client *c, int argc, char **argv)
{
	static const struct option opts[] = {{"kind", required_argument, NULL, 'k'},
					     {"maxsize", required_argument, NULL, 'm'},
					     {NULL, 0, NULL, 0}};
	static const char *const kinds[] = {"fifo", "lifo", "priority"};
	int kind = 0, ch;
	long maxsize = 0;
	char *end;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'k') {
			for (kind = 0; kind < 3 && strcmp(optarg, kinds[kind]); kind++)
				;
			if (kind == 3)
				return ctl_usage("--kind is fifo, lifo or priority");
		} else if (ch == 'm') {
			maxsize = strtol(optarg, &end, 10);
			if (*end || end == optarg)
				return ctl_usage("--maxsize takes an integer");
		} else {
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return ctl_usage("usage: queue create NAME [--kind K] [--maxsize N]");
	return ctl_status(brk_queue_create(c, argv[optind], (brk_queue_kind)kind, maxsize));
}

/* parse_number: an option's number, or -1 after saying what is wrong. */
static int parse_number(const char *text, const char *what, double *out)
{
	char *end;
	*out = strtod(text, &end);
	if (*end || end == text) {
		fprintf(stderr, "brokerctl: %s takes a number\n", what);
		return -1;
	}
	return 0;
}

/* timeout_option: reads a command's only option, --timeout S (default: wait forever). */
static int timeout_option(int argc, char **argv, double *timeout)
{
	static const struct option opts[] = {{"timeout", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	int ch;
	*timeout = BRK_FOREVER;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (ch != 't' || parse_number(optarg, "--timeout", timeout) != 0)
			return -1;
	return 0;
}

static int cmd_queue_put(brk_client *c, int argc, char **argv)
{
	static const struct option opts[] = {{"priority", required_argument, NULL, 'p'},
					     {"timeout", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	double timeout = BRK_FOREVER, priority = 0;
	bool has_priority = false;
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'p' && parse_number(optarg, "--priority", &priority) == 0)
			has_priority = true;
		else if (ch != 't' || parse_number(optarg, "--timeout", &timeout) != 0)
			return EXIT_USAGE;
	}
	if (argc - optind != 2)
		return ctl_usage("usage: queue put NAME VALUE [--priority P] [--timeout S]");
	json_t *value = parse_value(argv[optind + 1]);
	brk_err err = has_priority
			      ? brk_queue_put_priority(c, argv[optind], value, priority, timeout)
			      : brk_queue_put(c, argv[optind], value, timeout);
	json_decref(value);
	return ctl_status(err);
}

static int cmd_queue_get(brk_client *c, int argc, char **argv)
{
	double timeout;
	if (timeout_option(argc, argv, &timeout) != 0)
		return EXIT_USAGE;
	if (argc - optind != 1)
		return ctl_usage("usage: queue get NAME [--timeout S]");
	json_t *value = NULL;
	brk_err err = brk_queue_get(c, argv[optind], timeout, &value);
	if (err == BRK_OK)
		ctl_print_json(value);
	json_decref(value);
	return ctl_status(err);
}

/* cmd_queue_peek: the next N items, one JSON line each (--json: the array). */
static int cmd_queue_peek(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	long long n = 1;
	argc = without_dashdash(argc, argv);
	if (!want_args(argc, 3, 4))
		return ctl_usage("usage: queue peek NAME [N]");
	if (argc == 4 && parse_count(argv[3], "N", 1, 100, &n) != 0)
		return EXIT_USAGE;
	json_t *req = brk_request_new(BRK_OP_QUEUE_PEEK, argv[2], json_pack("{s:I}", "n", n));
	json_t *items = NULL, *item;
	size_t i;
	brk_err err = brk_call(c, req, &items);
	json_decref(req);
	if (err == BRK_OK && ctl->json)
		ctl_print_json(items);
	else if (err == BRK_OK)
		json_array_foreach (items, i, item)
			ctl_print_json(item);
	json_decref(items);
	return ctl_status(err);
}

static int cmd_queue_purge(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	if (!want_args(argc, 3, 3))
		return ctl_usage("usage: queue purge NAME");
	json_t *req = brk_request_new(BRK_OP_QUEUE_PURGE, argv[2], NULL), *result = NULL;
	brk_err err = brk_call(c, req, &result);
	json_decref(req);
	if (err == BRK_OK && ctl->json)
		ctl_print_json(result);
	else if (err == BRK_OK)
		printf("purged %lld\n",
		       (long long)json_integer_value(json_object_get(result, "purged")));
	json_decref(result);
	return ctl_status(err);
}

static int cmd_queue(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "peek"))
		return cmd_queue_peek(c, ctl, argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "purge"))
		return cmd_queue_purge(c, ctl, argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "create"))
		return cmd_queue_create(c, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "put"))
		return cmd_queue_put(c, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "get"))
		return cmd_queue_get(c, argc - 1, argv + 1);
	return ctl_usage("usage: queue create|put|get|peek|purge ...");
}

/* print_result: prints result (stolen) on success; the exit status of err. */
static int print_result(brk_err err, json_t *result)
{
	if (err == BRK_OK)
		ctl_print_json(result);
	json_decref(result);
	return ctl_status(err);
}

static int cmd_dict_incr(brk_client *c, int argc, char **argv)
{
	json_t *key = parse_value(argv[3]), *by = argc == 5 ? parse_value(argv[4]) : NULL, *sum;
	brk_err err = brk_dict_incr(c, argv[2], key, by, &sum);
	json_decref(key);
	json_decref(by);
	return print_result(err, sum);
}

static int cmd_dict(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	(void)ctl;
	argc = without_dashdash(argc, argv);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "incr"))
		return cmd_dict_incr(c, argc, argv);
	bool set = argc == 5 && !strcmp(argv[1], "set");
	if (!set && !(argc == 4 && !strcmp(argv[1], "get")))
		return ctl_usage("usage: dict set NAME KEY VALUE | dict get NAME KEY | "
				 "dict incr NAME KEY [BY]");
	json_t *key = parse_value(argv[3]), *value = set ? parse_value(argv[4]) : NULL;
	brk_err err =
		set ? brk_dict_set(c, argv[2], key, value) : brk_dict_get(c, argv[2], key, &value);
	if (err == BRK_OK && !set)
		ctl_print_json(value);
	json_decref(key);
	json_decref(value);
	return ctl_status(err);
}

static int cmd_list(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	(void)ctl;
	argc = without_dashdash(argc, argv);
	if (argc != 4 || strcmp(argv[1], "append"))
		return ctl_usage("usage: list append NAME VALUE");
	json_t *value = parse_value(argv[3]);
	brk_err err = brk_list_append(c, argv[2], value);
	json_decref(value);
	return ctl_status(err);
}

static int cmd_value_create(brk_client *c, int argc, char **argv)
{
	static const char *const types[] = {"int", "float", "bool", "str"};
	json_t *initial = argc == 5 ? parse_value(argv[4]) : NULL;
	int type = -1;
	for (int i = 0; i < 4; i++)
		if (!strcmp(argv[3], types[i]))
			type = i;
	if (type < 0) {
		json_decref(initial);
		return ctl_usage("value create: the type is int, float, bool or str");
	}
	brk_err err = brk_value_create(c, argv[2], (brk_type)type, initial, NULL);
	json_decref(initial);
	return ctl_status(err);
}

/* cmd_value_write: value set (prints nothing) or value add (prints the sum). */
static int cmd_value_write(brk_client *c, bool add, char **argv)
{
	json_t *v = parse_value(argv[3]), *sum = NULL;
	brk_err err = add ? brk_value_add(c, argv[2], v, &sum) : brk_value_set(c, argv[2], v);
	json_decref(v);
	return add ? print_result(err, sum) : ctl_status(err);
}

static int cmd_value(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	(void)ctl;
	argc = without_dashdash(argc, argv);
	const char *verb = argc >= 3 ? argv[1] : "";
	if (!strcmp(verb, "create") && (argc == 4 || argc == 5))
		return cmd_value_create(c, argc, argv);
	if (!strcmp(verb, "get") && argc == 3) {
		json_t *v = NULL;
		brk_err err = brk_value_get(c, argv[2], &v);
		return print_result(err, v);
	}
	if ((!strcmp(verb, "set") || !strcmp(verb, "add")) && argc == 4)
		return cmd_value_write(c, !strcmp(verb, "add"), argv);
	return ctl_usage("usage: value create NAME TYPE [VALUE] | value get NAME | "
			 "value set NAME VALUE | value add NAME DELTA");
}

/* The op that reads the whole of each shared-state type. */
static const char *read_op(const char *type)
{
	static const char *const ops[][2] = {
		{"dict", BRK_OP_DICT_ITEMS},   {"list", BRK_OP_LIST_READ},
		{"namespace", BRK_OP_NS_READ}, {"value", BRK_OP_VALUE_GET},
		{"array", BRK_OP_ARRAY_READ},
	};
	for (size_t i = 0; type && i < sizeof ops / sizeof ops[0]; i++)
		if (!strcmp(type, ops[i][0]))
			return ops[i][1];
	return NULL;
}

static int cmd_read(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	json_t *st = NULL, *content = NULL;
	if (!want_args(argc, 2, 2))
		return ctl_usage("usage: read NAME");
	brk_err err = brk_stat(c, argv[1], &st);
	const char *type = json_string_value(json_object_get(st, "type"));
	const char *op = read_op(type);
	if (err == BRK_OK && !op) {
		fprintf(stderr, "brokerctl: '%s' is a %s, which holds no shared state\n", argv[1],
			type);
		json_decref(st);
		return EXIT_REPLY;
	}
	json_t *req = err ? NULL : brk_request_new(op, argv[1], NULL);
	if (req)
		err = brk_call(c, req, &content);
	if (err == BRK_OK && ctl->json)
		content = json_pack("{s:s, s:I, s:o}", "type", type, "version",
				    (json_int_t)brk_last_version(), "value", content);
	json_decref(req);
	json_decref(st);
	return print_result(err, content);
}

/* hold_until: keeps what was acquired until Ctrl-C (hold < 0: brokerd releases it when
 * brokerctl exits) or for hold seconds; the caller then releases. */
static void hold_until(double hold)
{
	if (hold < 0)
		for (;;)
			pause();
	usleep((useconds_t)(hold * 1e6));
}

static int cmd_lock(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"rlock", no_argument, NULL, 'r'},
					     {"timeout", required_argument, NULL, 't'},
					     {"hold", required_argument, NULL, 'h'},
					     {"lease", required_argument, NULL, 'l'},
					     {NULL, 0, NULL, 0}};
	double timeout = BRK_FOREVER, hold = -1, lease = 0;
	brk_lock_kind kind = BRK_LOCK;
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'r')
			kind = BRK_RLOCK;
		else if ((ch != 't' || parse_number(optarg, "--timeout", &timeout) != 0) &&
			 (ch != 'h' || parse_number(optarg, "--hold", &hold) != 0) &&
			 (ch != 'l' || parse_number(optarg, "--lease", &lease) != 0))
			return EXIT_USAGE;
	}
	if (argc - optind != 2 || strcmp(argv[optind], "acquire"))
		return ctl_usage(
			"usage: lock acquire NAME [--rlock] [--timeout S] [--hold S] [--lease S]");
	const char *name = argv[optind + 1];
	bool acquired;
	uint64_t fence;
	brk_err err = brk_lock_acquire_lease(c, name, kind, timeout, lease, &acquired, &fence);
	if (err == BRK_OK && !acquired) {
		fprintf(stderr, "brokerctl: '%s' is held by another session\n", name);
		return EXIT_REPLY;
	}
	if (err != BRK_OK)
		return ctl_status(err);
	if (ctl->json)
		printf("{\"acquired\":true,\"fence\":%llu}\n", (unsigned long long)fence);
	else
		printf("acquired '%s' (fence %llu)%s\n", name, (unsigned long long)fence,
		       hold < 0 ? "; holding until Ctrl-C" : "");
	fflush(stdout);
	hold_until(hold);
	return ctl_status(brk_lock_release(c, name, kind));
}

static int cmd_event(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	double timeout;
	if (timeout_option(argc, argv, &timeout) != 0)
		return EXIT_USAGE;
	if (argc - optind != 2)
		return ctl_usage("usage: event set|clear|wait NAME [--timeout S]");
	const char *verb = argv[optind], *name = argv[optind + 1];
	bool set;
	brk_err err;
	if (!strcmp(verb, "set"))
		return ctl_status(brk_event_set(c, name));
	if (!strcmp(verb, "clear"))
		return ctl_status(brk_event_clear(c, name));
	if (strcmp(verb, "wait"))
		return ctl_usage("usage: event set|clear|wait NAME [--timeout S]");
	if ((err = brk_event_wait(c, name, timeout, &set)) != BRK_OK)
		return ctl_status(err);
	puts(ctl->json ? (set ? "true" : "false") : (set ? "set" : "not set"));
	return set ? EXIT_OK : EXIT_REPLY;
}

static int cmd_semaphore(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"n", required_argument, NULL, 'n'},
					     {"timeout", required_argument, NULL, 't'},
					     {"hold", required_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	double timeout = BRK_FOREVER, hold = -1, n = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if ((ch != 't' || parse_number(optarg, "--timeout", &timeout) != 0) &&
		    (ch != 'h' || parse_number(optarg, "--hold", &hold) != 0) &&
		    (ch != 'n' || parse_number(optarg, "--n", &n) != 0))
			return EXIT_USAGE;
	if (argc - optind != 2 || strcmp(argv[optind], "acquire"))
		return ctl_usage("usage: semaphore acquire NAME [--n N] [--timeout S] [--hold S]");
	const char *name = argv[optind + 1];
	bool acquired;
	brk_err err = brk_semaphore_acquire(c, name, (long)n, timeout, &acquired);
	if (err != BRK_OK)
		return ctl_status(err);
	if (!acquired) {
		fprintf(stderr, "brokerctl: no %ld permits of '%s' in time\n", (long)n, name);
		return EXIT_REPLY;
	}
	if (ctl->json)
		puts("{\"acquired\":true}");
	else
		printf("acquired %ld of '%s'\n", (long)n, name);
	fflush(stdout);
	hold_until(hold);
	return ctl_status(brk_semaphore_release(c, name, (long)n));
}

static int cmd_barrier(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	double timeout;
	(void)ctl;
	if (timeout_option(argc, argv, &timeout) != 0)
		return EXIT_USAGE;
	if (argc - optind != 2 || strcmp(argv[optind], "wait"))
		return ctl_usage("usage: barrier wait NAME [--timeout S]");
	long index;
	brk_err err = brk_barrier_wait(c, argv[optind + 1], timeout, &index);
	if (err == BRK_OK)
		printf("%ld\n", index);
	return ctl_status(err);
}

/* ---- pipes ---- */

/* end_of: a pipe end named on the command line, or -1. */
static int end_of(const char *word)
{
	return !strcmp(word, "a") ? BRK_PIPE_A : !strcmp(word, "b") ? BRK_PIPE_B : -1;
}

/* reopen: brokerctl takes over an end a process closed (PROTOCOL.md "Reopening"), as a
 * shell opens a FIFO another writer closed. */
static brk_err reopen(brk_client *c, const char *name, int end)
{
	return brk_pipe_open(c, name, (brk_pipe_end)end);
}

static int cmd_pipe_create(brk_client *c, int argc, char **argv)
{
	static const struct option opts[] = {{"one-way", no_argument, NULL, 'o'},
					     {"maxmsgs", required_argument, NULL, 'm'},
					     {"maxbytes", required_argument, NULL, 'b'},
					     {NULL, 0, NULL, 0}};
	double maxmsgs = 0, maxbytes = 0;
	bool duplex = true;
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (ch == 'o')
			duplex = false;
		else if ((ch != 'm' || parse_number(optarg, "--maxmsgs", &maxmsgs) != 0) &&
			 (ch != 'b' || parse_number(optarg, "--maxbytes", &maxbytes) != 0))
			return EXIT_USAGE;
	if (argc - optind != 1)
		return ctl_usage(
			"usage: pipe create NAME [--one-way] [--maxmsgs N] [--maxbytes N]");
	return ctl_status(brk_pipe_create(c, argv[optind], duplex, (long)maxmsgs, (long)maxbytes));
}

static int cmd_pipe_send(brk_client *c, int argc, char **argv)
{
	double timeout;
	if (timeout_option(argc, argv, &timeout) != 0)
		return EXIT_USAGE;
	int end = argc - optind == 3 ? end_of(argv[optind + 1]) : -1;
	if (end < 0)
		return ctl_usage("usage: pipe send NAME a|b VALUE [--timeout S]");
	json_t *value = parse_value(argv[optind + 2]);
	brk_err err = brk_pipe_send(c, argv[optind], (brk_pipe_end)end, value, timeout);
	if (err == BRK_ECLOSED && reopen(c, argv[optind], end) == BRK_OK)
		err = brk_pipe_send(c, argv[optind], (brk_pipe_end)end, value, timeout);
	json_decref(value);
	return ctl_status(err);
}

/* print_message: a received message: a value as a JSON line, bytes as they are (--json:
 * the message as brokerd sent it, {"value": V} or {"bytes": BASE64}). */
static void print_message(const struct ctl *ctl, const json_t *message)
{
	json_t *bytes = json_object_get(message, "bytes");
	if (ctl->json || !bytes) {
		ctl_print_json(ctl->json ? message : json_object_get(message, "value"));
		return;
	}
	size_t n = 0, len = json_string_length(bytes);
	unsigned char *data =
		b64_check(json_string_value(bytes), len, &n) == 0 ? malloc(n + 1) : NULL;
	if (data) {
		b64_decode(json_string_value(bytes), len, data);
		fwrite(data, 1, n, stdout);
	}
	free(data);
}

static int cmd_pipe_recv(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	double timeout;
	if (timeout_option(argc, argv, &timeout) != 0)
		return EXIT_USAGE;
	int end = argc - optind == 2 ? end_of(argv[optind + 1]) : -1;
	if (end < 0)
		return ctl_usage("usage: pipe recv NAME a|b [--timeout S]");
	const char *name = argv[optind];
	json_t *args = json_pack("{s:s, s:b}", "end", argv[optind + 1], "confirm", 1),
	       *message = NULL;
	if (args && timeout == 0)
		json_object_set_new(args, "block", json_false());
	else if (args && timeout > 0)
		json_object_set_new(args, "timeout", json_real(timeout));
	json_t *req = brk_request_new(BRK_OP_PIPE_RECV, name, args);
	brk_err err = brk_call(c, req, &message);
	if (err == BRK_ECLOSED && reopen(c, name, end) == BRK_OK)
		err = brk_call(c, req, &message);
	if (err == BRK_OK)
		print_message(ctl, message);
	json_decref(message);
	json_decref(req);
	return ctl_status(err);
}

static int cmd_pipe(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	const char *verb = argc >= 2 ? argv[1] : "";
	if (!strcmp(verb, "create"))
		return cmd_pipe_create(c, argc - 1, argv + 1);
	if (!strcmp(verb, "send"))
		return cmd_pipe_send(c, argc - 1, argv + 1);
	if (!strcmp(verb, "recv"))
		return cmd_pipe_recv(c, ctl, argc - 1, argv + 1);
	if (!strcmp(verb, "close") && argc == 4 && end_of(argv[3]) >= 0)
		return ctl_status(brk_pipe_close(c, argv[2], (brk_pipe_end)end_of(argv[3])));
	return ctl_usage("usage: pipe create|send|recv|close NAME a|b ...");
}

/* ---- pools ---- */

/* pool_row_new: a pool's line of `pool ls`, from its stat (borrowed). */
static json_t *pool_row_new(const json_t *st)
{
	return json_pack("{s:O, s:O, s:O, s:I, s:O, s:O, s:O, s:I}", "name",
			 json_object_get(st, "name"), "state", json_object_get(st, "state"),
			 "queued", json_object_get(st, "queued"), "running",
			 (json_int_t)json_array_size(json_object_get(st, "running")), "results",
			 json_object_get(st, "results"), "completed",
			 json_object_get(st, "completed"), "failed", json_object_get(st, "failed"),
			 "workers", (json_int_t)json_array_size(json_object_get(st, "workers")));
}

/* pool_rows: the pools among list (ls), each with its stat's counts; one deleted
 * meanwhile, or made again as another type, is left out. */
static brk_err pool_rows(brk_client *c, const json_t *list, json_t **out)
{
	size_t i;
	json_t *o, *rows = json_array();
	json_array_foreach (list, i, o) {
		json_t *st = NULL;
		if (strcmp(json_string_value(json_object_get(o, "type")), "pool"))
			continue;
		brk_err err = brk_stat(c, json_string_value(json_object_get(o, "name")), &st);
		if (err == BRK_ENOTFOUND)
			continue;
		if (err) {
			json_decref(rows);
			return err;
		}
		const char *type = json_string_value(json_object_get(st, "type"));
		json_t *row = type && !strcmp(type, "pool") ? pool_row_new(st) : NULL;
		if (row)
			json_array_append_new(rows, row);
		json_decref(st);
	}
	*out = rows;
	return BRK_OK;
}

static int cmd_pool(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	static const char *const headers[] = {"NAME",    "STATE",     "QUEUED", "RUNNING",
					      "RESULTS", "COMPLETED", "FAILED", "WORKERS"};
	static const char *const fields[] = {"name",    "state",     "queued", "running",
					     "results", "completed", "failed", "workers"};
	json_t *list = NULL, *rows = NULL;
	if (argc == 2 && !strcmp(argv[1], "ls")) {
		brk_err err = brk_ls(c, NULL, &list);
		if (err == BRK_OK)
			err = pool_rows(c, list, &rows);
		json_decref(list);
		return list_table(ctl, err, rows, headers, fields, 8);
	}
	if (argc == 3 && !strcmp(argv[1], "stat")) {
		json_t *st = NULL;
		brk_err err = brk_stat(c, argv[2], &st);
		const char *type = json_string_value(json_object_get(st, "type"));
		if (err == BRK_OK && strcmp(type ? type : "", "pool")) {
			fprintf(stderr, "brokerctl: wrong_type: '%s' is a %s, not a pool\n",
				argv[2], type ? type : "?");
			json_decref(st);
			return EXIT_REPLY;
		}
		return show_stat(ctl, err, st);
	}
	return ctl_usage("usage: pool ls | pool stat NAME");
}

/* cmd_call: the raw protocol: the full reply envelope is printed either way. */
static int cmd_call(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	(void)ctl;
	if (!want_args(argc, 2, 3))
		return ctl_usage("usage: call OP [JSON-OBJECT]");
	json_t *args = argc == 3 ? json_loads(argv[2], 0, NULL) : json_object();
	if (!json_is_object(args)) {
		json_decref(args);
		return ctl_usage("call: the arguments must be a JSON object");
	}
	json_t *req = brk_request_new(argv[1], NULL, args), *reply = NULL;
	brk_err err = brk_call_reply(c, req, &reply);
	json_decref(req);
	if (!reply) /* none came: what libbroker knows, in the same shape */
		reply = proto_reply_error(err, brk_last_error());
	ctl_print_json(reply);
	json_decref(reply);
	return err == BRK_OK ? EXIT_OK : err >= BRK_ECONNECT ? EXIT_CONNECT : EXIT_REPLY;
}

/* ---- the command table: what runs each command, and its help ---- */

struct command {
	const char *name;
	int (*fn)(brk_client *c, const struct ctl *ctl, int argc, char **argv);
	int (*own)(const struct ctl *ctl, int argc, char **argv); /* connects by itself */
	const char *usage;   /* one line per form, without "brokerctl " */
	const char *summary; /* one line, for the overview */
	const char *help;    /* what it does, its options, its output: COMMAND --help */
	const char *exit;    /* its exit statuses, when they differ from the usual ones */
};

static int cmd_help(brk_client *c, const struct ctl *ctl, int argc, char **argv);

static const struct command commands[] = {
	{"ping", cmd_ping, NULL, "ping", "check that brokerd answers",
	 "Sends a ping and prints the round trip time; --json: {\"result\":\"pong\",\"rtt_us\":T}.",
	 NULL},
	{"info", cmd_info, NULL, "info", "uptime, clients, ops/s, memory, limits, errors",
	 "Prints brokerd's state in sections: server (version, pid, uptime, listeners), clients\n"
	 "(sessions, connections, parked requests, refused and closed connections), traffic\n"
	 "(requests, ops/s in the last whole second, bytes in and out, the busiest ops),\n"
	 "memory, limits, persistence (with a data dir) and errors answered, by code.\n"
	 "Sizes have units (KiB, MiB, GiB), times are local dates or durations.\n"
	 "--json prints brokerd's info reply unchanged (sizes in bytes, times in seconds).",
	 NULL},
	{"top", cmd_top, NULL, "top [--interval S] [--count N]",
	 "live view: ops/s, sessions, busiest objects",
	 "Redraws the screen every S seconds (default 1): uptime, sessions, objects, parked\n"
	 "requests, ops/s (with the busiest ops), bytes in and out per second, memory, then\n"
	 "the 15 objects with the most waiters (then the largest): type, size (a queue's\n"
	 "depth) and waiters. Quits on q or Ctrl-C.\n"
	 "  --interval S   seconds between frames (default 1)\n"
	 "  --count N      stop after N frames; the frames are then printed one after the\n"
	 "                 other, as when stdout is not a terminal\n"
	 "--json prints one JSON object a frame, one a line. top's own requests count in the\n"
	 "ops it shows (two a frame).",
	 NULL},
	{"save", cmd_save, NULL, "save", "compact the data dir now (a new snapshot)",
	 "Asks brokerd to write a new snapshot of its data dir and waits until it is in place;\n"
	 "prints its generation and how long it took. Needs role admin.",
	 NULL},
	{"ls", cmd_ls, NULL, "ls [PREFIX]", "list objects (name, type, size, waiters)",
	 "Lists the objects whose names start with PREFIX (all without it), oldest first:\n"
	 "name, type, size (elements; a queue's depth) and parked requests.",
	 NULL},
	{"stat", cmd_stat, NULL, "stat NAME", "everything about one object",
	 "Prints an object's fields, one a line; the requests parked on it (a queue's getters,\n"
	 "putters and joiners) as small tables with when each started waiting and the time\n"
	 "left; a pipe's ends and a pool's tasks and workers as sentences. --json prints\n"
	 "brokerd's stat reply unchanged.",
	 NULL},
	{"rm", cmd_rm, NULL, "rm NAME", "delete an object",
	 "Deletes NAME; requests parked on it get 'deleted'. Needs role admin.", NULL},
	{"sessions", cmd_sessions, NULL, "sessions", "connected clients and what they wait on",
	 "Lists the sessions (all of them for an admin, else its own): id, pid and uid (ipc),\n"
	 "peer, requests, what each holds and what it waits on. 'kick ID' ends one.",
	 NULL},
	{"kick", cmd_kick, NULL, "kick SESSION", "disconnect a session, releasing what it held",
	 "Closes session SESSION's connection (an id from 'sessions'), as if its client had\n"
	 "died: its locks, permits, pipe ends and unconfirmed items are released and its\n"
	 "parked requests withdrawn. Prints \"kicked session N\". Needs role admin.",
	 "Exit status: 0 kicked, 1 no such session (not_found), or not allowed (forbidden),\n"
	 "2 usage, 3 cannot connect.\n"},
	{"shutdown", cmd_shutdown, NULL, "shutdown", "stop brokerd (as SIGTERM does)",
	 "Asks brokerd to stop: parked requests are answered shutting_down and it exits 0.\n"
	 "Prints \"brokerd is shutting down\". Needs role admin.",
	 NULL},
	{"queue", cmd_queue, NULL,
	 "queue create NAME [--kind fifo|lifo|priority] [--maxsize N]\n"
	 "queue put NAME VALUE [--priority P] [--timeout S]\n"
	 "queue get NAME [--timeout S]\n"
	 "queue peek NAME [N]\n"
	 "queue purge NAME",
	 "make, fill, drain, peek at and empty queues",
	 "create: a queue of that kind, maxsize <= 0 unbounded (put and get create an\n"
	 "  unbounded FIFO queue themselves).\n"
	 "put: waits while the queue is full, forever without --timeout; 0 does not wait.\n"
	 "get: waits for an item, forever without --timeout; 0 does not wait. Prints it as JSON.\n"
	 "peek: prints the next N items (1 to 100, default 1) in the order gets take them,\n"
	 "  one JSON value a line, without taking them; --json: a JSON array.\n"
	 "purge: drops every item (parked putters then get in); prints \"purged N\". Needs\n"
	 "  role admin.",
	 "Exit status: 0 ok, 1 brokerd answered with an error (full, empty: timed out), 2 usage,\n"
	 "3 cannot connect.\n"},
	{"dict", cmd_dict, NULL,
	 "dict set NAME KEY VALUE\n"
	 "dict get NAME KEY\n"
	 "dict incr NAME KEY [BY]",
	 "set, get and count in dicts",
	 "set and get one key; incr adds BY (default 1) to KEY atomically and prints the sum.",
	 NULL},
	{"list", cmd_list, NULL, "list append NAME VALUE", "append to a list",
	 "Appends VALUE to the list NAME (made if missing).", NULL},
	{"value", cmd_value, NULL,
	 "value create NAME int|float|bool|str [VALUE]\n"
	 "value get NAME\n"
	 "value set NAME VALUE\n"
	 "value add NAME DELTA",
	 "make, read, write and add to typed values",
	 "add adds DELTA atomically and prints the new value.", NULL},
	{"read", cmd_read, NULL, "read NAME", "all of a dict, list, namespace, value, array",
	 "Prints the content as JSON (a dict as [key, value] pairs); --json adds its type and\n"
	 "version.",
	 NULL},
	{"lock", cmd_lock, NULL, "lock acquire NAME [--rlock] [--timeout S] [--hold S] [--lease S]",
	 "hold a lock until Ctrl-C, or for S seconds",
	 "Acquires the lock (an rlock with --rlock) and holds it until Ctrl-C (brokerd releases\n"
	 "it when brokerctl exits), or for S seconds with --hold, then releases it.\n"
	 "  --timeout S   give up after S seconds (exit 1); default: wait forever\n"
	 "  --lease S     brokerd releases the lock after S seconds whatever happens",
	 NULL},
	{"semaphore", cmd_semaphore, NULL,
	 "semaphore acquire NAME [--n N] [--timeout S] [--hold S]",
	 "hold permits until Ctrl-C, or for S seconds",
	 "Acquires N permits (default 1) and holds them until Ctrl-C, or for S seconds with\n"
	 "--hold; --timeout S gives up after S seconds (exit 1).",
	 NULL},
	{"barrier", cmd_barrier, NULL, "barrier wait NAME [--timeout S]",
	 "wait with the other parties",
	 "Waits at the barrier until its parties are all there; prints this party's index.", NULL},
	{"event", cmd_event, NULL,
	 "event set NAME\n"
	 "event clear NAME\n"
	 "event wait NAME [--timeout S]",
	 "set, clear or wait for an event",
	 "wait prints \"set\" once the event is set, or \"not set\" after S seconds.",
	 "Exit status: 0 ok (wait: the event was set), 1 an error, or not set in time,\n"
	 "2 usage, 3 cannot connect.\n"},
	{"pipe", cmd_pipe, NULL,
	 "pipe create NAME [--one-way] [--maxmsgs N] [--maxbytes N]\n"
	 "pipe send NAME a|b VALUE [--timeout S]\n"
	 "pipe recv NAME a|b [--timeout S]\n"
	 "pipe close NAME a|b",
	 "two-ended pipes: send, receive, close an end",
	 "send and recv hold the end while brokerctl runs: its exit closes it, as a process\n"
	 "closing a FIFO. recv waits forever without --timeout; it prints a value as JSON,\n"
	 "bytes as they are. close closes an end nobody holds.",
	 "Exit status: 0 ok, 1 an error (recv: also at EOF), 2 usage, 3 cannot connect.\n"},
	{"pool", cmd_pool, NULL,
	 "pool ls\n"
	 "pool stat NAME",
	 "pools: state, tasks, workers",
	 "ls: every pool's state and counts. stat: one pool: queued (by function), running\n"
	 "(task, function, worker pid, for how long), finished, failed, workers.",
	 NULL},
	{"call", cmd_call, NULL, "call OP [JSON]",
	 "send {\"op\": OP, ...JSON}; print the raw reply",
	 "Sends the op with the members of the JSON object as its arguments and prints the\n"
	 "reply envelope as brokerd sent it, every field: {\"ok\": ..., \"result\": ...} or\n"
	 "{\"ok\": false, \"error\": ..., \"message\": ...}, with \"version\" (shared state)\n"
	 "and \"delivery\" (an item to confirm) when brokerd sends them.",
	 NULL},
	{"bench", NULL, cmd_bench,
	 "bench [--clients N] [--batch B] [--seconds S] [--tests ping,get,set,queue,lock]",
	 "measure ops/s and latency",
	 "Runs each test with N clients (default 1) for S seconds and prints ops/s and the\n"
	 "p50 and p99 latency; --batch sends B ops a batch. It removes what it made.",
	 NULL},
	{"help", cmd_help, NULL, "help [COMMAND]", "this overview, or one command's help",
	 "Prints the overview, or what COMMAND does, its options and exit status (as\n"
	 "'brokerctl COMMAND --help').",
	 NULL},
};

#define NCOMMANDS (sizeof commands / sizeof *commands)

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

/* print_overview_entry: a command's usage lines, its summary on the first when it fits,
 * else after them. */
static void print_overview_entry(const struct command *cmd)
{
	const char *line = cmd->usage;
	bool summarised = strcspn(line, "\n") > 30;
	while (*line) {
		size_t len = strcspn(line, "\n");
		if (line == cmd->usage && !summarised)
			printf("  %-32.*s%s\n", (int)len, line, cmd->summary);
		else
			printf("  %.*s\n", (int)len, line);
		line += len + (line[len] == '\n');
	}
	if (summarised)
		printf("  %-32s%s\n", "", cmd->summary);
}

static int print_overview(void)
{
	char url[512];
	fputs(usage_head, stdout);
	for (size_t i = 0; i < NCOMMANDS; i++)
		print_overview_entry(&commands[i]);
	printf(usage_tail, proto_client_url(url, sizeof url) == 0 ? url : "?");
	return EXIT_OK;
}

/* print_command_help: COMMAND --help: usage lines, summary, details, exit status. */
static int print_command_help(const struct command *cmd)
{
	const char *line = cmd->usage;
	for (bool first = true; *line; first = false) {
		size_t len = strcspn(line, "\n");
		printf("%s brokerctl [OPTIONS] %.*s\n", first ? "Usage:" : "      ", (int)len,
		       line);
		line += len + (line[len] == '\n');
	}
	printf("%s.\n\n%s\n\n", cmd->summary, cmd->help);
	fputs(cmd->exit ? cmd->exit
			: "Exit status: 0 ok, 1 brokerd answered with an error, 2 usage, 3 cannot\n"
			  "connect.\n",
	      stdout);
	puts("\nOPTIONS (before the command): --url URL, --token-file FILE, --token TOKEN,\n"
	     "--json; see 'brokerctl --help'.");
	return EXIT_OK;
}

static int help_for(const char *name)
{
	const struct command *cmd = find_command(name);
	if (!cmd) {
		fprintf(stderr, "brokerctl: unknown command '%s'\nTry 'brokerctl --help'.\n", name);
		return EXIT_USAGE;
	}
	return print_command_help(cmd);
}

static int cmd_help(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	(void)c, (void)ctl;
	if (!want_args(argc, 1, 2))
		return ctl_usage("usage: help [COMMAND]");
	return argc == 2 ? help_for(argv[1]) : print_overview();
}

/* asks_for_help: whether a command's arguments hold --help or -h (before any "--"). */
static bool asks_for_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

static int run(const struct ctl *ctl, int argc, char **argv)
{
	const struct command *cmd = find_command(argv[0]);
	if (!cmd) {
		fprintf(stderr, "brokerctl: unknown command '%s'\nTry 'brokerctl --help'.\n",
			argv[0]);
		return EXIT_USAGE;
	}
	if (asks_for_help(argc, argv))
		return print_command_help(cmd);
	if (cmd->fn == cmd_help)
		return cmd_help(NULL, ctl, argc, argv);
	if (cmd->own)
		return cmd->own(ctl, argc, argv);
	brk_client *c = ctl_connect(ctl);
	if (!c)
		return EXIT_CONNECT;
	optind = 0; /* GNU getopt: 0 starts a fresh scan of the command's own argv */
	int rc = cmd->fn(c, ctl, argc, argv);
	brk_close(c);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"token", required_argument, NULL, 'T'},
		{"token-file", required_argument, NULL, 'F'},
		{NULL, 0, NULL, 0},
	};
	struct ctl ctl = {0};
	int ch;
	while ((ch = getopt_long(argc, argv, "+u:jhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			ctl.url = optarg;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 'T':
			ctl.token = optarg;
			break;
		case 'F':
			ctl.token_file = optarg;
			break;
		case 'h':
			return print_overview();
		case 'V':
			printf("brokerctl %s\n", BROKER_VERSION);
			return EXIT_OK;
		default:
			return ctl_usage("unknown option");
		}
	}
	if (optind >= argc)
		return ctl_usage("a command is needed");
	return run(&ctl, argc - optind, argv + optind);
}
