/* rawsp.h: a bare-socket client of nng's REQ/REP wire format (WIRE-FACTS.md) for the
 * transport and interop tests: ipc://, tcp:// and tls+tcp:// (OpenSSL), written from the
 * SP RFCs so that the tests depend on neither libbroker nor libnng. */
#ifndef TEST_RAWSP_H
#define TEST_RAWSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <openssl/ssl.h>

/* The 8 bytes a REQ0 peer sends first: "\0SP\0", protocol 0x0030, two zero bytes. */
extern const unsigned char SP_HELLO_REQ[8];

struct sp_tls {
	const char *ca;   /* verify the server against this CA file (NULL: do not verify) */
	const char *cert; /* client certificate and key (NULL: present none) */
	const char *key;
};

struct sp {
	int fd;
	bool ipc; /* ipc framing: a 01 type byte before each length */
	SSL_CTX *ctx;
	SSL *ssl;
	uint32_t next_id;
};

/* sp_connect: opens the transport to url (and for tls+tcp does the TLS handshake with tls,
 * which may be NULL), without the SP handshake. 0, or -1 (errno-style failure; s is then
 * closed). */
int sp_connect(struct sp *s, const char *url, const struct sp_tls *tls);

/* sp_dial: sp_connect, then the SP handshake: sends SP_HELLO_REQ and checks that the peer
 * answers as REP0. 0, or -1 (s closed). */
int sp_dial(struct sp *s, const char *url, const struct sp_tls *tls);

/* sp_write: writes all of buf (through TLS when there is TLS). 0, or -1. */
int sp_write(struct sp *s, const void *buf, size_t len);

/* sp_read: reads exactly len bytes, waiting at most timeout_ms in all. len (got it all),
 * 0 (the peer closed or reset first), or -1 (timed out). */
ssize_t sp_read(struct sp *s, void *buf, size_t len, int timeout_ms);

/* sp_frame_header: writes the frame header for a payload of len bytes into hdr (9 bytes for
 * ipc, 8 otherwise) and returns its size. */
size_t sp_frame_header(const struct sp *s, unsigned char *hdr, uint64_t len);

/* sp_send: sends one request: request id (top bit set by the caller), then body. */
int sp_send(struct sp *s, uint32_t id, const void *body, size_t len);

/* sp_recv: receives one message: its first 4 bytes into *id, the rest into *body (malloc'd,
 * NUL-ended, the caller frees) and *len. 1 on success, 0 if the peer closed, -1 on timeout or
 * a malformed frame. */
int sp_recv(struct sp *s, uint32_t *id, char **body, size_t *len, int timeout_ms);

/* sp_call: sends json under the next request id and returns the reply's body (malloc'd), or
 * NULL if no reply with that id came within timeout_ms. */
char *sp_call(struct sp *s, const char *json, int timeout_ms);

/* sp_certs_make: a throwaway PKI (certs.sh, at certs_sh) in a new directory under /tmp,
 * whose path goes to dir (room for 32 bytes). 0, or -1. */
int sp_certs_make(char *dir, const char *certs_sh);

/* sp_certs_remove: removes the directory sp_certs_make made. 0, or -1. */
int sp_certs_remove(const char *dir);

/* sp_cert: dir/file, in one of 4 static buffers used in turn. */
const char *sp_cert(const char *dir, const char *file);

/* sp_call_json: sp_call of request with a 5 s limit, the reply parsed (the caller frees
 * it); NULL when no reply came or it is not JSON. */
json_t *sp_call_json(struct sp *s, const char *request);

/* sp_code: "ok", the error code of the reply to request, or "no reply" (static storage,
 * valid until the next call). *message, when message is not NULL, gets its message. */
const char *sp_code(struct sp *s, const char *request, char *message, size_t size);

/* sp_closed: true when the peer closes (EOF or reset) within timeout_ms, discarding
 * anything it sends first. */
bool sp_closed(struct sp *s, int timeout_ms);

/* sp_close: closes s (idempotent). */
void sp_close(struct sp *s);

/* proc_fds: the number of open descriptors of pid (entries of /proc/PID/fd). */
int proc_fds(pid_t pid);

/* proc_status_kb: a "Name:   N kB"-style field of /proc/PID/status (VmRSS,
 * voluntary_ctxt_switches...), or -1. */
long proc_status_kb(pid_t pid, const char *field);

/* mono_ms: a monotonic clock in milliseconds. */
double mono_ms(void);

#endif
