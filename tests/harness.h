/* harness.h: drives brokerd's core in-process for unit tests: a fake transport records
 * every reply by request number, and the test runs the loop to fire deadlines. */
#ifndef TEST_HARNESS_H
#define TEST_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "session.h"

/* h_setup / h_teardown: a fresh core (sessions, objects, waiters, dispatch). */
void h_setup(void);
void h_teardown(void);

/* h_reset: the core of h_setup emptied again, as h_teardown then h_setup would leave it (no
 * sessions, objects, waiters or replies), but keeping what no request changes: the op index
 * and the event base. Aborts when anything outlived the emptying. For the fuzzer, which would
 * otherwise spend most of each input rebuilding the op index. */
void h_reset(void);

/* h_session: a new session, as if a client connected. */
session *h_session(void);

/* h_send: dispatches the JSON text req from s; returns its request number. */
int h_send(session *s, const char *req);

/* h_send_raw: dispatches len bytes (any bytes) as a request body; returns its number, or
 * -1 once the harness's request table is full (the request is then not sent). */
int h_send_raw(session *s, const char *body, size_t len);

/* h_reply: request n's reply, or NULL while it is parked (borrowed). */
json_t *h_reply(int n);

/* h_order: the place of request n's reply among every reply sent so far (0 for the first),
 * or -1 while it has none; for tests of which reply went out first. */
int h_order(int n);

/* h_id: request n's transport request id, as the harness's client sent it. */
unsigned h_id(int n);

/* h_call: h_send and the reply, which must come at once. */
json_t *h_call(session *s, const char *req);

/* h_code: "ok" for a success reply, else its error code. */
const char *h_code(const json_t *reply);

/* h_result: the result of a success reply (borrowed). */
json_t *h_result(const json_t *reply);

/* h_same: whether reply's result equals the JSON text expect. */
bool h_same(const json_t *reply, const char *expect);

/* A step of a scripted exchange. req and want are JSON written with ' for " (test text
 * holds no apostrophes); want is the result, or "!code" for an error code. */
struct h_step {
	const char *req, *want;
};

/* h_steps: runs n steps from s in order; a reply other than the step's want fails the
 * test, naming the step. */
void h_steps(session *s, const struct h_step *steps, size_t n);
#define H_STEPS(s, steps) h_steps((s), (steps), sizeof(steps) / sizeof((steps)[0]))

/* h_run: runs the event loop for seconds (deadlines fire). */
void h_run(double seconds);

/* h_poll: runs whatever the loop has ready now (expired deadlines), without waiting. */
void h_poll(void);

/* h_kill: marks request n's client gone (the transport's liveness check says so). */
void h_kill(int n);

#endif
