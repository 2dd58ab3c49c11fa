/* top.c: "brokerctl top", a live view of brokerd redrawn every second: rates from the
 * difference of two info replies, the busiest objects from ls. Plain ANSI, no curses; the
 * terminal is put in non-canonical mode to see a 'q', and restored however top ends. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "brokerctl.h"
#include "table.h"

#define TOP_OBJECTS 15
#define TOP_OPS 5

struct top {
	double interval;
	long count;       /* frames to show; 0: until q or Ctrl-C */
	bool clear;       /* redraw in place (stdout is a terminal, no --count) */
	bool keys;        /* stdin is a terminal in non-canonical mode */
	json_t *previous; /* the last frame's info, for rates */
	double previous_at;
};

static volatile sig_atomic_t stop_signal;
static struct termios saved_termios;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

static void catch_stop_signals(void)
{
	struct sigaction sa = {.sa_handler = on_stop_signal}; /* no SA_RESTART: poll wakes */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* keys_on: non-canonical input without echo, so a 'q' arrives alone; false when stdin is
 * not a terminal. */
static bool keys_on(void)
{
	struct termios raw;
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) != 0)
		return false;
	raw = saved_termios;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	return tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
}

static void keys_off(const struct top *t)
{
	if (t->keys)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
}

static double monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double number_at(const json_t *obj, const char *a, const char *b)
{
	const json_t *v = json_object_get(obj, a);
	return json_number_value(b ? json_object_get(v, b) : v);
}

/* rate: the growth per second of info's a.b since the previous frame; for the first, the
 * average since brokerd started. */
static double rate(const struct top *t, const json_t *info, double now, const char *a,
		   const char *b)
{
	double v = number_at(info, a, b);
	if (t->previous && now > t->previous_at)
		return (v - number_at(t->previous, a, b)) / (now - t->previous_at);
	double uptime = number_at(info, "uptime", NULL);
	return uptime > 0 ? v / uptime : 0;
}

