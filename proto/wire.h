/* wire.h: the bytes of nng's SP wire format that brokerd speaks (PROTOCOL.md "Wire
 * format"): the handshake, the ipc and tcp framing, and the REQ/REP request id. Shared by
 * the daemon and libbroker so both read the same constants. */
#ifndef BRK_WIRE_H
#define BRK_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_HANDSHAKE_LEN 8     /* "\0SP\0", protocol id (16-bit BE), two zero bytes */
#define WIRE_PROTO_REQ 0x0030    /* REQ0, the client's */
#define WIRE_PROTO_REP 0x0031    /* REP0, brokerd's */
#define WIRE_IPC_MSG 0x01        /* ipc: the type byte before each message's length */
#define WIRE_LEN_SIZE 8          /* the 64-bit big-endian length before each message */
#define WIRE_ID_SIZE 4           /* the request id that starts each payload */
#define WIRE_ID_LAST 0x80000000u /* set in every request id: the end of the backtrace */

/* wire_handshake: the 8 handshake bytes for protocol proto into out. */
static inline void wire_handshake(uint8_t out[WIRE_HANDSHAKE_LEN], uint16_t proto)
{
	out[0] = 0, out[1] = 'S', out[2] = 'P', out[3] = 0;
	out[4] = (uint8_t)(proto >> 8), out[5] = (uint8_t)proto;
	out[6] = out[7] = 0;
}

/* wire_handshake_ok: whether in is a handshake from a peer speaking proto. */
static inline int wire_handshake_ok(const uint8_t in[WIRE_HANDSHAKE_LEN], uint16_t proto)
{
	uint8_t want[WIRE_HANDSHAKE_LEN];
	wire_handshake(want, proto);
	for (int i = 0; i < WIRE_HANDSHAKE_LEN; i++)
		if (in[i] != want[i])
			return 0;
	return 1;
}

static inline void wire_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wire_put64(uint8_t *p, uint64_t v)
{
	wire_put32(p, (uint32_t)(v >> 32));
	wire_put32(p + 4, (uint32_t)v);
}

static inline uint64_t wire_get64(const uint8_t *p)
{
	return (uint64_t)wire_get32(p) << 32 | wire_get32(p + 4);
}

/* wire_header_size: bytes before a message's payload: the length, and for ipc the type. */
static inline size_t wire_header_size(int ipc)
{
	return (ipc ? 1 : 0) + WIRE_LEN_SIZE;
}

/* wire_header: writes the header of a payload of len bytes into out (wire_header_size
 * bytes) and returns its size. */
static inline size_t wire_header(uint8_t *out, int ipc, uint64_t len)
{
	size_t n = 0;
	if (ipc)
		out[n++] = WIRE_IPC_MSG;
	wire_put64(out + n, len);
	return n + WIRE_LEN_SIZE;
}

#endif
