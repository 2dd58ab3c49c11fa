/* harness.c: the fake transport behind harness.h. */
#include <check.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "harness.h"
#include "object.h"
#include "wait.h"

#define MAX_REQS 4096

struct req {
	int n;
};

static struct event_base *base;
static struct req reqs[MAX_REQS];
static json_t *replies[MAX_REQS];
static bool dropped[MAX_REQS], gone[MAX_REQS];
static int order[MAX_REQS]; /* 1 + the reply's place, 0 while none */
static int nreqs, nreplies;
static uint32_t next_pipe = 1;

static void capture(struct req *r, json_t *reply)
{
	if (replies[r->n] || dropped[r->n]) { /* plain abort: the fuzzer uses this too */
		fprintf(stderr, "request %d answered twice\n", r->n);
		abort();
	}
	if (reply)
		replies[r->n] = reply;
	else
		dropped[r->n] = true;
	order[r->n] = ++nreplies;
}

static bool alive(const struct req *r)
{
	return !gone[r->n];
}

static uint32_t req_id(const struct req *r)
{
	return h_id(r->n);
}

unsigned h_id(int n)
{
	return 0x80000000u | (uint32_t)n;
}

int h_order(int n)
{
	return order[n] - 1;
}

/* core_open / core_close: the part of the core a request can change; close frees every
 * session, object, waiter and reply, and leaves the op index and the event base. */
static void core_open(void)
{
	sess_init();
	obj_init();
	wait_init(base);
	nreqs = nreplies = 0;
}

static void core_close(void)
{
	sess_fini();
	obj_fini();
	wait_fini();
	for (int i = 0; i < nreqs; i++) {
		json_decref(replies[i]);
		replies[i] = NULL;
		dropped[i] = gone[i] = false;
		order[i] = 0;
	}
	nreqs = nreplies = 0;
}

void h_setup(void)
{
	base = event_base_new();
	dispatch_init(capture, alive, req_id);
	core_open();
}

void h_teardown(void)
{
	core_close();
	dispatch_fini();
	event_base_free(base);
}

/* empty: whether nothing outlived core_close, in the core or on the loop. */
static bool empty(void)
{
	int flags = EVENT_BASE_COUNT_ADDED | EVENT_BASE_COUNT_ACTIVE | EVENT_BASE_COUNT_VIRTUAL;
	return !sess_count() && !obj_count() && !wait_count() &&
	       !event_base_get_num_events(base, flags);
}

void h_reset(void)
{
	core_close();
	if (!empty()) { /* plain abort, as in capture */
		fprintf(stderr, "h_reset: %zu sessions, %zu objects, %zu waiters, %d events left\n",
			sess_count(), obj_count(), wait_count(),
			event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED));
		abort();
	}
	core_open();
}

session *h_session(void)
{
	return sess_open(next_pipe++);
}

int h_send_raw(session *s, const char *body, size_t len)
{
	if (nreqs >= MAX_REQS)
		return -1;
	int n = nreqs++;
	reqs[n].n = n;
	dispatch_request(s, &reqs[n], body, len);
	return n;
}

int h_send(session *s, const char *text)
{
	int n = h_send_raw(s, text, strlen(text));
	ck_assert_int_ge(n, 0);
	return n;
}

json_t *h_reply(int n)
{
	return replies[n];
}

json_t *h_call(session *s, const char *text)
{
	int n = h_send(s, text);
	ck_assert_msg(replies[n] != NULL, "no immediate reply to %s", text);
	return replies[n];
}

const char *h_code(const json_t *reply)
{
	ck_assert_ptr_nonnull(reply);
	if (json_is_true(json_object_get(reply, "ok")))
		return "ok";
	return json_string_value(json_object_get(reply, "error"));
}

json_t *h_result(const json_t *reply)
{
	ck_assert_str_eq(h_code(reply), "ok");
	return json_object_get(reply, "result");
}

bool h_same(const json_t *reply, const char *expect)
{
	json_t *want = json_loads(expect, JSON_DECODE_ANY, NULL);
	ck_assert_ptr_nonnull(want);
	bool same = json_equal(h_result(reply), want);
	json_decref(want);
	return same;
}

/* unquote: text with every ' turned into ", malloc'ed. */
static char *unquote(const char *text)
{
	char *out = strdup(text);
	ck_assert_ptr_nonnull(out);
	for (char *p = out; *p; p++)
		if (*p == '\'')
			*p = '"';
	return out;
}

void h_steps(session *s, const struct h_step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *req = unquote(steps[i].req), *want = unquote(steps[i].want);
		json_t *reply = h_call(s, req);
		const char *code = h_code(reply);
		if (want[0] == '!') {
			ck_assert_msg(!strcmp(code, want + 1), "step %zu %s: got %s (%s), want %s",
				      i, req, code,
				      json_string_value(json_object_get(reply, "message")), want);
		} else {
			char *got = json_dumps(json_object_get(reply, "result"), JSON_ENCODE_ANY);
			ck_assert_msg(!strcmp(code, "ok") && h_same(reply, want),
				      "step %zu %s: got %s %s (%s), want %s", i, req, code,
				      got ? got : "-",
				      json_string_value(json_object_get(reply, "message")), want);
			free(got);
		}
		free(req), free(want);
	}
}

static void stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	event_base_loopbreak(arg);
}

void h_run(double seconds)
{
	struct timeval tv = {(time_t)seconds, (suseconds_t)((seconds - (long)seconds) * 1e6)};
	struct event *ev = evtimer_new(base, stop, base);
	evtimer_add(ev, &tv);
	event_base_dispatch(base);
	event_free(ev);
}

void h_poll(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
}

void h_kill(int n)
{
	gone[n] = true;
}