/* busiest_text: "queue.put 800, queue.get 700" from info's ops.by_op. */
static void busiest_text(const json_t *info, char *buf, size_t size)
{
	json_t *rows = info_busiest_ops_new(json_object_get(json_object_get(info, "ops"), "by_op"),
					    TOP_OPS),
	       *row;
	size_t i, used = 0;
	buf[0] = '\0';
	json_array_foreach (rows, i, row) {
		if (json_integer_value(json_array_get(row, 1)) == 0)
			break; /* the rest were idle in the last second */
		int n = snprintf(buf + used, size - used, "%s%s %lld", used ? ", " : "",
				 json_string_value(json_array_get(row, 0)),
				 (long long)json_integer_value(json_array_get(row, 1)));
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	json_decref(rows);
}

static int more_waited_on(const void *pa, const void *pb)
{
	const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	json_int_t wa = json_integer_value(json_object_get(a, "waiters")),
		   wb = json_integer_value(json_object_get(b, "waiters")),
		   sa = json_integer_value(json_object_get(a, "size")),
		   sb = json_integer_value(json_object_get(b, "size"));
	if (wa != wb)
		return wa < wb ? 1 : -1;
	return sa < sb ? 1 : sa > sb ? -1 : 0;
}

/* busiest_objects_new: ls's objects (borrowed) with the most waiters, then the largest:
 * at most TOP_OBJECTS of them, a new array. */
static json_t *busiest_objects_new(const json_t *list)
{
	size_t n = json_array_size(list);
	json_t **objs = calloc(n ? n : 1, sizeof *objs), *busiest = json_array();
	for (size_t i = 0; i < n; i++)
		objs[i] = json_array_get(list, i);
	qsort(objs, n, sizeof *objs, more_waited_on);
	for (size_t i = 0; i < n && i < TOP_OBJECTS; i++)
		json_array_append(busiest, objs[i]);
	free(objs);
	return busiest;
}

/* object_rows_new: objects as table rows [name, type, size, waiters]. */
static json_t *object_rows_new(const json_t *objects)
{
	static const char *const fields[] = {"name", "type", "size", "waiters"};
	json_t *rows = json_array(), *o;
	size_t i;
	json_array_foreach (objects, i, o) {
		json_t *row = json_array();
		for (size_t f = 0; f < 4; f++)
			json_array_append(row, json_object_get(o, fields[f]));
		json_array_append_new(rows, row);
	}
	return rows;
}

struct rates {
	double ops, in, out;
};

static void print_header(const json_t *info, const struct rates *r, size_t nobjects)
{
	char a[64], b[64], c[64], busiest[512];
	const json_t *mem = json_object_get(info, "memory");
	printf("brokerd %s, pid %lld, up %s\n", json_string_value(json_object_get(info, "version")),
	       (long long)json_integer_value(json_object_get(info, "pid")),
	       fmt_duration(a, sizeof a, number_at(info, "uptime", NULL)));
	printf("sessions %lld, objects %zu, parked requests %lld\n",
	       (long long)json_integer_value(json_object_get(info, "sessions")), nobjects,
	       (long long)json_integer_value(json_object_get(info, "waiters")));
	busiest_text(info, busiest, sizeof busiest);
	printf("ops/s %.0f (%lld since start)%s%s\n", r->ops,
	       (long long)number_at(info, "ops", "total"), busiest[0] ? "; last second: " : "",
	       busiest);
	printf("in %s/s, out %s/s\n", fmt_bytes(a, sizeof a, r->in),
	       fmt_bytes(b, sizeof b, r->out));
	printf("memory %s used of %s (rss %s)\n",
	       fmt_bytes(a, sizeof a, number_at(mem, "used", NULL)),
	       fmt_bytes(b, sizeof b, number_at(mem, "max", NULL)),
	       fmt_bytes(c, sizeof c, number_at(mem, "rss", NULL)));
}

static void print_frame(const struct top *t, const json_t *info, const json_t *list,
			const struct rates *r)
{
	static const char *const headers[] = {"NAME", "TYPE", "SIZE", "WAITERS"};
	json_t *busiest = busiest_objects_new(list), *rows = object_rows_new(busiest);
	json_decref(busiest);
	if (t->clear)
		fputs("\033[H\033[2J", stdout); /* home, clear the screen */
	print_header(info, r, json_array_size(list));
	putchar('\n');
	table_print(stdout, headers, 4, rows);
	if (json_array_size(list) > TOP_OBJECTS)
		printf("(%zu more)\n", json_array_size(list) - TOP_OBJECTS);
	if (t->keys)
		fputs("\nq or Ctrl-C quits\n", stdout);
	else if (!t->clear)
		putchar('\n');
	fflush(stdout);
	json_decref(rows);
}

static void print_frame_json(const json_t *info, const json_t *list, const struct rates *r)
{
	json_t *objects = busiest_objects_new(list);
	json_t *frame = json_pack("{s:O, s:O, s:O, s:O, s:f, s:f, s:f, s:O, s:o}", "uptime",
				  json_object_get(info, "uptime"), "sessions",
				  json_object_get(info, "sessions"), "objects",
				  json_object_get(info, "objects"), "waiters",
				  json_object_get(info, "waiters"), "ops_per_sec", r->ops,
				  "in_per_sec", r->in, "out_per_sec", r->out, "memory",
				  json_object_get(info, "memory"), "busiest", objects);
	ctl_print_json(frame);
	fflush(stdout);
	json_decref(frame);
}

/* frame: one look at brokerd, printed; the info is kept for the next frame's rates. */
static brk_err frame(brk_client *c, const struct ctl *ctl, struct top *t)
{
	json_t *info = NULL, *list = NULL;
	brk_err err = brk_info(c, &info);
	double now = monotonic();
	if (err == BRK_OK)
		err = brk_ls(c, NULL, &list);
	if (err == BRK_OK) {
		/* ops/s: brokerd's own count of the last whole second, not a difference */
		struct rates r = {number_at(info, "ops", "per_sec"),
				  rate(t, info, now, "bytes", "in"),
				  rate(t, info, now, "bytes", "out")};
		if (ctl->json)
			print_frame_json(info, list, &r);
		else
			print_frame(t, info, list, &r);
		json_decref(t->previous);
		t->previous = json_incref(info);
		t->previous_at = now;
	}
	json_decref(info);
	json_decref(list);
	return err;
}

/* wait_or_quit: waits for the next frame; true when 'q' was typed or a signal came. */
static bool wait_or_quit(const struct top *t)
{
	double deadline = monotonic() + t->interval;
	for (double left; !stop_signal && (left = deadline - monotonic()) > 0;) {
		struct pollfd in = {.fd = t->keys ? STDIN_FILENO : -1, .events = POLLIN};
		int n = poll(&in, 1, (int)(left * 1000) + 1);
		char ch;
		if (n > 0 && read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q'))
			return true;
		if (n < 0 && errno != EINTR)
			return true;
	}
	return stop_signal != 0;
}

static int parse_options(struct top *t, int argc, char **argv)
{
	static const struct option opts[] = {{"interval", required_argument, NULL, 'i'},
					     {"count", required_argument, NULL, 'c'},
					     {NULL, 0, NULL, 0}};
	int ch;
	char *end;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'i' && ((t->interval = strtod(optarg, &end)) < 0.05 || *end))
			return ctl_usage("--interval takes seconds, at least 0.05");
		if (ch == 'c' && ((t->count = strtol(optarg, &end, 10)) < 1 || *end))
			return ctl_usage("--count takes a number of frames, at least 1");
		if (ch != 'i' && ch != 'c')
			return EXIT_USAGE;
	}
	if (optind != argc)
		return ctl_usage("usage: top [--interval S] [--count N]");
	return EXIT_OK;
}

int cmd_top(brk_client *c, const struct ctl *ctl, int argc, char **argv)
{
	struct top t = {.interval = 1};
	int rc = parse_options(&t, argc, argv);
	if (rc != EXIT_OK)
		return rc;
	t.clear = !ctl->json && t.count == 0 && isatty(STDOUT_FILENO);
	catch_stop_signals();
	t.keys = t.count == 0 && keys_on();
	brk_err err = BRK_OK;
	for (long n = 1; !stop_signal; n++) {
		if ((err = frame(c, ctl, &t)) != BRK_OK)
			break;
		if ((t.count && n >= t.count) || wait_or_quit(&t))
			break;
	}
	keys_off(&t);
	json_decref(t.previous);
	return ctl_status(err);
}
