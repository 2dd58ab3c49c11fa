/* metrics.c: Prometheus's text format over HTTP (libevent's evhttp) on its own address,
 * off unless configured. Per-object series are bounded: the METRICS_TOP deepest queues and
 * the objects with the most waiters, plus totals over all. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "dispatch.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "object.h"
#include "queue.h"
#include "session.h"
#include "wait.h"

#define METRICS_TOP 20
#define METRICS_MAX_REQUEST 8192 /* bytes of a request's line and headers */
#define MAX_TYPES 16

static struct evhttp *http;
static double started;

/* label: value written as a label value (backslash, quote and newline escaped). */
static void label(struct evbuffer *b, const char *value)
{
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			evbuffer_add_printf(b, "\\%c", *p);
		else if (*p == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, p, 1);
	}
}

static void family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(struct evbuffer *b, const char *name, const char *help, double v)
{
	family(b, name, "gauge", help);
	evbuffer_add_printf(b, "%s %.17g\n", name, v);
}

static void counter(struct evbuffer *b, const char *name, const char *help, double v)
{
	family(b, name, "counter", help);
	evbuffer_add_printf(b, "%s %.17g\n", name, v);
}

/* The objects seen in one pass: counts by type, and the top ones by depth and waiters. */
struct ranking {
	const char *types[MAX_TYPES];
	size_t by_type[MAX_TYPES], ntypes;
	const object *deep[METRICS_TOP], *waited[METRICS_TOP];
	size_t ndeep, nwaited, depth_total;
};

/* keep: o in top (of *n, at most METRICS_TOP, largest key() first) if it is among them. */
static void keep(const object **top, size_t *n, const object *o, size_t (*key)(const object *o))
{
	size_t k = key(o);
	if (!k || (*n == METRICS_TOP && key(top[METRICS_TOP - 1]) >= k))
		return;
	size_t i = *n < METRICS_TOP ? (*n)++ : METRICS_TOP - 1;
	for (; i > 0 && key(top[i - 1]) < k; i--)
		top[i] = top[i - 1];
	top[i] = o;
}

static size_t depth(const object *o)
{
	return o->cls->size(o->impl);
}

static size_t waiting(const object *o)
{
	return o->cls->waiters(o->impl);
}

static void rank(object *o, void *arg)
{
	struct ranking *r = arg;
	size_t t = 0;
	while (t < r->ntypes && strcmp(r->types[t], o->cls->name))
		t++;
	if (t == r->ntypes && t < MAX_TYPES)
		r->types[r->ntypes++] = o->cls->name;
	if (t < MAX_TYPES)
		r->by_type[t]++;
	if (o->cls == &queue_class) {
		r->depth_total += depth(o);
		keep(r->deep, &r->ndeep, o, depth);
	}
	keep(r->waited, &r->nwaited, o, waiting);
}

/* per_object: the sample start{="NAME"} v, start being the name and the label's key. */
static void per_object(struct evbuffer *b, const char *start, const object *o, size_t v)
{
	evbuffer_add_printf(b, "%s=\"", start);
	label(b, o->name);
	evbuffer_add_printf(b, "\"} %zu\n", v);
}

static void objects(struct evbuffer *b)
{
	struct ranking r = {0};
	obj_foreach(rank, &r);
	family(b, "brokerd_objects", "gauge", "Objects by type.");
	for (size_t t = 0; t < r.ntypes; t++)
		evbuffer_add_printf(b, "brokerd_objects{type=\"%s\"} %zu\n", r.types[t],
				    r.by_type[t]);
	family(b, "brokerd_queue_depth", "gauge", "Items in the deepest queues.");
	for (size_t i = 0; i < r.ndeep; i++)
		per_object(b, "brokerd_queue_depth{queue", r.deep[i], depth(r.deep[i]));
	gauge(b, "brokerd_queue_depth_total", "Items in all queues.", (double)r.depth_total);
	family(b, "brokerd_object_waiters", "gauge",
	       "Parked requests on the most waited-on objects.");
	for (size_t i = 0; i < r.nwaited; i++)
		per_object(b, "brokerd_object_waiters{object", r.waited[i], waiting(r.waited[i]));
}

