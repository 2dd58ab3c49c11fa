/* info.c: brokerd's info reply for people: sections of labelled lines, sizes with units,
 * dates and durations, the busiest ops and the errors as tables. Fields it does not know
 * are printed at the end as they are, so a newer brokerd loses nothing. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brokerctl.h"
#include "table.h"

/* How a field's value reads. */
enum unit {
	U_TEXT,      /* strings bare, null as "none", others as JSON */
	U_BYTES,     /* "1.5 MiB" */
	U_SECONDS,   /* "0.012 s" */
	U_UPTIME,    /* "3d 4h 12m, since DATE" */
	U_DATE,      /* "DATE (5m 2s ago)"; 0: "never" */
	U_COUNTS,    /* an object of counts: "3 (a 1, b 2)" */
	U_LISTENERS, /* [{"url", "max_message"}]: one line each */
};

struct field {
	const char *path; /* members joined by '/' */
	const char *label;
	enum unit unit;
};

struct section {
	const char *title;
	const struct field *fields;
	size_t n;
};

#define FIELDS(...)                          \
	(const struct field[]){__VA_ARGS__}, \
		sizeof((const struct field[]){__VA_ARGS__}) / sizeof(struct field)

static const struct section sections[] = {
	{"Server", FIELDS({"version", "version", U_TEXT}, {"protocol", "protocol", U_TEXT},
			  {"pid", "pid", U_TEXT}, {"uptime", "uptime", U_UPTIME},
			  {"listeners", "listeners", U_LISTENERS})},
	{"Clients", FIELDS({"sessions", "sessions", U_TEXT}, {"connections", "connections", U_TEXT},
			   {"waiters", "parked requests", U_TEXT}, {"objects", "objects", U_TEXT},
			   {"refused_connections", "refused", U_COUNTS},
			   {"closed_connections", "closed by brokerd", U_COUNTS})},
	{"Traffic", FIELDS({"requests", "requests", U_TEXT}, {"ops/per_sec", "ops/s", U_TEXT},
			   {"ops/total", "ops", U_TEXT}, {"bytes/in", "bytes in", U_BYTES},
			   {"bytes/out", "bytes out", U_BYTES},
			   {"replies_too_big", "replies too big", U_TEXT})},
	{"Memory", FIELDS({"memory/used", "used", U_BYTES}, {"memory/max", "max", U_BYTES},
			  {"memory/rss", "rss", U_BYTES})},
	{"Limits", FIELDS({"max_clients", "clients", U_TEXT},
			  {"session_limits/requests", "session requests", U_TEXT},
			  {"session_limits/parked", "session parked", U_TEXT},
			  {"session_limits/objects", "session objects", U_TEXT},
			  {"session_limits/reply", "session reply", U_BYTES})},
	{"Persistence", FIELDS({"persistence/data_dir", "data dir", U_TEXT},
			       {"persistence/fsync", "fsync", U_TEXT},
			       {"persistence/generation", "generation", U_TEXT},
			       {"persistence/log_bytes", "log", U_BYTES},
			       {"persistence/snapshot_bytes", "snapshot", U_BYTES},
			       {"persistence/last_fsync", "last fsync", U_DATE},
			       {"persistence/unsynced_bytes", "unsynced", U_BYTES},
			       {"persistence/compacting", "compacting", U_TEXT},
			       {"persistence/last_compaction", "last compaction", U_DATE},
			       {"persistence/compaction_seconds", "compaction took", U_SECONDS},
			       {"persistence/last_compaction_result", "compaction result", U_TEXT},
			       {"persistence/load_seconds", "load took", U_SECONDS},
			       {"persistence/loaded_records", "loaded records", U_TEXT},
			       {"persistence/torn_bytes", "torn at start", U_BYTES},
			       {"persistence/repaired_bytes", "repaired", U_BYTES},
			       {"persistence/error", "error", U_TEXT})},
};

#define LABEL_WIDTH 18

/* take_new: the value at path in obj, removed from it (a new reference), or NULL. */
static json_t *take_new(json_t *obj, const char *path)
{
	char key[128];
	size_t len = strcspn(path, "/");
	snprintf(key, sizeof key, "%.*s", (int)len, path);
	json_t *v = json_object_get(obj, key);
	if (!v)
		return NULL;
	if (path[len] == '/')
		return take_new(v, path + len + 1);
	json_incref(v);
	json_object_del(obj, key);
	return v;
}

