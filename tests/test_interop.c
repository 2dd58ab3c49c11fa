/* test_interop.c: nng as the reference client of brokerd: the same request through libnng's
 * REQ socket, through nngcat and through the bare socket of rawsp.c gets the same reply
 * bytes, over ipc://, tcp:// and tls+tcp:// (certificates from certs.sh, client
 * certificates required with --tls-ca); and the bare TLS client checked against nngcat's own
 * tls+tcp listener, so a failure here points at the daemon, not at the test's client. */
#include <check.h>
#include <jansson.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "rawsp.h"
#include "run_suite.h"

static const char PONG[] = "{\"ok\":true,\"result\":\"pong\"}";

static struct daemon d;
static char tcp_url[64], tls_url[64], certs[80];

/* cert: the path of a certs.sh file in this test's directory (a static buffer of 4). */
static const char *cert(const char *file)
{
	return sp_cert(certs, file);
}

static void make_certs(void)
{
	ck_assert_int_eq(sp_certs_make(certs, CERTS_SH), 0);
}

static void remove_certs(void)
{
	ck_assert_int_eq(sp_certs_remove(certs), 0);
}

/* start: brokerd on ipc (daemon_start's), tcp, and with tls also tls+tcp with the server
 * certificate (and with client_ca, requiring client certificates signed by the CA). */
static void start(bool tls, bool client_ca)
{
	const char *argv[16] = {"--listen", tcp_url};
	int n = 2;
	snprintf(tcp_url, sizeof tcp_url, "tcp://127.0.0.1:%d", free_tcp_port());
	snprintf(tls_url, sizeof tls_url, "tls+tcp://127.0.0.1:%d", free_tcp_port());
	make_certs();
	if (tls) {
		const char *more[] = {"--listen",         tls_url,     "--tls-cert",
				      cert("server.pem"), "--tls-key", cert("server.key")};
		for (size_t i = 0; i < sizeof more / sizeof *more; i++)
			argv[n++] = more[i];
	}
	if (client_ca) {
		argv[n++] = "--tls-ca";
		argv[n++] = cert("ca.pem");
	}
	argv[n] = NULL;
	daemon_start(&d, argv);
}

static void setup_plain(void)
{
	start(false, false);
}

static void setup_tls(void)
{
	start(true, false);
}

static void setup_mutual(void)
{
	start(true, true);
}

static void teardown(void)
{
	ck_assert_int_eq(daemon_stop(&d), 0);
	remove_certs();
}

/* ---- the three clients ---- */

/* nng_req: a libnng REQ socket dialed to url (resends off, as PROTOCOL.md requires); for
 * tls+tcp it verifies the server against ca and presents certkey when not NULL. 0 or an nng
 * error. */