static void one_op(const char *name, unsigned long long calls, void *arg)
{
	evbuffer_add_printf(arg, "brokerd_requests_total{op=\"%s\"} %llu\n", name, calls);
}

static void one_error(const char *code, unsigned long long n, void *arg)
{
	evbuffer_add_printf(arg, "brokerd_errors_total{code=\"%s\"} %llu\n", code, n);
}

static void latency(struct evbuffer *b)
{
	const struct dispatch_latency *l = dispatch_latency();
	unsigned long long sum = 0;
	family(b, "brokerd_request_duration_seconds", "histogram",
	       "Time brokerd spent on each request, not counting time parked.");
	for (int i = 0; i <= DISPATCH_BUCKETS; i++) {
		sum += l->count[i];
		if (i < DISPATCH_BUCKETS)
			evbuffer_add_printf(
				b, "brokerd_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
				dispatch_bucket_bounds[i], sum);
	}
	evbuffer_add_printf(b, "brokerd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", sum);
	evbuffer_add_printf(b, "brokerd_request_duration_seconds_sum %.9f\n", l->sum);
	evbuffer_add_printf(b, "brokerd_request_duration_seconds_count %llu\n", sum);
}

static void traffic(struct evbuffer *b)
{
	unsigned long long in, out;
	conn_bytes(&in, &out);
	family(b, "brokerd_requests_total", "counter", "Requests and batched ops by op.");
	dispatch_foreach_op(one_op, b);
	family(b, "brokerd_errors_total", "counter", "Error replies by code.");
	dispatch_foreach_error(one_error, b);
	counter(b, "brokerd_received_bytes_total", "Bytes of requests read.", (double)in);
	counter(b, "brokerd_sent_bytes_total", "Bytes of replies written.", (double)out);
	latency(b);
}

static void daemon_state(struct evbuffer *b)
{
	gauge(b, "brokerd_uptime_seconds", "Seconds since brokerd started.", clock_now() - started);
	gauge(b, "brokerd_sessions", "Sessions (client connections).", (double)sess_count());
	gauge(b, "brokerd_parked_requests", "Requests waiting in brokerd.", (double)wait_count());
	gauge(b, "brokerd_memory_used_bytes", "Memory brokerd has allocated.", (double)mem_used());
	gauge(b, "brokerd_memory_max_bytes", "max-memory (0: no limit).", (double)mem_limit());
}

static void on_request(struct evhttp_request *req, void *arg)
{
	(void)arg;
	const char *uri = evhttp_request_get_uri(req);
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET || !uri ||
	    (strcmp(uri, "/metrics") && strncmp(uri, "/metrics?", 9))) {
		evhttp_send_error(req, HTTP_NOTFOUND, "only GET /metrics is served here");
		return;
	}
	struct evbuffer *body = evbuffer_new();
	if (!body) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	daemon_state(body);
	objects(body);
	traffic(body);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

int metrics_start(struct event_base *base, const char *address)
{
	char host[256];
	const char *colon = strrchr(address, ':');
	int port = colon ? atoi(colon + 1) : 0;
	started = clock_now();
	if (!colon || port <= 0 || port > 65535 || (size_t)(colon - address) >= sizeof host) {
		log_error("metrics: '%s' is not HOST:PORT", address);
		return -1;
	}
	if (address[0] == '[' && colon > address && colon[-1] == ']') /* [::1]:9464 */
		snprintf(host, sizeof host, "%.*s", (int)(colon - address) - 2, address + 1);
	else
		snprintf(host, sizeof host, "%.*s", (int)(colon - address), address);
	http = evhttp_new(base);
	if (!http || evhttp_bind_socket(http, host, (ev_uint16_t)port) != 0) {
		log_error("metrics: cannot listen on %s", address);
		return -1;
	}
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET);
	evhttp_set_timeout(http, 10);
	/* a scrape is a GET of a few hundred bytes: nothing bigger is read into memory */
	evhttp_set_max_headers_size(http, METRICS_MAX_REQUEST);
	evhttp_set_max_body_size(http, 0);
	evhttp_set_gencb(http, on_request, NULL);
	log_info("metrics on http://%s/metrics", address);
	return 0;
}

void metrics_stop(void)
{
	if (http)
		evhttp_free(http);
	http = NULL;
}