static double now_unix(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* counts_text: {"a": 1, "b": 2} as "3 (a 1, b 2)". */
static void counts_text(const json_t *counts, char *buf, size_t size)
{
	const char *key;
	json_t *v;
	json_int_t total = 0;
	size_t used = 0;
	char parts[512] = "";
	json_object_foreach ((json_t *)counts, key, v) {
		total += json_integer_value(v);
		int n = snprintf(parts + used, sizeof parts - used, "%s%s %lld", used ? ", " : "",
				 key, (long long)json_integer_value(v));
		if (n > 0 && (size_t)n < sizeof parts - used)
			used += (size_t)n;
	}
	snprintf(buf, size, "%lld (%s)", (long long)total, parts);
}

static void value_text(const json_t *v, enum unit unit, char *buf, size_t size)
{
	char a[64], b[64];
	double x = json_number_value(v);
	if (unit == U_BYTES && json_is_number(v))
		fmt_bytes(buf, size, x);
	else if (unit == U_SECONDS && json_is_number(v))
		snprintf(buf, size, "%.3f s", x);
	else if (unit == U_UPTIME && json_is_number(v))
		snprintf(buf, size, "%s, since %s", fmt_duration(a, sizeof a, x),
			 fmt_date(b, sizeof b, now_unix() - x));
	else if (unit == U_DATE && json_is_number(v) && x == 0)
		snprintf(buf, size, "never");
	else if (unit == U_DATE && json_is_number(v))
		snprintf(buf, size, "%s (%s ago)", fmt_date(a, sizeof a, x),
			 fmt_duration(b, sizeof b, now_unix() - x));
	else if (unit == U_COUNTS && json_is_object(v))
		counts_text(v, buf, size);
	else if (json_is_null(v))
		snprintf(buf, size, "none");
	else {
		char *text = cell_text(v);
		snprintf(buf, size, "%s", text ? text : "?");
		free(text);
	}
}

static void print_line(const char *label, const char *text)
{
	printf("  %-*s %s\n", LABEL_WIDTH, label, text);
}

static void print_listeners(const json_t *listeners)
{
	size_t i;
	json_t *l;
	json_array_foreach (listeners, i, l) {
		char text[600], size[32];
		snprintf(text, sizeof text, "%s (messages up to %s)",
			 json_string_value(json_object_get(l, "url")),
			 fmt_bytes(size, sizeof size,
				   json_number_value(json_object_get(l, "max_message"))));
		print_line(i ? "" : "listeners", text);
	}
}

static void print_field(json_t *info, const struct field *f)
{
	char text[1024];
	json_t *v = take_new(info, f->path);
	if (!v)
		return;
	if (f->unit == U_LISTENERS) {
		print_listeners(v);
	} else {
		value_text(v, f->unit, text, sizeof text);
		print_line(f->label, text);
	}
	json_decref(v);
}

struct op_rate {
	const char *op;
	json_int_t calls, per_sec;
};

static int busier(const void *pa, const void *pb)
{
	const struct op_rate *a = pa, *b = pb;
	if (a->per_sec != b->per_sec)
		return a->per_sec < b->per_sec ? 1 : -1;
	if (a->calls != b->calls)
		return a->calls < b->calls ? 1 : -1;
	return strcmp(a->op, b->op);
}

json_t *info_busiest_ops_new(const json_t *by_op, size_t max)
{
	size_t n = json_object_size(by_op), i = 0;
	struct op_rate *rates = calloc(n ? n : 1, sizeof *rates);
	const char *op;
	json_t *v, *rows = json_array();
	json_object_foreach ((json_t *)by_op, op, v) {
		rates[i].op = op;
		rates[i].calls = json_integer_value(json_object_get(v, "calls"));
		rates[i++].per_sec = json_integer_value(json_object_get(v, "per_sec"));
	}
	qsort(rates, n, sizeof *rates, busier);
	for (i = 0; i < n && i < max; i++)
		json_array_append_new(rows, json_pack("[s, I, I]", rates[i].op, rates[i].per_sec,
						      rates[i].calls));
	free(rates);
	return rows;
}

static void print_busiest_ops(json_t *info)
{
	static const char *const headers[] = {"OP", "PER SEC", "CALLS"};
	json_t *by_op = take_new(info, "ops/by_op");
	if (json_object_size(by_op)) {
		json_t *rows = info_busiest_ops_new(by_op, 10);
		printf("  busiest ops:\n");
		table_print_indented(stdout, 4, headers, 3, rows);
		json_decref(rows);
	}
	json_decref(by_op);
}

struct code_count {
	const char *code;
	json_int_t count;
};

static int more_often(const void *pa, const void *pb)
{
	const struct code_count *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count < b->count ? 1 : -1;
	return strcmp(a->code, b->code);
}

/* print_errors: the error replies by code, most frequent first. */
static void print_errors(json_t *info)
{
	static const char *const headers[] = {"CODE", "COUNT"};
	json_t *errors = take_new(info, "errors"), *v, *rows = json_array();
	size_t n = json_object_size(errors), i = 0;
	struct code_count *codes = calloc(n ? n : 1, sizeof *codes);
	const char *code;
	json_object_foreach (errors, code, v)
		codes[i++] = (struct code_count){code, json_integer_value(v)};
	qsort(codes, n, sizeof *codes, more_often);
	for (i = 0; i < n; i++)
		json_array_append_new(rows, json_pack("[s, I]", codes[i].code, codes[i].count));
	printf("\nErrors\n");
	if (n)
		table_print_indented(stdout, 2, headers, 2, rows);
	else
		printf("  none\n");
	free(codes);
	json_decref(rows);
	json_decref(errors);
}

/* prune: drops the objects left empty once their known fields were taken. */
static void prune(json_t *obj)
{
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(obj, tmp, key, v)
	{
		if (json_is_object(v))
			prune(v);
		if (json_is_object(v) && json_object_size(v) == 0)
			json_object_del(obj, key);
	}
}

/* print_rest: what brokerd sent that this brokerctl does not know, as it came. */
static void print_rest(json_t *info)
{
	const char *key;
	json_t *v;
	prune(info);
	if (json_object_size(info) == 0)
		return;
	printf("\nOther\n");
	json_object_foreach (info, key, v) {
		char *text = cell_text(v);
		print_line(key, text ? text : "?");
		free(text);
	}
}

void info_print(const json_t *reply)
{
	json_t *info = json_deep_copy(reply);
	for (size_t s = 0; s < sizeof sections / sizeof *sections; s++) {
		const struct section *sec = &sections[s];
		if (!strcmp(sec->title, "Persistence") && !json_object_get(info, "persistence"))
			continue;
		printf("%s%s\n", s ? "\n" : "", sec->title);
		for (size_t f = 0; f < sec->n; f++)
			print_field(info, &sec->fields[f]);
		if (!strcmp(sec->title, "Traffic"))
			print_busiest_ops(info);
	}
	print_errors(info);
	print_rest(info);
	json_decref(info);
}