static int nng_req(nng_socket *s, const char *url, const char *ca, const char *certkey)
{
	nng_dialer dl;
	int rv = nng_req0_open(s);
	if (rv)
		return rv;
	nng_socket_set_ms(*s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(*s, NNG_OPT_RECVTIMEO, 5000);
	nng_socket_set_ms(*s, NNG_OPT_SENDTIMEO, 5000);
	if ((rv = nng_dialer_create(&dl, *s, url)) != 0)
		return rv;
	if (ca && (rv = nng_dialer_set_string(dl, NNG_OPT_TLS_CA_FILE, ca)) != 0)
		return rv;
	if (certkey && (rv = nng_dialer_set_string(dl, NNG_OPT_TLS_CERT_KEY_FILE, certkey)) != 0)
		return rv;
	return nng_dialer_start(dl, 0);
}

/* nng_exchange: req on s; the reply's body (malloc'd, NUL-ended) or NULL. */
static char *nng_exchange(nng_socket s, const char *req)
{
	nng_msg *m;
	if (nng_msg_alloc(&m, 0) || nng_msg_append(m, req, strlen(req)))
		return NULL;
	if (nng_sendmsg(s, m, 0)) {
		nng_msg_free(m);
		return NULL;
	}
	if (nng_recvmsg(s, &m, 0))
		return NULL;
	char *body = strndup(nng_msg_body(m), nng_msg_len(m));
	nng_msg_free(m);
	return body;
}

/* via_nng: req through a fresh libnng socket. */
static char *via_nng(const char *url, const char *req, const char *ca, const char *certkey)
{
	nng_socket s;
	int rv = nng_req(&s, url, ca, certkey);
	char *body = rv ? NULL : nng_exchange(s, req);
	nng_close(s);
	return body;
}

/* via_nngcat: req through "nngcat --req --dial url --raw" (with TLS options when ca). */
static char *via_nngcat(const char *url, const char *req, const char *ca, const char *crt,
			const char *key)
{
	char out[65536];
	char *argv[20] = {NNGCAT_BIN,  "--req", "--dial",         (char *)url, "--data",
			  (char *)req, "--raw", "--recv-timeout", "5"};
	int n = 9;
	if (ca) {
		argv[n++] = "--cacert";
		argv[n++] = (char *)ca;
	}
	if (crt) {
		argv[n++] = "--cert";
		argv[n++] = (char *)crt;
		argv[n++] = "--key";
		argv[n++] = (char *)key;
	}
	argv[n] = NULL;
	if (run_tool(argv, out, sizeof out) != 0)
		return NULL;
	return strdup(out);
}

/* via_raw: req through a fresh bare socket. */
static char *via_raw(const char *url, const char *req, const struct sp_tls *tls)
{
	struct sp s;
	if (sp_dial(&s, url, tls) != 0)
		return NULL;
	char *body = sp_call(&s, req, 5000);
	sp_close(&s);
	return body;
}

/* all_agree: req through the three clients on url gives want exactly (want NULL: the
 * bare socket's reply, which must exist); returns the agreed reply (malloc'd). */
static char *all_agree(const char *url, const char *req, const char *want, bool client_cert)
{
	bool tls = !strncmp(url, "tls+tcp://", 10);
	const char *ca = tls ? cert("ca.pem") : NULL;
	const char *crt = tls && client_cert ? cert("client.pem") : NULL,
		   *key = tls && client_cert ? cert("client.key") : NULL;
	struct sp_tls t = {ca, crt, key};
	char *raw = via_raw(url, req, tls ? &t : NULL);
	ck_assert_msg(raw != NULL, "%s: bare socket got no reply to %s", url, req);
	if (want)
		ck_assert_str_eq(raw, want);
	char *lib = via_nng(url, req, ca, tls && client_cert ? cert("client-both.pem") : NULL);
	ck_assert_msg(lib != NULL, "%s: libnng got no reply to %s", url, req);
	ck_assert_str_eq(lib, raw);
	char *cat = via_nngcat(url, req, ca, crt, key);
	ck_assert_msg(cat != NULL, "%s: nngcat got no reply to %s", url, req);
	ck_assert_str_eq(cat, raw);
	free(lib);
	free(cat);
	return raw;
}

/* same_everywhere: the deterministic requests' replies are byte-identical through all three
 * clients on every url given, and the same on each url. */
static void same_everywhere(const char *const *urls, bool client_cert)
{
	static const char set[] = "{\"op\":\"dict.set\",\"name\":\"i\",\"key\":\"k\","
				  "\"value\":{\"a\":[1,2.5,\"\\u00e9\"],\"b\":null}}";
	const char *reqs[] = {
		"{\"op\":\"ping\"}",
		"{\"op\":\"dict.get\",\"name\":\"i\",\"key\":\"k\"}",
		"{\"op\":\"dict.len\",\"name\":\"i\"}",
		"{\"op\":\"dict.get\",\"name\":\"i\",\"key\":\"nope\"}",
		"{\"op\":\"queue.teleport\"}",
		"not json",
	};
	struct sp s;
	ck_assert_int_eq(sp_dial(&s, d.url, NULL), 0);
	char *r = sp_call(&s, set, 5000);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(strstr(r, "\"ok\":true"));
	free(r);
	sp_close(&s);
	for (size_t i = 0; i < sizeof reqs / sizeof *reqs; i++) {
		char *first = NULL;
		for (const char *const *u = urls; *u; u++) {
			char *got = all_agree(*u, reqs[i], i == 0 ? PONG : first, client_cert);
			if (!first)
				first = got;
			else
				free(got);
		}
		if (i == 1)
			ck_assert_str_eq(first, "{\"ok\":true,\"result\":{\"a\":[1,2.5,\"\u00e9\"],"
						"\"b\":null},\"version\":1}");
		free(first);
	}
}

START_TEST(ipc_and_tcp_replies_are_byte_identical_through_nng_nngcat_and_a_bare_socket)
{
	const char *urls[] = {d.url, tcp_url, NULL};
	same_everywhere(urls, false);
}
END_TEST

/* nng_async: a request sent through its own REQ context of s; collect with nng_async_reply. */
struct async_req {
	nng_ctx ctx;
	nng_aio *aio;
	volatile int stage; /* aio completions so far: 1 once sent, 2 once answered */
};

static void async_step(void *arg)
{
	((struct async_req *)arg)->stage++;
}

static void nng_async_send(nng_socket s, struct async_req *a, const char *req)
{
	nng_msg *m;
	ck_assert_int_eq(nng_ctx_open(&a->ctx, s), 0);
	a->stage = 0;
	ck_assert_int_eq(nng_aio_alloc(&a->aio, async_step, a), 0);
	nng_aio_set_timeout(a->aio, 10000);
	ck_assert_int_eq(nng_msg_alloc(&m, 0), 0);
	nng_msg_append(m, req, strlen(req));
	nng_aio_set_msg(a->aio, m);
	nng_ctx_send(a->ctx, a->aio);
	nng_aio_wait(a->aio);
	ck_assert_int_eq(nng_aio_result(a->aio), 0);
	nng_ctx_recv(a->ctx, a->aio);
}

static char *nng_async_reply(struct async_req *a)
{
	nng_aio_wait(a->aio);
	ck_assert_int_eq(nng_aio_result(a->aio), 0);
	nng_msg *m = nng_aio_get_msg(a->aio);
	char *body = strndup(nng_msg_body(m), nng_msg_len(m));
	nng_msg_free(m);
	nng_aio_free(a->aio);
	nng_ctx_close(a->ctx);
	return body;
}

START_TEST(libnng_contexts_get_replies_out_of_order_on_one_connection)
{
	/* A parked queue.get and, behind it on the same connection, pings: the pings are
	 * answered first; the get when another client puts. */
	const char *urls[] = {d.url, tcp_url};
	for (int u = 0; u < 2; u++) {
		nng_socket s;
		struct async_req get, ping[3];
		char req[128];
		ck_assert_int_eq(nng_req(&s, urls[u], NULL, NULL), 0);
		snprintf(req, sizeof req, "{\"op\":\"queue.get\",\"name\":\"q%d\",\"timeout\":30}",
			 u);
		nng_async_send(s, &get, req);
		for (int i = 0; i < 3; i++)
			nng_async_send(s, &ping[i], "{\"op\":\"ping\"}");
		for (int i = 0; i < 3; i++) {
			char *r = nng_async_reply(&ping[i]);
			ck_assert_str_eq(r, PONG);
			free(r);
		}
		ck_assert_int_eq(get.stage, 1); /* sent, still parked */
		snprintf(req, sizeof req, "{\"op\":\"queue.put\",\"name\":\"q%d\",\"value\":[%d]}",
			 u, u);
		char *put = via_raw(d.url, req, NULL);
		ck_assert_str_eq(put, "{\"ok\":true,\"result\":null}");
		free(put);
		char *r = nng_async_reply(&get);
		snprintf(req, sizeof req, "{\"ok\":true,\"result\":[%d]}", u);
		ck_assert_str_eq(r, req);
		free(r);
		nng_close(s);
	}
}
END_TEST

/* ---- tls+tcp: needs the new daemon's --tls-cert/--tls-key/--tls-ca ---- */

START_TEST(tls_replies_are_byte_identical_to_ipc_ones_through_every_client)
{
	const char *urls[] = {d.url, tls_url, tcp_url, NULL};
	same_everywhere(urls, false);
}
END_TEST

START_TEST(tls_clients_must_verify_the_server)
{
	/* the server's certificate checked against a CA that did not sign it: refused */
	struct sp s;
	struct sp_tls wrong = {cert("rogueca.pem"), NULL, NULL};
	ck_assert_int_ne(sp_dial(&s, tls_url, &wrong), 0);
	ck_assert_ptr_null(via_nng(tls_url, "{\"op\":\"ping\"}", cert("rogueca.pem"), NULL));
	/* and plain tcp or a bare SP handshake on the TLS port is not served */
	ck_assert_int_ne(sp_dial(&s, tls_url + 4, NULL), 0);
	char *pong = via_raw(d.url, "{\"op\":\"ping\"}", NULL);
	ck_assert_str_eq(pong, PONG);
	free(pong);
}
END_TEST

START_TEST(with_tls_ca_only_clients_with_a_certificate_it_signed_are_served)
{
	const char *urls[] = {d.url, tls_url, NULL};
	same_everywhere(urls, true);
	const char *ping = "{\"op\":\"ping\"}";
	struct sp_tls none = {cert("ca.pem"), NULL, NULL},
		      rogue = {cert("ca.pem"), cert("rogue.pem"), cert("rogue.key")};
	char *r = via_raw(tls_url, ping, &none);
	ck_assert_msg(r == NULL, "served without a client certificate: %s", r);
	r = via_raw(tls_url, ping, &rogue);
	ck_assert_msg(r == NULL, "served with a certificate from another CA: %s", r);
	r = via_nng(tls_url, ping, cert("ca.pem"), NULL);
	ck_assert_msg(r == NULL, "libnng served without a client certificate: %s", r);
	r = via_nng(tls_url, ping, cert("ca.pem"), cert("rogue-both.pem"));
	ck_assert_msg(r == NULL, "libnng served with a certificate from another CA: %s", r);
	r = via_nngcat(tls_url, ping, cert("ca.pem"), NULL, NULL);
	ck_assert_msg(r == NULL || !strcmp(r, ""), "nngcat served without a certificate: %s", r);
	free(r);
	r = via_raw(d.url, ping, NULL); /* and the others carry on */
	ck_assert_str_eq(r, PONG);
	free(r);
}
END_TEST

START_TEST(libbroker_speaks_tls_from_its_environment)
{
	/* the new libbroker: BROKERD_TLS_CA, BROKERD_TLS_CERT, BROKERD_TLS_KEY */
	brk_client *c = NULL;
	setenv("BROKERD_TLS_CA", cert("ca.pem"), 1);
	setenv("BROKERD_TLS_CERT", cert("client.pem"), 1);
	setenv("BROKERD_TLS_KEY", cert("client.key"), 1);
	ck_assert_msg(brk_connect(tls_url, NULL, &c) == BRK_OK, "connect: %s", brk_last_error());
	ck_assert_int_eq(brk_ping(c), BRK_OK);
	json_t *k = json_string("k"), *v = json_integer(42), *got = NULL;
	ck_assert_int_eq(brk_dict_set(c, "tls", k, v), BRK_OK);
	ck_assert_int_eq(brk_dict_get(c, "tls", k, &got), BRK_OK);
	ck_assert(json_equal(got, v));
	json_decref(k);
	json_decref(v);
	json_decref(got);
	brk_close(c);
	unsetenv("BROKERD_TLS_CERT");
	unsetenv("BROKERD_TLS_KEY");
	c = NULL; /* the daemon requires a client certificate: refused without one */
	ck_assert_int_ne(brk_connect(tls_url, NULL, &c), BRK_OK);
	ck_assert_ptr_null(c);
}
END_TEST

/* ---- the test's own TLS client against nng's reference listener ---- */

/* rep_serve: answers every request on the REP socket arg with PONG until it is closed. */
static void *rep_serve(void *arg)
{
	nng_socket *rep = arg;
	nng_msg *m;
	while (nng_recvmsg(*rep, &m, 0) == 0) {
		nng_msg_clear(m);
		nng_msg_append(m, PONG, strlen(PONG));
		if (nng_sendmsg(*rep, m, 0))
			nng_msg_free(m);
	}
	return NULL;
}

START_TEST(the_bare_tls_client_speaks_nngs_tls_framing)
{
	/* libnng as a REP server on tls+tcp requiring client certificates: the bare socket
	 * (OpenSSL), libnng (mbedTLS) and nngcat get its reply; a client without a certificate
	 * does not. This runs without brokerd and shows the TLS half of these tests is right. */
	nng_socket rep;
	nng_listener l;
	pthread_t th;
	make_certs();
	snprintf(tls_url, sizeof tls_url, "tls+tcp://127.0.0.1:%d", free_tcp_port());
	ck_assert_int_eq(nng_rep0_open(&rep), 0);
	ck_assert_int_eq(nng_listener_create(&l, rep, tls_url), 0);
	ck_assert_int_eq(
		nng_listener_set_string(l, NNG_OPT_TLS_CERT_KEY_FILE, cert("server-both.pem")), 0);
	ck_assert_int_eq(nng_listener_set_string(l, NNG_OPT_TLS_CA_FILE, cert("ca.pem")), 0);
	ck_assert_int_eq(nng_listener_set_int(l, NNG_OPT_TLS_AUTH_MODE, NNG_TLS_AUTH_MODE_REQUIRED),
			 0);
	ck_assert_int_eq(nng_listener_start(l, 0), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, rep_serve, &rep), 0);
	const char *ping = "{\"op\":\"ping\"}";
	struct sp_tls t = {cert("ca.pem"), cert("client.pem"), cert("client.key")};
	char *r = via_raw(tls_url, ping, &t);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r, PONG);
	free(r);
	r = via_nng(tls_url, ping, cert("ca.pem"), cert("client-both.pem"));
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r, PONG);
	free(r);
	r = via_nngcat(tls_url, ping, cert("ca.pem"), cert("client.pem"), cert("client.key"));
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r, PONG);
	free(r);
	struct sp_tls none = {cert("ca.pem"), NULL, NULL},
		      rogue = {cert("ca.pem"), cert("rogue.pem"), cert("rogue.key")};
	r = via_raw(tls_url, ping, &none);
	ck_assert_msg(r == NULL, "served a client without a certificate");
	r = via_raw(tls_url, ping, &rogue);
	ck_assert_msg(r == NULL, "served a client with a certificate from another CA");
	struct sp_tls wrong = {cert("rogueca.pem"), cert("client.pem"), cert("client.key")};
	r = via_raw(tls_url, ping, &wrong);
	ck_assert_msg(r == NULL, "the bare client accepted a server its CA did not sign");
	nng_close(rep);
	pthread_join(th, NULL);
	remove_certs();
}
END_TEST

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	Suite *s = suite_create("interop");
	TCase *self = tcase_create("self-check");
	tcase_set_timeout(self, 60);
	ADD(self, the_bare_tls_client_speaks_nngs_tls_framing);
	suite_add_tcase(s, self);
	TCase *plain = tcase_create("ipc-tcp");
	tcase_set_timeout(plain, 60);
	tcase_add_checked_fixture(plain, setup_plain, teardown);
	ADD(plain, ipc_and_tcp_replies_are_byte_identical_through_nng_nngcat_and_a_bare_socket);
	ADD(plain, libnng_contexts_get_replies_out_of_order_on_one_connection);
	suite_add_tcase(s, plain);
	TCase *tls = tcase_create("tls");
	tcase_set_timeout(tls, 60);
	tcase_add_checked_fixture(tls, setup_tls, teardown);
	ADD(tls, tls_replies_are_byte_identical_to_ipc_ones_through_every_client);
	ADD(tls, tls_clients_must_verify_the_server);
	suite_add_tcase(s, tls);
	TCase *mutual = tcase_create("tls-client-certificates");
	tcase_set_timeout(mutual, 60);
	tcase_add_checked_fixture(mutual, setup_mutual, teardown);
	ADD(mutual, with_tls_ca_only_clients_with_a_certificate_it_signed_are_served);
	ADD(mutual, libbroker_speaks_tls_from_its_environment);
	suite_add_tcase(s, mutual);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
